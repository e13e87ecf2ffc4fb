#include "stt/whisper_engine.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace voicedesk::stt {
namespace {

constexpr float kLayerNormEps = 1e-5f;

void layer_norm(const float* x, int n, int d, const LayerNormWeights& ln, float* y) {
  stt::layer_norm(x, n, d, ln.weight.data(), ln.bias.data(), kLayerNormEps, y);
}

void add(float* x, const float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] += y[i];
}

// Stores rows of a [rows][state] matrix as columns first .. first+rows of a
// per-head transposed cache ([head][head_dim][capacity]).
void store_transposed(const float* x, int rows, int state, int heads, int first, int capacity,
                      float* xt) {
  const int dh = state / heads;
  for (int r = 0; r < rows; ++r) {
    const float* src = x + static_cast<std::size_t>(r) * state;
    for (int c = 0; c < state; ++c) {
      const int head = c / dh;
      const int d = c % dh;
      xt[(static_cast<std::size_t>(head) * dh + d) * capacity + first + r] = src[c];
    }
  }
}

AttentionCache make_cache(int capacity, int state) {
  const std::size_t size = static_cast<std::size_t>(capacity) * state;
  return AttentionCache{std::vector<float>(size), std::vector<float>(size),
                        std::vector<float>(size), capacity};
}

// Appends `rows` keys and values at position `first` of a cache.
void store_keys_values(AttentionCache& cache, const float* k, const float* v, int rows, int first,
                       int state, int heads) {
  std::copy_n(k, static_cast<std::size_t>(rows) * state,
              cache.k.data() + static_cast<std::size_t>(first) * state);
  store_transposed(k, rows, state, heads, first, cache.capacity, cache.kt.data());
  store_transposed(v, rows, state, heads, first, cache.capacity, cache.vt.data());
}

// im2col for a kernel-3, padding-1 conv1d over time-major input
// [t_in][channels]: row t holds the 3 taps of every channel, in the weights'
// [in][k] order.
void im2col_k3(const float* x, int t_in, int channels, int stride, int t_out,
               std::vector<float>& cols) {
  cols.assign(static_cast<std::size_t>(t_out) * channels * 3, 0.0f);
  for (int t = 0; t < t_out; ++t) {
    float* col = cols.data() + static_cast<std::size_t>(t) * channels * 3;
    for (int k = 0; k < 3; ++k) {
      const int src = t * stride + k - 1;
      if (src < 0 || src >= t_in) continue;
      const float* in = x + static_cast<std::size_t>(src) * channels;
      for (int c = 0; c < channels; ++c) col[c * 3 + k] = in[c];
    }
  }
}

}  // namespace

WhisperEngine::WhisperEngine(std::shared_ptr<const WhisperModel> model, int threads)
    : model_(std::move(model)), pool_(std::make_unique<ThreadPool>(std::max(1, threads))) {}

void WhisperEngine::linear(const float* x, int n, const Matrix& w, const std::vector<float>* bias,
                           float* y) const {
  gemm_nt(x, static_cast<std::size_t>(w.cols), n, w.view(),
          bias != nullptr ? bias->data() : nullptr, y, static_cast<std::size_t>(w.rows), *pool_);
}

// Multi-head attention of n queries over the first m keys of `cache`. q and
// out are [n][state] with heads side by side. With causal_past >= 0, query i
// sees only keys 0 .. causal_past + i.
void WhisperEngine::attention(const float* q, int n, const AttentionCache& cache, int m, int state,
                              int heads, int causal_past, float* out, EngineScratch& s) const {
  const int dh = state / heads;
  const auto ld = static_cast<std::size_t>(cache.capacity);
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  auto visible = [&](int i) { return causal_past >= 0 ? std::min(m, causal_past + i + 1) : m; };

  if (n <= 4) {
    // A few queries (decoding token by token): per head, scores are sums of
    // scaled key columns and outputs are dot products with value rows.
    s.scores.resize(static_cast<std::size_t>(heads) * n * m);
    pool_->parallel_for(m >= 256 ? heads : 1, [&](int task) {
      const int first = m >= 256 ? task : 0;
      const int last = m >= 256 ? task + 1 : heads;
      for (int h = first; h < last; ++h) {
        const float* kt = cache.kt.data() + static_cast<std::size_t>(h) * dh * ld;
        const float* vt = cache.vt.data() + static_cast<std::size_t>(h) * dh * ld;
        for (int i = 0; i < n; ++i) {
          float* scores = s.scores.data() + (static_cast<std::size_t>(h) * n + i) * m;
          const int keys = visible(i);
          std::fill(scores, scores + keys, 0.0f);
          const float* qi = q + static_cast<std::size_t>(i) * state + h * dh;
          for (int d = 0; d < dh; ++d) axpy(qi[d] * scale, kt + d * ld, scores, keys);
          softmax_inplace(scores, keys, keys);
          float* oi = out + static_cast<std::size_t>(i) * state + h * dh;
          for (int d = 0; d < dh; ++d) oi[d] = dot(scores, vt + d * ld, keys);
        }
      }
    });
    return;
  }

  // Many queries (the encoder, a prompt): two GEMMs per head.
  std::vector<float>& q_head = s.attn;
  q_head.resize(static_cast<std::size_t>(n) * dh);
  s.scores.resize(static_cast<std::size_t>(n) * m);
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < n; ++i) {
      const float* src = q + static_cast<std::size_t>(i) * state + h * dh;
      for (int d = 0; d < dh; ++d) q_head[static_cast<std::size_t>(i) * dh + d] = src[d] * scale;
    }
    const WeightView keys{m, dh, cache.k.data() + h * dh, nullptr, static_cast<std::size_t>(state)};
    gemm_nt(q_head.data(), static_cast<std::size_t>(dh), n, keys, nullptr, s.scores.data(),
            static_cast<std::size_t>(m), *pool_);
    const int chunks = std::min(n, pool_->size() * 4);
    pool_->parallel_for(chunks, [&](int chunk) {
      for (int i = n * chunk / chunks; i < n * (chunk + 1) / chunks; ++i) {
        softmax_inplace(s.scores.data() + static_cast<std::size_t>(i) * m, visible(i), m);
      }
    });
    const WeightView values{dh, m, cache.vt.data() + static_cast<std::size_t>(h) * dh * ld, nullptr,
                            ld};
    gemm_nt(s.scores.data(), static_cast<std::size_t>(m), n, values, nullptr, out + h * dh,
            static_cast<std::size_t>(state), *pool_);
  }
}

// Layer norm, then the block's query, key and value projections into s.q, s.k, s.v.
void WhisperEngine::self_attention_inputs(const ResidualBlock& b, const float* x, int n, int state,
                                          EngineScratch& s) const {
  const std::size_t size = static_cast<std::size_t>(n) * state;
  s.norm.resize(size);
  layer_norm(x, n, state, b.attn_ln, s.norm.data());
  s.q.resize(size);
  s.k.resize(size);
  s.v.resize(size);
  linear(s.norm.data(), n, b.attn.query, &b.attn.query_bias, s.q.data());
  linear(s.norm.data(), n, b.attn.key, nullptr, s.k.data());
  linear(s.norm.data(), n, b.attn.value, &b.attn.value_bias, s.v.data());
}

void WhisperEngine::mlp(const ResidualBlock& b, float* x, int n, int state,
                        EngineScratch& s) const {
  s.norm.resize(static_cast<std::size_t>(n) * state);
  layer_norm(x, n, state, b.mlp_ln, s.norm.data());
  s.hidden.resize(static_cast<std::size_t>(n) * b.mlp_up.rows);
  linear(s.norm.data(), n, b.mlp_up, &b.mlp_up_bias, s.hidden.data());
  gelu_inplace(s.hidden.data(), s.hidden.size());
  s.proj.resize(static_cast<std::size_t>(n) * state);
  linear(s.hidden.data(), n, b.mlp_down, &b.mlp_down_bias, s.proj.data());
  add(x, s.proj.data(), s.proj.size());
}

WhisperSession WhisperEngine::new_session() const {
  const WhisperHparams& h = model_->hparams;
  WhisperSession s;
  const auto layers = static_cast<std::size_t>(h.n_text_layer);
  s.self.assign(layers, make_cache(h.n_text_ctx, h.n_text_state));
  s.cross.assign(layers, make_cache(h.n_audio_ctx, h.n_text_state));
  return s;
}

void WhisperEngine::encode(WhisperSession& session, std::span<const float> mel, int n_frames,
                           int offset) const {
  const WhisperModel& m = *model_;
  const WhisperHparams& h = m.hparams;
  EngineScratch& s = session.scratch;
  const int frames = 2 * h.n_audio_ctx;
  const int state = h.n_audio_state;
  const int n = h.n_audio_ctx;
  if (mel.size() != static_cast<std::size_t>(h.n_mels) * static_cast<std::size_t>(n_frames)) {
    throw std::invalid_argument("mel spectrogram has the wrong size for this model");
  }
  // Time-major window; frames past the spectrogram are zero.
  s.input.assign(static_cast<std::size_t>(frames) * h.n_mels, 0.0f);
  for (int bin = 0; bin < h.n_mels; ++bin) {
    const float* row = mel.data() + static_cast<std::size_t>(bin) * n_frames;
    for (int t = 0; t < frames && offset + t < n_frames; ++t) {
      s.input[static_cast<std::size_t>(t) * h.n_mels + bin] = row[offset + t];
    }
  }

  // Two convolutions (stride 1, then 2) as im2col + GEMM, each then GELU.
  im2col_k3(s.input.data(), frames, h.n_mels, 1, frames, s.cols);
  s.conv.resize(static_cast<std::size_t>(frames) * state);
  linear(s.cols.data(), frames, m.conv1, &m.conv1_bias, s.conv.data());
  gelu_inplace(s.conv.data(), s.conv.size());
  im2col_k3(s.conv.data(), frames, state, 2, n, s.cols);
  std::vector<float>& x = session.encoded;
  const std::size_t size = static_cast<std::size_t>(n) * state;
  x.resize(size);
  linear(s.cols.data(), n, m.conv2, &m.conv2_bias, x.data());
  gelu_inplace(x.data(), x.size());
  add(x.data(), m.audio_positions.data.data(), size);

  AttentionCache encoder_cache;
  for (const ResidualBlock& b : m.encoder_blocks) {
    self_attention_inputs(b, x.data(), n, state, s);
    // The encoder attends with many queries: only the key rows and the
    // transposed values are used.
    encoder_cache.capacity = n;
    encoder_cache.k.swap(s.k);
    encoder_cache.vt.resize(size);
    store_transposed(s.v.data(), n, state, h.n_audio_head, 0, n, encoder_cache.vt.data());
    s.out.resize(size);
    attention(s.q.data(), n, encoder_cache, n, state, h.n_audio_head, -1, s.out.data(), s);
    encoder_cache.k.swap(s.k);
    s.proj.resize(size);
    linear(s.out.data(), n, b.attn.out, &b.attn.out_bias, s.proj.data());
    add(x.data(), s.proj.data(), size);
    mlp(b, x.data(), n, state, s);
  }
  s.norm.resize(size);
  layer_norm(x.data(), n, state, m.encoder_ln_post, s.norm.data());
  x.swap(s.norm);

  // Cross-attention keys and values depend only on the window: once per window.
  const std::size_t text_size = static_cast<std::size_t>(n) * h.n_text_state;
  s.k.resize(text_size);
  s.v.resize(text_size);
  for (std::size_t l = 0; l < m.decoder_blocks.size(); ++l) {
    const AttentionWeights& cross = m.decoder_blocks[l].cross_attn;
    linear(x.data(), n, cross.key, nullptr, s.k.data());
    linear(x.data(), n, cross.value, &cross.value_bias, s.v.data());
    store_keys_values(session.cross[l], s.k.data(), s.v.data(), n, 0, h.n_text_state,
                      h.n_text_head);
  }
  session.n_past = 0;
}

std::vector<float> WhisperEngine::decode(WhisperSession& session, std::span<const int> tokens,
                                         bool all_rows) const {
  const WhisperModel& m = *model_;
  const WhisperHparams& h = m.hparams;
  EngineScratch& s = session.scratch;
  const int n = static_cast<int>(tokens.size());
  const int state = h.n_text_state;
  const int past = session.n_past;
  if (n == 0) throw std::invalid_argument("decode needs at least one token");
  if (past + n > h.n_text_ctx) {
    throw std::length_error("decoder context full: " + std::to_string(past + n) + " > " +
                            std::to_string(h.n_text_ctx) + " tokens");
  }
  const std::size_t size = static_cast<std::size_t>(n) * state;
  std::vector<float> x(size);
  for (int i = 0; i < n; ++i) {
    const int token = tokens[static_cast<std::size_t>(i)];
    if (token < 0 || token >= h.n_vocab)
      throw std::out_of_range("token id " + std::to_string(token));
    float* row = x.data() + static_cast<std::size_t>(i) * state;
    m.token_embedding.copy_row(token, row);
    const float* position =
        m.text_positions.data.data() + static_cast<std::size_t>(past + i) * state;
    for (int j = 0; j < state; ++j) row[j] += position[j];
  }

  const int keys = past + n;
  std::vector<float>& out = s.out;
  out.resize(size);
  for (std::size_t l = 0; l < m.decoder_blocks.size(); ++l) {
    const ResidualBlock& b = m.decoder_blocks[l];
    self_attention_inputs(b, x.data(), n, state, s);
    store_keys_values(session.self[l], s.k.data(), s.v.data(), n, past, state, h.n_text_head);
    attention(s.q.data(), n, session.self[l], keys, state, h.n_text_head, past, out.data(), s);
    s.proj.resize(size);
    linear(out.data(), n, b.attn.out, &b.attn.out_bias, s.proj.data());
    add(x.data(), s.proj.data(), size);

    layer_norm(x.data(), n, state, b.cross_attn_ln, s.norm.data());
    linear(s.norm.data(), n, b.cross_attn.query, &b.cross_attn.query_bias, s.q.data());
    attention(s.q.data(), n, session.cross[l], h.n_audio_ctx, state, h.n_text_head, -1, out.data(),
              s);
    linear(out.data(), n, b.cross_attn.out, &b.cross_attn.out_bias, s.proj.data());
    add(x.data(), s.proj.data(), size);

    mlp(b, x.data(), n, state, s);
  }
  session.n_past = past + n;

  const int first = all_rows ? 0 : n - 1;
  const int rows = n - first;
  s.norm.resize(static_cast<std::size_t>(rows) * state);
  layer_norm(x.data() + static_cast<std::size_t>(first) * state, rows, state, m.decoder_ln,
             s.norm.data());
  std::vector<float> logits(static_cast<std::size_t>(rows) * h.n_vocab);
  linear(s.norm.data(), rows, m.token_embedding, nullptr, logits.data());
  return logits;
}

}  // namespace voicedesk::stt
