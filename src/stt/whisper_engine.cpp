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

// Head h of a [rows][state] matrix, transposed to [head_dim][rows]: the
// layout in which attention's second product is again an A * W^T GEMM.
void transpose_head(const float* v, int rows, int state, int head, int head_dim, float* vt) {
  for (int r = 0; r < rows; ++r) {
    const float* src = v + static_cast<std::size_t>(r) * state + head * head_dim;
    for (int d = 0; d < head_dim; ++d) vt[static_cast<std::size_t>(d) * rows + r] = src[d];
  }
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

// Multi-head attention of n queries over m keys. q, k and out are
// [rows][state] with heads side by side; vt holds each head's values
// transposed ([head][head_dim][m]). With causal_past >= 0, query i sees only
// keys 0 .. causal_past + i.
void WhisperEngine::attention(const float* q, int n, const float* k, const float* vt, int m,
                              int state, int heads, int causal_past, float* out,
                              EngineScratch& s) const {
  const int dh = state / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  s.scores.resize(static_cast<std::size_t>(n) * m);
  // Each head's queries, pre-scaled by 1/sqrt(head_dim), contiguous for the GEMM.
  std::vector<float>& q_head = s.attn;
  q_head.resize(static_cast<std::size_t>(n) * dh);
  for (int h = 0; h < heads; ++h) {
    for (int i = 0; i < n; ++i) {
      const float* src = q + static_cast<std::size_t>(i) * state + h * dh;
      for (int d = 0; d < dh; ++d) q_head[static_cast<std::size_t>(i) * dh + d] = src[d] * scale;
    }
    const WeightView keys{m, dh, k + h * dh, nullptr, static_cast<std::size_t>(state)};
    gemm_nt(q_head.data(), static_cast<std::size_t>(dh), n, keys, nullptr, s.scores.data(),
            static_cast<std::size_t>(m), *pool_);
    const int chunks = std::min(n, pool_->size() * 4);
    pool_->parallel_for(chunks, [&](int chunk) {
      for (int i = n * chunk / chunks; i < n * (chunk + 1) / chunks; ++i) {
        const int visible = causal_past >= 0 ? std::min(m, causal_past + i + 1) : m;
        softmax_inplace(s.scores.data() + static_cast<std::size_t>(i) * m, visible, m);
      }
    });
    const WeightView values{dh, m, vt + static_cast<std::size_t>(h) * dh * m, nullptr, 0};
    gemm_nt(s.scores.data(), static_cast<std::size_t>(m), n, values, nullptr, out + h * dh,
            static_cast<std::size_t>(state), *pool_);
  }
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
  const auto cache = static_cast<std::size_t>(h.n_text_ctx) * h.n_text_state;
  s.self_k.assign(layers, std::vector<float>(cache));
  s.self_v.assign(layers, std::vector<float>(cache));
  s.cross_k.resize(layers);
  s.cross_vt.resize(layers);
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

  const int dh = state / h.n_audio_head;
  for (const ResidualBlock& b : m.encoder_blocks) {
    s.norm.resize(size);
    layer_norm(x.data(), n, state, b.attn_ln, s.norm.data());
    s.q.resize(size);
    s.k.resize(size);
    s.v.resize(size);
    linear(s.norm.data(), n, b.attn.query, &b.attn.query_bias, s.q.data());
    linear(s.norm.data(), n, b.attn.key, nullptr, s.k.data());
    linear(s.norm.data(), n, b.attn.value, &b.attn.value_bias, s.v.data());
    s.vt.resize(size);
    for (int head = 0; head < h.n_audio_head; ++head) {
      transpose_head(s.v.data(), n, state, head, dh,
                     s.vt.data() + static_cast<std::size_t>(head) * dh * n);
    }
    s.out.resize(size);
    attention(s.q.data(), n, s.k.data(), s.vt.data(), n, state, h.n_audio_head, -1, s.out.data(),
              s);
    s.proj.resize(size);
    linear(s.out.data(), n, b.attn.out, &b.attn.out_bias, s.proj.data());
    add(x.data(), s.proj.data(), size);
    mlp(b, x.data(), n, state, s);
  }
  s.norm.resize(size);
  layer_norm(x.data(), n, state, m.encoder_ln_post, s.norm.data());
  x.swap(s.norm);

  // Cross-attention keys and values depend only on the window: once per window.
  const int text_dh = h.n_text_state / h.n_text_head;
  for (std::size_t l = 0; l < m.decoder_blocks.size(); ++l) {
    const AttentionWeights& cross = m.decoder_blocks[l].cross_attn;
    const std::size_t text_size = static_cast<std::size_t>(n) * h.n_text_state;
    session.cross_k[l].resize(text_size);
    linear(x.data(), n, cross.key, nullptr, session.cross_k[l].data());
    s.v.resize(text_size);
    linear(x.data(), n, cross.value, &cross.value_bias, s.v.data());
    session.cross_vt[l].resize(text_size);
    for (int head = 0; head < h.n_text_head; ++head) {
      transpose_head(s.v.data(), n, h.n_text_state, head, text_dh,
                     session.cross_vt[l].data() + static_cast<std::size_t>(head) * text_dh * n);
    }
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

  const int dh = state / h.n_text_head;
  const int keys = past + n;
  std::vector<float> out(size);
  for (std::size_t l = 0; l < m.decoder_blocks.size(); ++l) {
    const ResidualBlock& b = m.decoder_blocks[l];
    float* cache_k = session.self_k[l].data();
    float* cache_v = session.self_v[l].data();
    s.norm.resize(size);
    layer_norm(x.data(), n, state, b.attn_ln, s.norm.data());
    s.q.resize(size);
    linear(s.norm.data(), n, b.attn.query, &b.attn.query_bias, s.q.data());
    // New keys/values go straight into the cache after the past ones.
    linear(s.norm.data(), n, b.attn.key, nullptr, cache_k + static_cast<std::size_t>(past) * state);
    linear(s.norm.data(), n, b.attn.value, &b.attn.value_bias,
           cache_v + static_cast<std::size_t>(past) * state);
    s.vt.resize(static_cast<std::size_t>(keys) * state);
    for (int head = 0; head < h.n_text_head; ++head) {
      transpose_head(cache_v, keys, state, head, dh,
                     s.vt.data() + static_cast<std::size_t>(head) * dh * keys);
    }
    attention(s.q.data(), n, cache_k, s.vt.data(), keys, state, h.n_text_head, past, out.data(), s);
    s.proj.resize(size);
    linear(out.data(), n, b.attn.out, &b.attn.out_bias, s.proj.data());
    add(x.data(), s.proj.data(), size);

    layer_norm(x.data(), n, state, b.cross_attn_ln, s.norm.data());
    linear(s.norm.data(), n, b.cross_attn.query, &b.cross_attn.query_bias, s.q.data());
    attention(s.q.data(), n, session.cross_k[l].data(), session.cross_vt[l].data(), h.n_audio_ctx,
              state, h.n_text_head, -1, out.data(), s);
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
