#pragma once

#include <memory>
#include <span>
#include <vector>

#include "stt/kernels.hpp"
#include "stt/whisper_model.hpp"

namespace voicedesk::stt {

// Working buffers reused across layers and steps (sized on first use).
struct EngineScratch {
  std::vector<float> input, cols, conv, norm, q, k, v, attn, out, proj, hidden, scores;
};

// Keys and values of one attention layer. Keys are kept twice: as rows
// ([keys][state]) for batched queries, where Q * K^T is a GEMM, and
// transposed per head ([head][head_dim][capacity]) for one-token steps, where
// scores are accumulated column by column without horizontal sums. Values
// are kept transposed: S * V is then a GEMM (batch) or one dot product per
// output (one token).
struct AttentionCache {
  std::vector<float> k;
  std::vector<float> kt;
  std::vector<float> vt;
  int capacity = 0;
};

// The state of one transcription: the encoded window, the cross-attention
// keys/values computed from it once, and the decoder's self-attention caches.
struct WhisperSession {
  std::vector<float> encoded;         // [n_audio_ctx][state]
  std::vector<AttentionCache> cross;  // per decoder layer, over the encoded window
  std::vector<AttentionCache> self;   // per decoder layer, over the tokens so far
  int n_past = 0;                     // tokens in the self-attention caches
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
  void attention(const float* q, int n, const AttentionCache& cache, int m, int state, int heads,
                 int causal_past, float* out, EngineScratch& s) const;
  void self_attention_inputs(const ResidualBlock& b, const float* x, int n, int state,
                             EngineScratch& s) const;
  void mlp(const ResidualBlock& b, float* x, int n, int state, EngineScratch& s) const;

  std::shared_ptr<const WhisperModel> model_;
  std::unique_ptr<ThreadPool> pool_;
};

}  // namespace voicedesk::stt
