#include "stt/whisper_engine.hpp"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace voicedesk::stt {
namespace {

constexpr float kLayerNormEps = 1e-5f;

// Y[n][out] = X[n][in] * W[out][in]^T + bias
void linear(const float* x, int n, const Matrix& w, const std::vector<float>* bias, float* y) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, w.rows, w.cols, 1.0f, x, w.cols,
              w.data.data(), w.cols, 0.0f, y, w.rows);
  if (bias != nullptr) {
    for (int i = 0; i < n; ++i) {
      float* row = y + static_cast<std::size_t>(i) * w.rows;
      for (int j = 0; j < w.rows; ++j) row[j] += (*bias)[static_cast<std::size_t>(j)];
    }
  }
}

void layer_norm(const float* x, int n, int d, const LayerNormWeights& ln, float* y) {
  for (int i = 0; i < n; ++i) {
    const float* in = x + static_cast<std::size_t>(i) * d;
    float* out = y + static_cast<std::size_t>(i) * d;
    double mean = 0;
    for (int j = 0; j < d; ++j) mean += in[j];
    mean /= d;
    double var = 0;
    for (int j = 0; j < d; ++j) var += (in[j] - mean) * (in[j] - mean);
    var /= d;
    const auto inv = static_cast<float>(1.0 / std::sqrt(var + kLayerNormEps));
    const auto m = static_cast<float>(mean);
    for (int j = 0; j < d; ++j) out[j] = (in[j] - m) * inv * ln.weight[j] + ln.bias[j];
  }
}

// GELU, tanh approximation: what whisper.cpp computes (PyTorch Whisper uses
// erf; the two differ by < 1e-3 and the reference is whisper.cpp).
void gelu(float* x, std::size_t n) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  for (std::size_t i = 0; i < n; ++i) {
    const float v = x[i];
    x[i] = 0.5f * v * (1.0f + std::tanh(kSqrt2OverPi * (v + 0.044715f * v * v * v)));
  }
}

void softmax_row(float* row, int n) {
  float max = row[0];
  for (int j = 1; j < n; ++j) max = std::max(max, row[j]);
  float sum = 0;
  for (int j = 0; j < n; ++j) {
    row[j] = std::exp(row[j] - max);
    sum += row[j];
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < n; ++j) row[j] *= inv;
}

// Multi-head attention of n queries over m keys. Q, K, V and the output are
// [rows][state] with heads side by side. With `causal_past` >= 0, query i may
// only see keys 0 .. causal_past + i.
void attention(const float* q, int n, const float* k, const float* v, int m, int state, int heads,
               int causal_past, float* out, std::vector<float>& scores) {
  const int dh = state / heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  scores.resize(static_cast<std::size_t>(n) * m);
  for (int h = 0; h < heads; ++h) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, dh, scale, q + h * dh, state,
                k + h * dh, state, 0.0f, scores.data(), m);
    for (int i = 0; i < n; ++i) {
      float* row = scores.data() + static_cast<std::size_t>(i) * m;
      int visible = m;
      if (causal_past >= 0) {
        visible = std::min(m, causal_past + i + 1);
        std::fill(row + visible, row + m, 0.0f);
      }
      softmax_row(row, visible);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, dh, m, 1.0f, scores.data(), m,
                v + h * dh, state, 0.0f, out + h * dh, state);
  }
}

// Conv1d with kernel 3, padding 1, over time-major input [t_in][channels],
// producing time-major output [t_out][w.rows], as im2col + one GEMM.
void conv1d_k3(const float* x, int t_in, int channels, int stride, const Matrix& w,
               const std::vector<float>& bias, std::vector<float>& cols, std::vector<float>& y) {
  const int t_out = (t_in + 2 - 3) / stride + 1;
  cols.assign(static_cast<std::size_t>(t_out) * channels * 3, 0.0f);
  for (int t = 0; t < t_out; ++t) {
    float* col = cols.data() + static_cast<std::size_t>(t) * channels * 3;
    for (int k = 0; k < 3; ++k) {
      const int src = t * stride + k - 1;
      if (src < 0 || src >= t_in) continue;
      const float* in = x + static_cast<std::size_t>(src) * channels;
      // Weights are [out][in][k]: input channel c, tap k sits at c * 3 + k.
      for (int c = 0; c < channels; ++c) col[c * 3 + k] = in[c];
    }
  }
  y.resize(static_cast<std::size_t>(t_out) * w.rows);
  linear(cols.data(), t_out, w, &bias, y.data());
  gelu(y.data(), y.size());
}

void add(float* x, const float* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) x[i] += y[i];
}

// Scratch buffers reused across layers.
struct Scratch {
  std::vector<float> norm, q, k, v, attn, proj, hidden, scores;
};

void mlp(const ResidualBlock& b, float* x, int n, int state, Scratch& s) {
  s.norm.resize(static_cast<std::size_t>(n) * state);
  layer_norm(x, n, state, b.mlp_ln, s.norm.data());
  s.hidden.resize(static_cast<std::size_t>(n) * b.mlp_up.rows);
  linear(s.norm.data(), n, b.mlp_up, &b.mlp_up_bias, s.hidden.data());
  gelu(s.hidden.data(), s.hidden.size());
  s.proj.resize(static_cast<std::size_t>(n) * state);
  linear(s.hidden.data(), n, b.mlp_down, &b.mlp_down_bias, s.proj.data());
  add(x, s.proj.data(), s.proj.size());
}

}  // namespace

WhisperEngine::WhisperEngine(std::shared_ptr<const WhisperModel> model, int threads)
    : model_(std::move(model)), threads_(std::max(1, threads)) {
  openblas_set_num_threads(threads_);
}

WhisperSession WhisperEngine::new_session() const {
  const WhisperHparams& h = model_->hparams;
  WhisperSession s;
  const auto layers = static_cast<std::size_t>(h.n_text_layer);
  const auto cache = static_cast<std::size_t>(h.n_text_ctx) * h.n_text_state;
  s.self_k.assign(layers, std::vector<float>(cache));
  s.self_v.assign(layers, std::vector<float>(cache));
  s.cross_k.resize(layers);
  s.cross_v.resize(layers);
  return s;
}

void WhisperEngine::encode(WhisperSession& session, std::span<const float> mel, int n_frames,
                           int offset) const {
  const WhisperModel& m = *model_;
  const WhisperHparams& h = m.hparams;
  const int frames = 2 * h.n_audio_ctx;
  const int state = h.n_audio_state;
  if (mel.size() != static_cast<std::size_t>(h.n_mels) * n_frames) {
    throw std::invalid_argument("mel spectrogram has the wrong size for this model");
  }
  // Time-major window; frames past the spectrogram are zero (the caller pads).
  std::vector<float> input(static_cast<std::size_t>(frames) * h.n_mels, 0.0f);
  for (int mel_bin = 0; mel_bin < h.n_mels; ++mel_bin) {
    const float* row = mel.data() + static_cast<std::size_t>(mel_bin) * n_frames;
    for (int t = 0; t < frames && offset + t < n_frames; ++t) {
      input[static_cast<std::size_t>(t) * h.n_mels + mel_bin] = row[offset + t];
    }
  }

  std::vector<float> cols;
  std::vector<float> conv1_out;
  conv1d_k3(input.data(), frames, h.n_mels, 1, m.conv1, m.conv1_bias, cols, conv1_out);
  std::vector<float>& x = session.encoded;
  conv1d_k3(conv1_out.data(), frames, state, 2, m.conv2, m.conv2_bias, cols, x);
  const int n = h.n_audio_ctx;
  add(x.data(), m.audio_positions.data.data(), x.size());

  Scratch s;
  const std::size_t size = static_cast<std::size_t>(n) * state;
  for (const ResidualBlock& b : m.encoder_blocks) {
    s.norm.resize(size);
    layer_norm(x.data(), n, state, b.attn_ln, s.norm.data());
    s.q.resize(size);
    s.k.resize(size);
    s.v.resize(size);
    linear(s.norm.data(), n, b.attn.query, &b.attn.query_bias, s.q.data());
    linear(s.norm.data(), n, b.attn.key, nullptr, s.k.data());
    linear(s.norm.data(), n, b.attn.value, &b.attn.value_bias, s.v.data());
    s.attn.resize(size);
    attention(s.q.data(), n, s.k.data(), s.v.data(), n, state, h.n_audio_head, -1, s.attn.data(),
              s.scores);
    s.proj.resize(size);
    linear(s.attn.data(), n, b.attn.out, &b.attn.out_bias, s.proj.data());
    add(x.data(), s.proj.data(), size);
    mlp(b, x.data(), n, state, s);
  }
  s.norm.resize(size);
  layer_norm(x.data(), n, state, m.encoder_ln_post, s.norm.data());
  x.swap(s.norm);

  // Cross-attention keys and values depend only on the window: once per window.
  for (std::size_t l = 0; l < m.decoder_blocks.size(); ++l) {
    const AttentionWeights& cross = m.decoder_blocks[l].cross_attn;
    session.cross_k[l].resize(static_cast<std::size_t>(n) * h.n_text_state);
    session.cross_v[l].resize(static_cast<std::size_t>(n) * h.n_text_state);
    linear(x.data(), n, cross.key, nullptr, session.cross_k[l].data());
    linear(x.data(), n, cross.value, &cross.value_bias, session.cross_v[l].data());
  }
  session.n_past = 0;
}

std::vector<float> WhisperEngine::decode(WhisperSession& session, std::span<const int> tokens,
                                         bool all_rows) const {
  const WhisperModel& m = *model_;
  const WhisperHparams& h = m.hparams;
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
    const float* e = m.token_embedding.row(token);
    const float* p = m.text_positions.row(past + i);
    float* row = x.data() + static_cast<std::size_t>(i) * state;
    for (int j = 0; j < state; ++j) row[j] = e[j] + p[j];
  }

  Scratch s;
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
    s.attn.resize(size);
    attention(s.q.data(), n, cache_k, cache_v, past + n, state, h.n_text_head, past, s.attn.data(),
              s.scores);
    s.proj.resize(size);
    linear(s.attn.data(), n, b.attn.out, &b.attn.out_bias, s.proj.data());
    add(x.data(), s.proj.data(), size);

    layer_norm(x.data(), n, state, b.cross_attn_ln, s.norm.data());
    linear(s.norm.data(), n, b.cross_attn.query, &b.cross_attn.query_bias, s.q.data());
    attention(s.q.data(), n, session.cross_k[l].data(), session.cross_v[l].data(), h.n_audio_ctx,
              state, h.n_text_head, -1, s.attn.data(), s.scores);
    linear(s.attn.data(), n, b.cross_attn.out, &b.cross_attn.out_bias, s.proj.data());
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
