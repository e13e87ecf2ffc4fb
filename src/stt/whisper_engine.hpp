#pragma once

#include <memory>
#include <span>
#include <vector>

#include "stt/whisper_model.hpp"

namespace voicedesk::stt {

// The state of one transcription: the encoded window, the cross-attention
// keys/values computed from it once, and the decoder's self-attention cache.
struct WhisperSession {
  std::vector<float> encoded;               // [n_audio_ctx][state]
  std::vector<std::vector<float>> cross_k;  // per decoder layer, [n_audio_ctx][state]
  std::vector<std::vector<float>> cross_v;
  std::vector<std::vector<float>> self_k;  // per decoder layer, [n_text_ctx][state]
  std::vector<std::vector<float>> self_v;
  int n_past = 0;  // tokens in the self-attention cache
};

// Whisper's encoder and decoder over a loaded model. Stateless apart from the
// session passed in, so one engine serves many sessions (one per thread).
class WhisperEngine {
 public:
  WhisperEngine(std::shared_ptr<const WhisperModel> model, int threads);

  const WhisperModel& model() const { return *model_; }
  WhisperSession new_session() const;

  // Encodes the 2 * n_audio_ctx mel frames starting at `offset` of a
  // [n_mels][n_frames] spectrogram (frames past the end count as padding the
  // caller provided), and prepares the cross-attention keys and values.
  void encode(WhisperSession& session, std::span<const float> mel, int n_frames, int offset) const;

  // Appends `tokens` to the decoder context and returns their logits: one row
  // of n_vocab per token when `all_rows`, else only the last token's row.
  std::vector<float> decode(WhisperSession& session, std::span<const int> tokens,
                            bool all_rows) const;

 private:
  std::shared_ptr<const WhisperModel> model_;
  int threads_;
};

}  // namespace voicedesk::stt
