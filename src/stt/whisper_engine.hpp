#pragma once

#include <memory>
#include <span>
#include <vector>

#include "stt/kernels.hpp"
#include "stt/whisper_model.hpp"

namespace voicedesk::stt {

// Working buffers reused across layers and steps (sized on first use).
struct EngineScratch {
  std::vector<float> input, cols, conv, norm, q, k, v, attn, out, proj, hidden, scores, vt;
};

// The state of one transcription: the encoded window, the cross-attention
// keys/values computed from it once, and the decoder's self-attention cache.
struct WhisperSession {
  std::vector<float> encoded;                // [n_audio_ctx][state]
  std::vector<std::vector<float>> cross_k;   // per decoder layer, [n_audio_ctx][state]
  std::vector<std::vector<float>> cross_vt;  // per decoder layer, per head [head_dim][n_audio_ctx]
  std::vector<std::vector<float>> self_k;    // per decoder layer, [n_text_ctx][state]
  std::vector<std::vector<float>> self_v;
  int n_past = 0;  // tokens in the self-attention cache
  EngineScratch scratch;
};

// Whisper's encoder and decoder over a loaded model. Stateless apart from the
// session passed in, so one engine serves many sessions (one per thread);
// the kernels share one thread pool.
class WhisperEngine {
 public:
  WhisperEngine(std::shared_ptr<const WhisperModel> model, int threads);

  const WhisperModel& model() const { return *model_; }
  int threads() const { return pool_->size(); }
  WhisperSession new_session() const;

  // Encodes the 2 * n_audio_ctx mel frames starting at `offset` of a
  // [n_mels][n_frames] spectrogram (frames past its end read as zeros), and
  // prepares the cross-attention keys and values.
  void encode(WhisperSession& session, std::span<const float> mel, int n_frames, int offset) const;

  // Appends `tokens` to the decoder context and returns their logits: one row
  // of n_vocab per token when `all_rows`, else only the last token's row.
  std::vector<float> decode(WhisperSession& session, std::span<const int> tokens,
                            bool all_rows) const;

 private:
  void linear(const float* x, int n, const Matrix& w, const std::vector<float>* bias,
              float* y) const;
  void attention(const float* q, int n, const float* k, const float* vt, int m, int state,
                 int heads, int causal_past, float* out, EngineScratch& s) const;
  void mlp(const ResidualBlock& b, float* x, int n, int state, EngineScratch& s) const;

  std::shared_ptr<const WhisperModel> model_;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace voicedesk::stt
