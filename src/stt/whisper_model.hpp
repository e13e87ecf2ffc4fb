#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "stt/kernels.hpp"

namespace voicedesk::stt {

class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WhisperHparams {
  int n_vocab = 0;
  int n_audio_ctx = 0;
  int n_audio_state = 0;
  int n_audio_head = 0;
  int n_audio_layer = 0;
  int n_text_ctx = 0;
  int n_text_state = 0;
  int n_text_head = 0;
  int n_text_layer = 0;
  int n_mels = 0;
  int ftype = 0;  // 0 f32, 1 f16, else a quantized type, as written by the converter
};

// Token ids of Whisper's special tokens; they depend on the vocabulary size
// (English-only models have one token fewer than multilingual ones).
struct SpecialTokens {
  int eot = 50256;
  int sot = 50257;
  int translate = 50357;
  int transcribe = 50358;
  int solm = 50359;
  int prev = 50360;
  int nosp = 50361;
  int no_timestamps = 50362;
  int timestamp_begin = 50363;  // <|0.00|>; later timestamps follow in 20 ms steps
};

// A dense row-major matrix, rows x cols (PyTorch's [out, in] for linear
// layers), kept in f16 when the file stores it so (half the memory and half
// the bandwidth per decoded token), otherwise in f32.
struct Matrix {
  int rows = 0;
  int cols = 0;
  std::vector<float> data;          // f32 storage, or empty
  std::vector<std::uint16_t> half;  // f16 storage, or empty

  WeightView view() const;
  void copy_row(int r, float* out) const;
};

struct AttentionWeights {
  Matrix query, key, value, out;                        // [state, state]
  std::vector<float> query_bias, value_bias, out_bias;  // Whisper's key projection has no bias
};

struct LayerNormWeights {
  std::vector<float> weight, bias;
};

struct ResidualBlock {
  LayerNormWeights attn_ln;
  AttentionWeights attn;
  LayerNormWeights cross_attn_ln;  // decoder only
  AttentionWeights cross_attn;     // decoder only
  LayerNormWeights mlp_ln;
  Matrix mlp_up;  // [4*state, state]
  std::vector<float> mlp_up_bias;
  Matrix mlp_down;  // [state, 4*state]
  std::vector<float> mlp_down_bias;
};

// A whisper.cpp (ggml) model file, loaded once and shared read-only by every
// transcription. f16 and f32 weights are kept as stored (the GEMM converts
// f16 while packing); quantized ones are expanded to f32 at load time.
class WhisperModel {
 public:
  static std::shared_ptr<const WhisperModel> load(const std::filesystem::path& path);

  WhisperHparams hparams;
  SpecialTokens tokens;
  std::string file_name;
  std::size_t file_bytes = 0;

  int mel_fft_bins = 0;            // 201
  std::vector<float> mel_filters;  // [n_mels][mel_fft_bins]
  std::vector<std::string>
      vocab;  // raw bytes of each token (GPT-2 byte-level BPE, already decoded)

  // Encoder
  Matrix conv1;  // [state, n_mels * 3] (PyTorch [out, in, k] flattened)
  std::vector<float> conv1_bias;
  Matrix conv2;  // [state, state * 3]
  std::vector<float> conv2_bias;
  Matrix audio_positions;  // [n_audio_ctx, state]
  std::vector<ResidualBlock> encoder_blocks;
  LayerNormWeights encoder_ln_post;

  // Decoder
  Matrix token_embedding;  // [n_vocab, state], also the output projection
  Matrix text_positions;   // [n_text_ctx, state]
  std::vector<ResidualBlock> decoder_blocks;
  LayerNormWeights decoder_ln;

  bool multilingual() const { return hparams.n_vocab >= 51865; }
  int timestamp_token(double seconds) const;
  // The token's bytes; special tokens render as "<|...|>" names.
  const std::string& token_text(int id) const;
};

}  // namespace voicedesk::stt
