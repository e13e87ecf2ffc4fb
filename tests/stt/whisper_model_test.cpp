#include "stt/whisper_model.hpp"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <ostream>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "stt/whisper_ref.hpp"

namespace voicedesk::stt {
namespace {

namespace fs = std::filesystem;
using test::whisper_ref;
using ::testing::HasSubstr;

using Bytes = std::vector<unsigned char>;

constexpr const char* kF32 = "ggml-micro-random.en-f32.bin";
constexpr const char* kF16 = "ggml-micro-random.en-f16.bin";

// ggml tensor type ids as stored in the file.
constexpr int kF32Type = 0, kF16Type = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8;

Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  Bytes bytes(fs::file_size(path));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw std::runtime_error(path.string() + ": read failed");
  return bytes;
}

// The shared model files, read once per test process.
const Bytes& model_bytes(const std::string& name) {
  static std::map<std::string, Bytes> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, read_bytes(whisper_ref(name))).first;
  return it->second;
}

std::int32_t get_i32(const Bytes& b, std::size_t at) {
  if (at + 4 > b.size()) throw std::out_of_range("get_i32 past the end");
  std::int32_t v;
  std::memcpy(&v, b.data() + at, 4);
  return v;
}
void put_i32(Bytes& b, std::size_t at, std::int32_t v) {
  if (at + 4 > b.size()) throw std::out_of_range("put_i32 past the end");
  std::memcpy(b.data() + at, &v, 4);
}
void append_i32(Bytes& b, std::int32_t v) {
  b.resize(b.size() + 4);
  put_i32(b, b.size() - 4, v);
}
void append_u16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<unsigned char>(v & 0xff));
  b.push_back(static_cast<unsigned char>(v >> 8));
}

// ---------------------------------------------------------------------------
// IEEE half precision, written independently of the loader (ldexp instead of
// bit assembly).

float ref_half_to_float(std::uint16_t h) {
  const float sign = (h & 0x8000) ? -1.0f : 1.0f;
  const int exponent = (h >> 10) & 0x1f;
  const int mantissa = h & 0x3ff;
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -24);
  if (exponent == 31) return mantissa ? std::nanf("") : sign * INFINITY;
  return sign * std::ldexp(static_cast<float>(mantissa + 1024), exponent - 25);
}

// Round to nearest, ties to even.
std::uint16_t ref_float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const auto sign = static_cast<std::uint16_t>((x >> 16) & 0x8000);
  x &= 0x7fffffffu;
  if (x > 0x7f800000u) return sign | 0x7e00;   // NaN
  if (x >= 0x477ff000u) return sign | 0x7c00;  // >= 65520 rounds to infinity
  if (x < 0x38800000u) {                       // below 2^-14: subnormal half
    float magnitude;
    std::memcpy(&magnitude, &x, 4);
    return sign | static_cast<std::uint16_t>(std::nearbyint(magnitude * 16777216.0f));
  }
  const std::uint32_t exponent = (x >> 23) - 127 + 15;
  std::uint32_t h = exponent << 10 | (x & 0x7fffffu) >> 13;
  const std::uint32_t rest = x & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry moves into the exponent
  return sign | static_cast<std::uint16_t>(h);
}

float ref_round_to_half(float f) {
  return ref_half_to_float(ref_float_to_half(f));
}

// ---------------------------------------------------------------------------
// An independent reading of the file layout: where every section and tensor
// field lies, so tests can patch or cut the real bytes precisely.

std::size_t data_bytes(int type, std::size_t count) {
  switch (type) {
    case kF32Type:
      return count * 4;
    case kF16Type:
      return count * 2;
    case kQ4_0:
      return count / 32 * 18;
    case kQ4_1:
      return count / 32 * 20;
    case kQ5_0:
      return count / 32 * 22;
    case kQ5_1:
      return count / 32 * 24;
    case kQ8_0:
      return count / 32 * 34;
  }
  throw std::logic_error("data_bytes: type " + std::to_string(type));
}

struct TensorLayout {
  std::string name;
  int type = 0;
  std::vector<std::int32_t> ne;  // ne[0] (fastest varying) first, as stored
  std::size_t header = 0;        // offset of n_dims
  std::size_t name_at = 0;
  std::size_t data_at = 0;
  std::size_t size = 0;  // data bytes
  std::size_t type_at() const { return header + 8; }
  std::size_t dim_at(int i) const { return header + 12 + 4 * static_cast<std::size_t>(i); }
  std::size_t end() const { return data_at + size; }
  std::size_t count() const {
    std::size_t n = 1;
    for (std::int32_t d : ne) n *= static_cast<std::size_t>(d);
    return n;
  }
};

struct FileLayout {
  static constexpr std::size_t kHparamsAt = 4;
  static constexpr std::size_t kMelAt = 48;  // n_mel, n_fft, then the filters
  static constexpr std::size_t kMelDataAt = 56;
  std::size_t vocab_at = 0;           // the token count
  std::vector<std::size_t> token_at;  // each token's length field
  std::size_t tensors_at = 0;         // first tensor record (end of the vocabulary)
  std::vector<TensorLayout> tensors;  // in file order
  std::size_t file_size = 0;

  const TensorLayout& tensor(const std::string& name) const {
    for (const TensorLayout& t : tensors)
      if (t.name == name) return t;
    throw std::out_of_range("no tensor " + name);
  }
  static std::size_t hparam_at(int index) {
    return kHparamsAt + 4 * static_cast<std::size_t>(index);
  }
};

FileLayout parse_layout(const Bytes& b) {
  FileLayout layout;
  layout.file_size = b.size();
  if (get_i32(b, 0) != 0x67676d6c) throw std::runtime_error("parse_layout: not ggml");
  const std::int32_t n_mel = get_i32(b, FileLayout::kMelAt);
  const std::int32_t n_fft = get_i32(b, FileLayout::kMelAt + 4);
  std::size_t at = FileLayout::kMelDataAt + static_cast<std::size_t>(n_mel * n_fft) * 4;
  layout.vocab_at = at;
  const std::int32_t n_tokens = get_i32(b, at);
  at += 4;
  for (std::int32_t i = 0; i < n_tokens; ++i) {
    layout.token_at.push_back(at);
    at += 4 + static_cast<std::size_t>(get_i32(b, at));
  }
  layout.tensors_at = at;
  while (at < b.size()) {
    TensorLayout t;
    t.header = at;
    const std::int32_t n_dims = get_i32(b, at);
    const std::int32_t name_length = get_i32(b, at + 4);
    t.type = get_i32(b, at + 8);
    for (int i = 0; i < n_dims; ++i) t.ne.push_back(get_i32(b, t.dim_at(i)));
    t.name_at = t.dim_at(n_dims);
    t.name.assign(reinterpret_cast<const char*>(b.data() + t.name_at),
                  static_cast<std::size_t>(name_length));
    t.data_at = t.name_at + static_cast<std::size_t>(name_length);
    t.size = data_bytes(t.type, t.count());
    at = t.end();
    if (at > b.size()) throw std::runtime_error("parse_layout: tensor " + t.name + " overruns");
    layout.tensors.push_back(std::move(t));
  }
  return layout;
}

// A model file as a prefix (magic, hyper-parameters, mel filters, vocabulary)
// and editable tensor records, written back in whisper.cpp's format: a tiny
// writer for files the real converter would (or would never) produce.
struct FileTensor {
  std::string name;
  std::int32_t type = 0;
  std::vector<std::int32_t> ne;
  Bytes data;
};

struct ModelFile {
  Bytes prefix;
  std::vector<FileTensor> tensors;

  static ModelFile parse(const Bytes& b) {
    const FileLayout layout = parse_layout(b);
    ModelFile file;
    file.prefix.assign(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(layout.tensors_at));
    for (const TensorLayout& t : layout.tensors) {
      file.tensors.push_back(FileTensor{t.name, t.type, t.ne,
                                        Bytes(b.begin() + static_cast<std::ptrdiff_t>(t.data_at),
                                              b.begin() + static_cast<std::ptrdiff_t>(t.end()))});
    }
    return file;
  }
  Bytes serialize() const {
    Bytes out = prefix;
    for (const FileTensor& t : tensors) {
      append_i32(out, static_cast<std::int32_t>(t.ne.size()));
      append_i32(out, static_cast<std::int32_t>(t.name.size()));
      append_i32(out, t.type);
      for (std::int32_t d : t.ne) append_i32(out, d);
      out.insert(out.end(), t.name.begin(), t.name.end());
      out.insert(out.end(), t.data.begin(), t.data.end());
    }
    return out;
  }
  std::vector<FileTensor>::iterator find(const std::string& name) {
    const auto it = std::find_if(tensors.begin(), tensors.end(),
                                 [&](const FileTensor& t) { return t.name == name; });
    if (it == tensors.end()) throw std::out_of_range("no tensor " + name);
    return it;
  }
  FileTensor& tensor(const std::string& name) { return *find(name); }
};

std::vector<float> floats_of(const Bytes& data) {
  std::vector<float> values(data.size() / 4);
  std::memcpy(values.data(), data.data(), values.size() * 4);
  return values;
}

// ---------------------------------------------------------------------------
// Temporary files and load outcomes.

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "voicedesk-model-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const Bytes& bytes) const {
    const fs::path file = path_ / name;
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error(file.string() + ": write failed");
    return file;
  }

 private:
  fs::path path_;
};

// The message of the ModelError that loading `path` throws. A successful load
// or any other exception fails the test.
std::string load_error(const fs::path& path) {
  try {
    (void)WhisperModel::load(path);
  } catch (const ModelError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << path << ": threw something other than ModelError: " << e.what();
    return std::string("not a ModelError: ") + e.what();
  }
  ADD_FAILURE() << path << " loaded without an error";
  return "(loaded)";
}

// Writes `bytes` to a temporary file and returns the loader's error message.
std::string error_for(const Bytes& bytes) {
  const TempDir dir;
  const std::string message = load_error(dir.write("model.bin", bytes));
  std::printf("  -> %s\n", message.c_str());
  return message;
}

std::string patched_error(const Bytes& original, std::size_t at, std::int32_t value) {
  Bytes bytes = original;
  put_i32(bytes, at, value);
  return error_for(bytes);
}

// "" when equal, else the first differing element and how many differ.
std::string first_difference(std::span<const float> actual, std::span<const float> expected) {
  if (actual.size() != expected.size()) {
    return "sizes " + std::to_string(actual.size()) + " vs " + std::to_string(expected.size());
  }
  std::size_t first = actual.size(), count = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (!(actual[i] == expected[i])) {
      if (count++ == 0) first = i;
    }
  }
  if (count == 0) return "";
  return std::to_string(count) + " values differ; first at " + std::to_string(first) + ": " +
         std::to_string(actual[first]) + " vs " + std::to_string(expected[first]);
}

// Every weight of a loaded model under the name of its tensor in the file:
// a vector, or a matrix held as f32 (`data`) or as f16 bits (`half`).
struct NamedWeight {
  std::string name;
  const std::vector<float>* vector = nullptr;
  const Matrix* matrix = nullptr;
};
using NamedWeights = std::vector<NamedWeight>;

// The weight's values as f32 (f16 storage decoded by the test's own converter).
std::vector<float> values_of(const NamedWeight& w) {
  if (w.vector != nullptr) return *w.vector;
  if (w.matrix->half.empty()) return w.matrix->data;
  std::vector<float> values(w.matrix->half.size());
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = ref_half_to_float(w.matrix->half[i]);
  return values;
}

void add(NamedWeights& out, std::string name, const std::vector<float>& v) {
  out.push_back({std::move(name), &v, nullptr});
}
void add(NamedWeights& out, std::string name, const Matrix& m) {
  out.push_back({std::move(name), nullptr, &m});
}

void add_layer_norm(NamedWeights& out, const std::string& p, const LayerNormWeights& ln) {
  add(out, p + ".weight", ln.weight);
  add(out, p + ".bias", ln.bias);
}

void add_attention(NamedWeights& out, const std::string& p, const AttentionWeights& a) {
  add(out, p + ".query.weight", a.query);
  add(out, p + ".query.bias", a.query_bias);
  add(out, p + ".key.weight", a.key);
  add(out, p + ".value.weight", a.value);
  add(out, p + ".value.bias", a.value_bias);
  add(out, p + ".out.weight", a.out);
  add(out, p + ".out.bias", a.out_bias);
}

void add_block(NamedWeights& out, const std::string& p, const ResidualBlock& b, bool cross) {
  add_attention(out, p + ".attn", b.attn);
  add_layer_norm(out, p + ".attn_ln", b.attn_ln);
  if (cross) {
    add_attention(out, p + ".cross_attn", b.cross_attn);
    add_layer_norm(out, p + ".cross_attn_ln", b.cross_attn_ln);
  }
  add(out, p + ".mlp.0.weight", b.mlp_up);
  add(out, p + ".mlp.0.bias", b.mlp_up_bias);
  add(out, p + ".mlp.2.weight", b.mlp_down);
  add(out, p + ".mlp.2.bias", b.mlp_down_bias);
  add_layer_norm(out, p + ".mlp_ln", b.mlp_ln);
}

NamedWeights weights_by_name(const WhisperModel& m) {
  NamedWeights out;
  add(out, "encoder.positional_embedding", m.audio_positions);
  add(out, "encoder.conv1.weight", m.conv1);
  add(out, "encoder.conv1.bias", m.conv1_bias);
  add(out, "encoder.conv2.weight", m.conv2);
  add(out, "encoder.conv2.bias", m.conv2_bias);
  for (std::size_t i = 0; i < m.encoder_blocks.size(); ++i)
    add_block(out, "encoder.blocks." + std::to_string(i), m.encoder_blocks[i], false);
  add_layer_norm(out, "encoder.ln_post", m.encoder_ln_post);
  add(out, "decoder.positional_embedding", m.text_positions);
  add(out, "decoder.token_embedding.weight", m.token_embedding);
  for (std::size_t i = 0; i < m.decoder_blocks.size(); ++i)
    add_block(out, "decoder.blocks." + std::to_string(i), m.decoder_blocks[i], true);
  add_layer_norm(out, "decoder.ln", m.decoder_ln);
  return out;
}

// The values a tensor holds in the file, decoded by the test (f32/f16 only).
std::vector<float> file_values(const Bytes& b, const TensorLayout& t) {
  std::vector<float> values(t.count());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (t.type == kF32Type) {
      std::memcpy(&values[i], b.data() + t.data_at + 4 * i, 4);
    } else if (t.type == kF16Type) {
      const unsigned char* p = b.data() + t.data_at + 2 * i;
      values[i] = ref_half_to_float(static_cast<std::uint16_t>(p[0] | p[1] << 8));
    } else {
      throw std::logic_error("file_values: quantized tensor " + t.name);
    }
  }
  return values;
}

// ===========================================================================
// The reference model files.

TEST(WhisperModelLoad, HyperParametersOfTheMicroModel) {
  for (const char* name : {kF32, kF16}) {
    VOICEDESK_REQUIRE_FILE(whisper_ref(name));
    SCOPED_TRACE(name);
    const auto model = WhisperModel::load(whisper_ref(name));
    const WhisperHparams& h = model->hparams;
    EXPECT_EQ(h.n_vocab, 51864);
    EXPECT_EQ(h.n_audio_ctx, 1500);
    EXPECT_EQ(h.n_audio_state, 64);
    EXPECT_EQ(h.n_audio_head, 2);
    EXPECT_EQ(h.n_audio_layer, 2);
    EXPECT_EQ(h.n_text_ctx, 448);
    EXPECT_EQ(h.n_text_state, 64);
    EXPECT_EQ(h.n_text_head, 2);
    EXPECT_EQ(h.n_text_layer, 3);
    EXPECT_EQ(h.n_mels, 80);
    EXPECT_EQ(h.ftype, std::string(name) == kF16 ? 1 : 0);
    EXPECT_EQ(model->file_name, name);
    EXPECT_EQ(model->file_bytes, fs::file_size(whisper_ref(name)));
    EXPECT_EQ(model->encoder_blocks.size(), 2u);
    EXPECT_EQ(model->decoder_blocks.size(), 3u);
  }
}

TEST(WhisperModelLoad, EnglishOnlySpecialTokens) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const auto model = WhisperModel::load(whisper_ref(kF32));
  EXPECT_FALSE(model->multilingual());
  const SpecialTokens& t = model->tokens;
  EXPECT_EQ(t.eot, 50256);
  EXPECT_EQ(t.sot, 50257);
  EXPECT_EQ(t.translate, 50357);
  EXPECT_EQ(t.transcribe, 50358);
  EXPECT_EQ(t.no_timestamps, 50362);
  EXPECT_EQ(t.timestamp_begin, 50363);
  EXPECT_EQ(model->timestamp_token(0.0), 50363);
  EXPECT_EQ(model->timestamp_token(1.0), 50413);
  EXPECT_EQ(model->timestamp_token(30.0), 51863);  // the last token of the vocabulary
}

TEST(WhisperModelLoad, VocabularyAndTokenText) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const auto model = WhisperModel::load(whisper_ref(kF32));
  ASSERT_EQ(model->vocab.size(), static_cast<std::size_t>(model->hparams.n_vocab));
  // Ordinary GPT-2 tokens (their ids are also used by the engine tests).
  EXPECT_EQ(model->token_text(0), "!");
  EXPECT_EQ(model->token_text(11), ",");
  EXPECT_EQ(model->token_text(198), "\n");
  EXPECT_EQ(model->token_text(843), " And");
  EXPECT_EQ(model->token_text(290), " and");
  EXPECT_EQ(model->token_text(523), " so");
  EXPECT_EQ(model->token_text(616), " my");
  EXPECT_EQ(model->token_text(50255), " gazed");
  // Special tokens: <|endoftext|> comes from the file, the rest are named by the loader.
  EXPECT_EQ(model->token_text(50256), "<|endoftext|>");
  EXPECT_EQ(model->token_text(50257), "<|startoftranscript|>");
  EXPECT_EQ(model->token_text(50358), "<|transcribe|>");
  EXPECT_EQ(model->token_text(50362), "<|notimestamps|>");
  EXPECT_EQ(model->token_text(50363), "<|0.00|>");
  EXPECT_EQ(model->token_text(50364), "<|0.02|>");
  EXPECT_EQ(model->token_text(51863), "<|30.00|>");
  EXPECT_EQ(model->token_text(-1), "<|unknown|>");
  EXPECT_EQ(model->token_text(51864), "<|unknown|>");
  // Byte-level tokens keep raw bytes: no token of the file's vocabulary is empty.
  for (int id = 0; id < 50257; ++id) ASSERT_FALSE(model->token_text(id).empty()) << id;
}

TEST(WhisperModelLoad, MelFiltersAre80x201AsInTheFile) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const Bytes& bytes = model_bytes(kF32);
  const auto model = WhisperModel::load(whisper_ref(kF32));
  EXPECT_EQ(model->mel_fft_bins, 201);
  ASSERT_EQ(model->mel_filters.size(), 80u * 201u);
  std::vector<float> expected(80 * 201);
  std::memcpy(expected.data(), bytes.data() + FileLayout::kMelDataAt, expected.size() * 4);
  EXPECT_EQ(first_difference(model->mel_filters, expected), "");
  // Slaney-style triangles: non-negative, every filter covers some bins.
  for (int m = 0; m < 80; ++m) {
    const auto row = std::span(model->mel_filters).subspan(static_cast<std::size_t>(m) * 201, 201);
    EXPECT_TRUE(std::all_of(row.begin(), row.end(), [](float v) { return v >= 0.0f; })) << m;
    EXPECT_TRUE(std::any_of(row.begin(), row.end(), [](float v) { return v > 0.0f; })) << m;
  }
}

// Every tensor of the file lands, bit for bit, in the field named like it,
// and every field comes from the file.
TEST(WhisperModelLoad, EveryTensorLandsInItsField) {
  for (const char* name : {kF32, kF16}) {
    VOICEDESK_REQUIRE_FILE(whisper_ref(name));
    SCOPED_TRACE(name);
    const Bytes& bytes = model_bytes(name);
    const FileLayout layout = parse_layout(bytes);
    const auto model = WhisperModel::load(whisper_ref(name));
    const NamedWeights weights = weights_by_name(*model);
    ASSERT_EQ(weights.size(), layout.tensors.size());
    std::set<std::string> seen;
    for (const NamedWeight& w : weights) {
      SCOPED_TRACE(w.name);
      EXPECT_TRUE(seen.insert(w.name).second);
      const TensorLayout& t = layout.tensor(w.name);
      EXPECT_EQ(first_difference(values_of(w), file_values(bytes, t)), "");
      if (w.matrix != nullptr) {  // f16 matrices stay f16, f32 ones f32: one storage each
        EXPECT_EQ(w.matrix->half.empty(), t.type != kF16Type);
        EXPECT_EQ(w.matrix->data.empty(), t.type == kF16Type);
      }
    }
  }
}

TEST(WhisperModelLoad, MatrixShapesFollowPyTorchOrder) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const auto model = WhisperModel::load(whisper_ref(kF32));
  const auto check = [](const Matrix& m, int rows, int cols, const char* what) {
    EXPECT_EQ(m.rows, rows) << what;
    EXPECT_EQ(m.cols, cols) << what;
    EXPECT_EQ(m.data.size() + m.half.size(),
              static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols))
        << what;
  };
  check(model->conv1, 64, 80 * 3, "conv1");
  check(model->conv2, 64, 64 * 3, "conv2");
  check(model->audio_positions, 1500, 64, "audio_positions");
  check(model->text_positions, 448, 64, "text_positions");
  check(model->token_embedding, 51864, 64, "token_embedding");
  check(model->encoder_blocks[1].mlp_up, 256, 64, "mlp_up");
  check(model->encoder_blocks[1].mlp_down, 64, 256, "mlp_down");
  check(model->decoder_blocks[2].cross_attn.key, 64, 64, "cross_attn.key");
  EXPECT_EQ(model->conv1_bias.size(), 64u);
  EXPECT_EQ(model->decoder_ln.bias.size(), 64u);
  const WeightView view = model->token_embedding.view();
  EXPECT_EQ(view.f32, model->token_embedding.data.data());
  EXPECT_EQ(view.f16, nullptr);
  EXPECT_EQ(view.stride(), 64u);
}

TEST(WhisperModelLoad, F16AndF32FilesGiveIdenticalWeights) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF16));
  const auto f32 = WhisperModel::load(whisper_ref(kF32));
  const auto f16 = WhisperModel::load(whisper_ref(kF16));
  const NamedWeights a = weights_by_name(*f32);
  const NamedWeights b = weights_by_name(*f16);
  ASSERT_EQ(a.size(), b.size());
  std::size_t values = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::vector<float> from_f32 = values_of(a[i]);
    EXPECT_EQ(first_difference(from_f32, values_of(b[i])), "") << a[i].name;
    values += from_f32.size();
  }
  // Rows read through the matrix, whichever its storage.
  for (int r : {0, 843, 51863}) {
    std::vector<float> row_f32(64), row_f16(64);
    f32->token_embedding.copy_row(r, row_f32.data());
    f16->token_embedding.copy_row(r, row_f16.data());
    EXPECT_EQ(first_difference(row_f16, row_f32), "") << "row " << r;
    const auto stored =
        std::span(f32->token_embedding.data).subspan(static_cast<std::size_t>(r) * 64, 64);
    EXPECT_EQ(first_difference(row_f32, stored), "") << "row " << r;
  }
  EXPECT_NE(f16->token_embedding.view().f16, nullptr);
  EXPECT_EQ(first_difference(f32->mel_filters, f16->mel_filters), "");
  EXPECT_EQ(f32->vocab, f16->vocab);
  // The f16 file really stores f16 weights (otherwise this compares nothing).
  const FileLayout layout = parse_layout(model_bytes(kF16));
  EXPECT_EQ(layout.tensor("decoder.token_embedding.weight").type, kF16Type);
  EXPECT_EQ(layout.tensor("decoder.ln.bias").type, kF32Type);
  std::printf("%zu tensors, %zu weights identical\n", a.size(), values);
}

TEST(WhisperModelLoad, LoadTimeAndPeakRss) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF16));
  const auto status_kib = [](const char* key) -> long {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + std::strlen(key));
    }
    return -1;
  };
  const long rss_before = status_kib("VmRSS:");
  // Resets VmHWM (peak RSS) to the current RSS, so the peak is this load's.
  bool peak_reset = false;
  if (std::ofstream clear("/proc/self/clear_refs"); clear)
    peak_reset = static_cast<bool>(clear << "5" << std::flush);
  const auto start = std::chrono::steady_clock::now();
  auto model = WhisperModel::load(whisper_ref(kF16));
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const long peak = status_kib("VmHWM:");
  const long rss_after = status_kib("VmRSS:");
  // Again, with the page cache and the allocator warm.
  const auto again = std::chrono::steady_clock::now();
  (void)WhisperModel::load(whisper_ref(kF16));
  const double warm_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - again).count();
  std::size_t weight_bytes = 0;
  for (const NamedWeight& w : weights_by_name(*model)) {  // as held in memory
    weight_bytes += w.vector != nullptr ? w.vector->size() * 4
                                        : w.matrix->data.size() * 4 + w.matrix->half.size() * 2;
  }
  std::printf(
      "load %s (%.1f MiB): %.1f ms (again: %.1f ms); RSS %.1f -> %.1f MiB, peak %.1f MiB%s; "
      "weights held %.1f MiB\n",
      kF16, static_cast<double>(model->file_bytes) / 1048576.0, ms, warm_ms, rss_before / 1024.0,
      rss_after / 1024.0, peak / 1024.0, peak_reset ? "" : " (process-wide: reset unsupported)",
      static_cast<double>(weight_bytes) / 1048576.0);
  ASSERT_GT(weight_bytes, 0u);
#if !defined(__SANITIZE_ADDRESS__)
  // The load may hold the mapped file and the expanded weights at once, not much more.
  if (peak_reset && peak > 0 && rss_before > 0) {
    const double growth_mib = (peak - rss_before) / 1024.0;
    const double bound_mib =
        static_cast<double>(2 * weight_bytes + model->file_bytes) / 1048576.0 + 32.0;
    EXPECT_LT(growth_mib, bound_mib);
  }
#endif
}

// ===========================================================================
// Damaged files: each must throw ModelError naming the problem.

TEST(WhisperModelCorrupt, MissingFileAndDirectoryNameThePath) {
  const TempDir dir;
  const fs::path missing = dir.path() / "no-such-model.bin";
  std::string message = load_error(missing);
  std::printf("  -> %s\n", message.c_str());
  EXPECT_THAT(message, HasSubstr(missing.string()));
  EXPECT_THAT(message, HasSubstr("No such file"));

  message = load_error(dir.path());
  std::printf("  -> %s\n", message.c_str());
  EXPECT_THAT(message, HasSubstr(dir.path().string()));
  EXPECT_THAT(message, HasSubstr("not a regular file"));

  message = load_error("/dev/null");
  EXPECT_THAT(message, HasSubstr("/dev/null: not a regular file"));
}

// A named pipe with no writer: opening it must not block forever.
TEST(WhisperModelCorrupt, NamedPipeDoesNotHang) {
  const TempDir dir;
  const fs::path fifo = dir.path() / "model.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::promise<std::string> result;
  std::future<std::string> done = result.get_future();
  std::thread loader([&result, fifo] { result.set_value(load_error(fifo)); });
  if (done.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    ADD_FAILURE() << "loading a FIFO blocked for 10 s";
    // Release the blocked open() so the thread can finish.
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (fd >= 0) ::close(fd);
  }
  loader.join();
  const std::string message = done.get();
  std::printf("  -> %s\n", message.c_str());
  EXPECT_THAT(message, HasSubstr("not a regular file"));
}

TEST(WhisperModelCorrupt, EmptyFile) {
  const std::string message = error_for({});
  EXPECT_THAT(message, HasSubstr("model.bin: empty file"));
}

TEST(WhisperModelCorrupt, BadMagic) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const Bytes& original = model_bytes(kF32);
  // GGUF (the newer format), the magic byte-swapped, and a text file.
  EXPECT_THAT(patched_error(original, 0, 0x46554747), HasSubstr("bad magic"));
  EXPECT_THAT(patched_error(original, 0, 0x6c6d6767), HasSubstr("bad magic"));
  const std::string text = "<!DOCTYPE html><html>Entry not found</html>\n";
  EXPECT_THAT(error_for(Bytes(text.begin(), text.end())), HasSubstr("bad magic"));
}

// Cuts the file at many offsets and at every section and field boundary.
// A cut between tensor records leaves a well-formed file that lacks tensors;
// any other cut must say "truncated" and what it was reading.
TEST(WhisperModelCorrupt, TruncatedAnywhere) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF16));
  const Bytes& bytes = model_bytes(kF16);
  const FileLayout layout = parse_layout(bytes);

  std::set<std::size_t> cuts;
  // Every 997th byte through the vocabulary, where parsing is byte by byte; every
  // 9973rd through the tensor data (each tensor's edges are cut below anyway).
  for (std::size_t at = 997; at < bytes.size(); at += at < layout.tensors_at ? 997 : 9973)
    cuts.insert(at);
  for (std::size_t at : {1, 2, 3, 4, 5, 8, 47, 48, 49, 52, 55, 56, 57, 56 + 80 * 201 * 2})
    cuts.insert(at);
  for (std::size_t at : {layout.vocab_at - 1, layout.vocab_at, layout.vocab_at + 2,
                         layout.vocab_at + 4, layout.tensors_at - 1, layout.tensors_at})
    cuts.insert(at);
  for (std::size_t i : {std::size_t{1}, std::size_t{843}, layout.token_at.size() - 1}) {
    for (std::size_t delta : {0, 1, 4, 5}) cuts.insert(layout.token_at[i] + delta);
  }
  // Every record's edges; every field of a few records (first, last, the first f16 one).
  const auto first_f16 = std::find_if(layout.tensors.begin(), layout.tensors.end(),
                                      [](const TensorLayout& t) { return t.type == kF16Type; });
  for (auto t = layout.tensors.begin(); t != layout.tensors.end(); ++t) {
    for (std::size_t at : {t->header, t->data_at - 1, t->data_at, t->end() - 1}) cuts.insert(at);
    if (t - layout.tensors.begin() < 2 || layout.tensors.end() - t <= 2 || t == first_f16) {
      for (std::size_t at :
           {t->header + 1, t->header + 4, t->header + 8, t->header + 12, t->name_at - 2, t->name_at,
            t->name_at + 1, t->data_at + 1, t->data_at + t->size / 2})
        cuts.insert(at);
    }
  }
  ASSERT_NE(first_f16, layout.tensors.end());
  cuts.erase(0);
  cuts.erase(bytes.size());

  const auto expectation = [&](std::size_t cut) -> std::string {
    if (cut < 4) return "magic";
    if (cut < FileLayout::kMelAt) return "hyper-parameters";
    if (cut < FileLayout::kMelDataAt) return "mel filter";
    if (cut < layout.vocab_at) return "mel filters";
    if (cut < layout.vocab_at + 4) return "vocabulary size";
    if (cut < layout.tensors_at) return "token";
    for (const TensorLayout& t : layout.tensors) {
      if (cut == t.header) return "";  // a whole number of records: "missing tensor"
      if (cut < t.data_at) return "tensor";
      if (cut < t.end()) return "data of tensor " + t.name;
    }
    return "?";
  };

  const TempDir dir;
  const fs::path path = dir.write("cut.bin", bytes);
  std::vector<std::string> failures;
  std::map<std::string, std::string> examples;  // one message per kind of cut
  const auto start = std::chrono::steady_clock::now();
  for (auto it = cuts.rbegin(); it != cuts.rend(); ++it) {  // shrinking one copy in place
    const std::size_t cut = *it;
    fs::resize_file(path, cut);
    std::string message;
    try {
      (void)WhisperModel::load(path);
      message = "(loaded)";
    } catch (const ModelError& e) {
      message = e.what();
    }
    const std::string want = expectation(cut);
    bool ok;
    if (want.empty()) {
      // Some tensor at or after the cut must be reported missing.
      ok = false;
      for (const TensorLayout& t : layout.tensors)
        if (t.header >= cut && message.find("missing tensor " + t.name) != std::string::npos)
          ok = true;
    } else {
      ok =
          message.find("truncated") != std::string::npos && message.find(want) != std::string::npos;
    }
    if (!ok) failures.push_back("cut at " + std::to_string(cut) + ": " + message);
    const std::string kind = want.empty()                         ? "between tensors"
                             : want.starts_with("data of tensor") ? "tensor data"
                                                                  : want;
    examples.emplace(kind, message);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%zu cuts in %.1f s\n", cuts.size(), seconds);
  for (const auto& [kind, message] : examples)
    std::printf("  %s -> %s\n", kind.c_str(), message.c_str());
  EXPECT_TRUE(failures.empty()) << failures.size() << " cuts misreported, e.g.\n"
                                << failures.front() << "\n"
                                << failures.back();
}

TEST(WhisperModelCorrupt, UnknownTensorTypeNamesTensorAndType) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF16));
  const Bytes& original = model_bytes(kF16);
  const FileLayout layout = parse_layout(original);
  const TensorLayout& t = layout.tensor("encoder.blocks.0.attn.key.weight");
  // 4 and 5: the removed q4_2/q4_3; 9: q8_1; 10, 14: k-quants, which whisper.cpp models may carry.
  for (std::int32_t type : {4, 5, 9, 10, 14, -1, 1 << 20}) {
    const std::string message = patched_error(original, t.type_at(), type);
    EXPECT_THAT(message, HasSubstr("tensor encoder.blocks.0.attn.key.weight"));
    EXPECT_THAT(message, HasSubstr("unknown type " + std::to_string(type)));
  }
}

TEST(WhisperModelCorrupt, WrongShapeNamesTensorAndBothShapes) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const Bytes& original = model_bytes(kF32);
  const FileLayout layout = parse_layout(original);
  const TensorLayout& t = layout.tensor("encoder.blocks.0.mlp.0.weight");
  ASSERT_EQ(t.ne, (std::vector<std::int32_t>{64, 256}));
  // Swapped dimensions: the same byte count, so the rest of the file still parses.
  Bytes swapped = original;
  put_i32(swapped, t.dim_at(0), 256);
  put_i32(swapped, t.dim_at(1), 64);
  std::string message = error_for(swapped);
  EXPECT_THAT(message, HasSubstr("tensor encoder.blocks.0.mlp.0.weight"));
  EXPECT_THAT(message, HasSubstr("[64, 256]"));  // actual, PyTorch order
  EXPECT_THAT(message, HasSubstr("expected [256, 64]"));

  // A token embedding one row short, written as a consistent file.
  ModelFile file = ModelFile::parse(original);
  FileTensor& embedding = file.tensor("decoder.token_embedding.weight");
  embedding.ne[1] -= 1;
  embedding.data.resize(embedding.data.size() - 64 * 4);
  message = error_for(file.serialize());
  EXPECT_THAT(message, HasSubstr("tensor decoder.token_embedding.weight"));
  EXPECT_THAT(message, HasSubstr("[51863, 64], expected [51864, 64]"));

  // An extra leading dimension of 1 is not the same shape.
  file = ModelFile::parse(original);
  file.tensor("decoder.positional_embedding").ne.push_back(1);
  message = error_for(file.serialize());
  EXPECT_THAT(message, HasSubstr("[1, 448, 64], expected [448, 64]"));
}

TEST(WhisperModelCorrupt, MissingTensor) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const Bytes& original = model_bytes(kF32);
  const FileLayout layout = parse_layout(original);
  ASSERT_EQ(layout.tensors.back().name, "decoder.ln.bias");
  // Cut before the last tensor: the file ends cleanly after a whole record.
  const Bytes cut(original.begin(),
                  original.begin() + static_cast<std::ptrdiff_t>(layout.tensors.back().header));
  EXPECT_THAT(error_for(cut), HasSubstr("missing tensor decoder.ln.bias"));

  ModelFile file = ModelFile::parse(original);
  file.tensors.erase(file.find("encoder.blocks.1.attn.key.weight"));
  EXPECT_THAT(error_for(file.serialize()),
              HasSubstr("missing tensor encoder.blocks.1.attn.key.weight"));

  // No tensors at all.
  const Bytes bare(original.begin(),
                   original.begin() + static_cast<std::ptrdiff_t>(layout.tensors_at));
  EXPECT_THAT(error_for(bare), HasSubstr("missing tensor encoder.positional_embedding"));
}

TEST(WhisperModelCorrupt, DuplicatedAndUnexpectedTensors) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  ModelFile file = ModelFile::parse(model_bytes(kF32));
  ModelFile twice = file;
  twice.tensors.push_back(twice.tensor("encoder.conv1.bias"));
  EXPECT_THAT(error_for(twice.serialize()), HasSubstr("tensor encoder.conv1.bias appears twice"));

  ModelFile extra = file;
  FileTensor third_layer = extra.tensor("encoder.blocks.1.attn.key.weight");
  third_layer.name = "encoder.blocks.2.attn.key.weight";
  extra.tensors.push_back(third_layer);
  EXPECT_THAT(error_for(extra.serialize()),
              HasSubstr("unexpected tensor encoder.blocks.2.attn.key.weight"));
}

TEST(WhisperModelCorrupt, ImplausibleHyperParameters) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const Bytes& original = model_bytes(kF32);
  const auto at = FileLayout::hparam_at;
  struct Case {
    int index;
    std::int32_t value;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {0, -1, "implausible hyper-parameter n_vocab = -1"},
      {0, 0, "implausible hyper-parameter n_vocab = 0"},
      {0, 1 << 30, "implausible hyper-parameter n_vocab = 1073741824"},
      {0, 0x7fffffff, "implausible hyper-parameter n_vocab = 2147483647"},
      {0, 1000, "n_vocab 1000 is too small"},
      {1, -1500, "implausible hyper-parameter n_audio_ctx = -1500"},
      {2, 0, "implausible hyper-parameter n_audio_state = 0"},
      {3, 0, "implausible hyper-parameter n_audio_head = 0"},
      {3, 3, "not a multiple of the head count"},
      {4, 1 << 28, "implausible hyper-parameter n_audio_layer = 268435456"},
      {6, -64, "implausible hyper-parameter n_text_state = -64"},
      {8, 0, "implausible hyper-parameter n_text_layer = 0"},
      {9, -80, "implausible hyper-parameter n_mels = -80"},
      // Plausible one by one but not what the file holds.
      {9, 81, "mel filter bank is 80x201, expected 81 rows"},
      {0, 51865,
       "tensor decoder.token_embedding.weight has shape [51864, 64], expected [51865, 64]"},
      {1, 1501, "tensor encoder.positional_embedding has shape [1500, 64], expected [1501, 64]"},
      {4, 3, "missing tensor encoder.blocks.2."},
      {8, 2, "unexpected tensor decoder.blocks.2."},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE("hyper-parameter " + std::to_string(c.index) + " = " + std::to_string(c.value));
    EXPECT_THAT(patched_error(original, at(c.index), c.value), HasSubstr(c.expected));
  }
}

TEST(WhisperModelCorrupt, BadMelFilterHeader) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const Bytes& original = model_bytes(kF32);
  EXPECT_THAT(patched_error(original, FileLayout::kMelAt, 128),
              HasSubstr("mel filter bank is 128x201"));
  EXPECT_THAT(patched_error(original, FileLayout::kMelAt + 4, 0),
              HasSubstr("mel filter bank is 80x0"));
  EXPECT_THAT(patched_error(original, FileLayout::kMelAt + 4, -201), HasSubstr("mel filter bank"));
  EXPECT_THAT(patched_error(original, FileLayout::kMelAt + 4, 1 << 30),
              HasSubstr("mel filter bank"));
}

TEST(WhisperModelCorrupt, AbsurdVocabulary) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const Bytes& original = model_bytes(kF32);
  const FileLayout layout = parse_layout(original);
  EXPECT_THAT(patched_error(original, layout.token_at[0], 1 << 30),
              HasSubstr("token 0 has length 1073741824"));
  EXPECT_THAT(patched_error(original, layout.token_at[843], -1),
              HasSubstr("token 843 has length -1"));
  // A plausible length that swallows the first tensor header: the misalignment is caught.
  EXPECT_THAT(patched_error(original, layout.token_at.back(), 1000), HasSubstr("tensor"));
  EXPECT_THAT(patched_error(original, layout.vocab_at, 60000),
              HasSubstr("vocabulary size 60000 is outside 0..51864"));
  EXPECT_THAT(patched_error(original, layout.vocab_at, -5),
              HasSubstr("vocabulary size -5 is outside 0..51864"));
  // Too few tokens: the rest of the vocabulary is read as tensor records.
  EXPECT_THAT(patched_error(original, layout.vocab_at, 10), HasSubstr("tensor"));
}

TEST(WhisperModelCorrupt, BadTensorHeaders) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const Bytes& original = model_bytes(kF32);
  const FileLayout layout = parse_layout(original);
  const TensorLayout& t = layout.tensor("encoder.conv2.weight");
  EXPECT_THAT(patched_error(original, t.header, 0), HasSubstr("has 0 dimensions"));
  EXPECT_THAT(patched_error(original, t.header, 5), HasSubstr("has 5 dimensions"));
  EXPECT_THAT(patched_error(original, t.header, -1), HasSubstr("has -1 dimensions"));
  EXPECT_THAT(patched_error(original, t.header + 4, 0), HasSubstr("tensor name length 0"));
  EXPECT_THAT(patched_error(original, t.header + 4, -7), HasSubstr("tensor name length -7"));
  EXPECT_THAT(patched_error(original, t.header + 4, 1 << 20),
              HasSubstr("tensor name length 1048576"));
  EXPECT_THAT(patched_error(original, t.dim_at(1), 0),
              HasSubstr("tensor dimension 0 out of range"));
  EXPECT_THAT(patched_error(original, t.dim_at(2), -64),
              HasSubstr("tensor dimension -64 out of range"));
  EXPECT_THAT(patched_error(original, t.dim_at(0), 1 << 25), HasSubstr("out of range"));
  // In range but far larger than the file.
  EXPECT_THAT(patched_error(original, t.dim_at(2), 1 << 24), HasSubstr("truncated"));
}

// Dimensions that are each in range but whose product overflows 64 bits.
TEST(WhisperModelCorrupt, HugeTensorDoesNotOverflow) {
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  ModelFile file = ModelFile::parse(model_bytes(kF32));
  FileTensor& t = file.tensor("encoder.conv1.weight");
  for (const std::vector<std::int32_t>& ne :
       {std::vector<std::int32_t>{1 << 24, 1 << 24, 1 << 24, 1 << 24},  // 2^96 values
        std::vector<std::int32_t>{1 << 24, 1 << 24, 1 << 14}}) {        // 2^62 f32: 2^64 bytes
    t.ne = ne;
    EXPECT_THAT(error_for(file.serialize()),
                HasSubstr("tensor encoder.conv1.weight is implausibly large"));
  }
  // A quantized tensor must hold whole blocks.
  file = ModelFile::parse(model_bytes(kF32));
  FileTensor& bias = file.tensor("encoder.conv1.bias");
  bias.ne = {63, 1};
  bias.type = kQ8_0;
  EXPECT_THAT(error_for(file.serialize()),
              HasSubstr("tensor encoder.conv1.bias has 63 values, not a whole number"));
}

// ===========================================================================
// Quantized weights: ggml's block formats as this test reads them (checked
// against ggml's ggml-common.h / ggml-quants.c). Every block holds 32 values:
//   q8_0: f16 d, 32 x int8 q                         value = q * d
//   q4_0: f16 d, 16 bytes                            value = (q - 8) * d
//   q4_1: f16 d, f16 m, 16 bytes                     value = q * d + m
//   q5_0: f16 d, u32 qh, 16 bytes                    value = (q - 16) * d
//   q5_1: f16 d, f16 m, u32 qh, 16 bytes             value = q * d + m
// Byte j of the 16 holds element j in its low nibble and element j + 16 in
// its high nibble; bit j of qh (little-endian) is the 5th bit of element j.

struct QuantFormat {
  int type;
  const char* name;
  int ftype;     // whisper.cpp's file type for a model quantized this way
  int bits;      // 4, 5 or 8
  bool has_min;  // _1 formats
};

// Names the parameter in test listings (instead of its raw bytes).
void PrintTo(const QuantFormat& f, std::ostream* os) {
  *os << f.name;
}

// Quantizes 32 values at a time. d and m are rounded to f16 first, and the
// integers chosen against those stored values.
Bytes quantize(const QuantFormat& f, std::span<const float> x) {
  Bytes out;
  for (std::size_t b = 0; b < x.size(); b += 32) {
    const auto block = x.subspan(b, 32);
    int q[32];
    if (f.bits == 8) {
      float amax = 0;
      for (float v : block) amax = std::max(amax, std::abs(v));
      const std::uint16_t dh = ref_float_to_half(amax / 127.0f);
      const float d = ref_half_to_float(dh);
      for (int j = 0; j < 32; ++j)
        q[j] = d == 0 ? 0 : std::clamp(static_cast<int>(std::lround(block[j] / d)), -128, 127);
      append_u16(out, dh);
      for (int j = 0; j < 32; ++j)
        out.push_back(static_cast<unsigned char>(static_cast<std::int8_t>(q[j])));
      continue;
    }
    const int levels = 1 << f.bits;  // 16 or 32
    std::uint16_t dh, mh = 0;
    float d, m = 0;
    if (f.has_min) {
      const auto [lo, hi] = std::minmax_element(block.begin(), block.end());
      dh = ref_float_to_half((*hi - *lo) / static_cast<float>(levels - 1));
      mh = ref_float_to_half(*lo);
      d = ref_half_to_float(dh);
      m = ref_half_to_float(mh);
      for (int j = 0; j < 32; ++j)
        q[j] = d == 0
                   ? 0
                   : std::clamp(static_cast<int>(std::lround((block[j] - m) / d)), 0, levels - 1);
    } else {
      // The value of largest magnitude maps to -levels/2 exactly (d may be negative).
      float extreme = 0;
      for (float v : block)
        if (std::abs(v) > std::abs(extreme)) extreme = v;
      dh = ref_float_to_half(extreme / static_cast<float>(-levels / 2));
      d = ref_half_to_float(dh);
      for (int j = 0; j < 32; ++j)
        q[j] = d == 0 ? levels / 2
                      : std::clamp(static_cast<int>(std::lround(block[j] / d)) + levels / 2, 0,
                                   levels - 1);
    }
    append_u16(out, dh);
    if (f.has_min) append_u16(out, mh);
    if (f.bits == 5) {
      std::uint32_t qh = 0;
      for (int j = 0; j < 32; ++j) qh |= static_cast<std::uint32_t>((q[j] >> 4) & 1) << j;
      for (int k = 0; k < 4; ++k) out.push_back(static_cast<unsigned char>(qh >> (8 * k)));
    }
    for (int j = 0; j < 16; ++j)
      out.push_back(static_cast<unsigned char>((q[j] & 0x0f) | (q[j + 16] & 0x0f) << 4));
  }
  return out;
}

struct Dequantized {
  std::vector<float> values;
  std::vector<float> step;   // |d| of each block
  std::size_t high_bits[2];  // q5: 5th bits set in elements 0..15 and 16..31
};

// Reads the blocks back, independently of quantize() and of the loader.
Dequantized dequantize(const QuantFormat& f, const Bytes& blocks, std::size_t count) {
  Dequantized out{{}, {}, {0, 0}};
  const std::size_t block_bytes = data_bytes(f.type, 32);
  for (std::size_t b = 0; b < count / 32; ++b) {
    const unsigned char* p = blocks.data() + b * block_bytes;
    const auto u16 = [](const unsigned char* at) {
      return static_cast<std::uint16_t>(at[0] | at[1] << 8);
    };
    const float d = ref_half_to_float(u16(p));
    out.step.push_back(std::abs(d));
    if (f.bits == 8) {
      for (int j = 0; j < 32; ++j)
        out.values.push_back(static_cast<float>(static_cast<std::int8_t>(p[2 + j])) * d);
      continue;
    }
    const float m = f.has_min ? ref_half_to_float(u16(p + 2)) : 0.0f;
    std::size_t at = f.has_min ? 4 : 2;
    std::uint32_t qh = 0;
    if (f.bits == 5) {
      qh = static_cast<std::uint32_t>(p[at]) | static_cast<std::uint32_t>(p[at + 1]) << 8 |
           static_cast<std::uint32_t>(p[at + 2]) << 16 |
           static_cast<std::uint32_t>(p[at + 3]) << 24;
      at += 4;
    }
    const unsigned char* nibbles = p + at;
    for (int j = 0; j < 32; ++j) {
      int q = j < 16 ? nibbles[j] & 0x0f : nibbles[j - 16] >> 4;
      if (f.bits == 5 && ((qh >> j) & 1u)) {
        q += 16;
        ++out.high_bits[j < 16 ? 0 : 1];
      }
      const int offset = f.has_min ? 0 : (1 << f.bits) / 2;
      out.values.push_back(f.has_min ? static_cast<float>(q) * d + m
                                     : static_cast<float>(q - offset) * d);
    }
  }
  return out;
}

const QuantFormat kFormats[] = {
    {kQ8_0, "q8_0", 7, 8, false}, {kQ4_0, "q4_0", 2, 4, false}, {kQ4_1, "q4_1", 3, 4, true},
    {kQ5_0, "q5_0", 8, 5, false}, {kQ5_1, "q5_1", 9, 5, true},
};

// The test's own reading of the formats on hand-written blocks.
TEST(WhisperModelQuantized, TestDequantizerReadsHandWrittenBlocks) {
  const auto block = [](std::initializer_list<unsigned char> head, unsigned char fill) {
    Bytes b(head);
    b.resize(b.size() + 16, fill);
    return b;
  };
  // q4_0, d = 0.5: byte 0 = 0x1f -> element 0 = (15 - 8) * 0.5, element 16 = (1 - 8) * 0.5.
  Bytes q4 = block({0x00, 0x38}, 0x88);
  q4[2] = 0x1f;
  Dequantized r = dequantize(kFormats[1], q4, 32);
  EXPECT_EQ(r.values[0], 3.5f);
  EXPECT_EQ(r.values[16], -3.5f);
  EXPECT_EQ(r.values[1], 0.0f);
  // q4_1, d = 2, m = -1: element 0 = 15 * 2 - 1, element 16 = 1 * 2 - 1.
  Bytes q41 = block({0x00, 0x40, 0x00, 0xbc}, 0x00);
  q41[4] = 0x1f;
  r = dequantize(kFormats[2], q41, 32);
  EXPECT_EQ(r.values[0], 29.0f);
  EXPECT_EQ(r.values[16], 1.0f);
  EXPECT_EQ(r.values[5], -1.0f);
  // q5_0, d = 1, qh bit 0 and bit 17: element 0 = (16 + 0 - 16), element 17 = (16 + 2 - 16).
  Bytes q5 = block({0x00, 0x3c, 0x01, 0x00, 0x02, 0x00}, 0x00);
  q5[6 + 1] = 0x20;
  r = dequantize(kFormats[3], q5, 32);
  EXPECT_EQ(r.values[0], 0.0f);
  EXPECT_EQ(r.values[17], 2.0f);
  EXPECT_EQ(r.values[1], -16.0f);
  // q5_1, d = 1, m = 0.5, qh bit 31: element 31 = 16 + 15 + 0.5.
  Bytes q51 = block({0x00, 0x3c, 0x00, 0x38, 0x00, 0x00, 0x00, 0x80}, 0x00);
  q51[8 + 15] = 0xf0;
  r = dequantize(kFormats[4], q51, 32);
  EXPECT_EQ(r.values[31], 31.5f);
  EXPECT_EQ(r.values[15], 0.5f);
  // q8_0, d = 0.25, int8 -128 and 127.
  Bytes q8(34, 0);
  q8[1] = 0x34;
  q8[2] = 0x80;
  q8[33] = 0x7f;
  r = dequantize(kFormats[0], q8, 32);
  EXPECT_EQ(r.values[0], -32.0f);
  EXPECT_EQ(r.values[31], 31.75f);
}

TEST(WhisperModelQuantized, HalfConversionRoundTrips) {
  for (std::uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;  // NaN
    ASSERT_EQ(ref_float_to_half(ref_half_to_float(static_cast<std::uint16_t>(h))), h) << h;
  }
  EXPECT_EQ(ref_float_to_half(1.0f + 1.0f / 2048), 0x3c00);  // tie: to even
  EXPECT_EQ(ref_float_to_half(1.0f + 3.0f / 2048), 0x3c02);
  EXPECT_EQ(ref_round_to_half(0.1f), 0.0999755859375f);
}

class WhisperModelQuantizedType : public ::testing::TestWithParam<QuantFormat> {};

// Rewrites one 2-D weight of the f32 model in the format and checks the
// loaded weights against the test's own dequantization of the same blocks.
TEST_P(WhisperModelQuantizedType, LoadsExactlyTheDequantizedBlocks) {
  const QuantFormat& format = GetParam();
  VOICEDESK_REQUIRE_FILE(whisper_ref(kF32));
  const std::string name = "encoder.blocks.0.mlp.0.weight";
  ModelFile file = ModelFile::parse(model_bytes(kF32));
  FileTensor& tensor = file.tensor(name);
  ASSERT_EQ(tensor.type, kF32Type);
  const std::vector<float> original = floats_of(tensor.data);
  ASSERT_EQ(original.size(), 256u * 64u);
  tensor.type = format.type;
  tensor.data = quantize(format, original);
  ASSERT_EQ(tensor.data.size(), data_bytes(format.type, original.size()));
  put_i32(file.prefix, FileLayout::hparam_at(10), 2 * 1000 + format.ftype);  // quant version 2
  const Dequantized expected = dequantize(format, tensor.data, original.size());

  const TempDir dir;
  const auto model =
      WhisperModel::load(dir.write(std::string("micro-") + format.name + ".bin", file.serialize()));
  const auto reference = WhisperModel::load(whisper_ref(kF32));
  EXPECT_EQ(model->hparams.ftype, format.ftype);

  const Matrix& loaded = model->encoder_blocks[0].mlp_up;
  EXPECT_EQ(loaded.rows, 256);
  EXPECT_EQ(loaded.cols, 64);
  ASSERT_TRUE(loaded.half.empty());  // quantized weights are expanded to f32
  ASSERT_EQ(loaded.data.size(), original.size());
  EXPECT_EQ(first_difference(loaded.data, expected.values), "");
  EXPECT_NE(first_difference(loaded.data, original), "") << "no quantization error at all?";

  // Close to the original: q8_0 within 1% of the block's largest magnitude,
  // q4/q5 within one quantization step.
  double worst = 0;  // in units of the allowance
  for (std::size_t b = 0; b < expected.step.size(); ++b) {
    float amax = 0;
    for (std::size_t j = 0; j < 32; ++j) amax = std::max(amax, std::abs(original[b * 32 + j]));
    const float allowed = format.bits == 8 ? 0.01f * amax : expected.step[b];
    for (std::size_t j = b * 32; j < b * 32 + 32; ++j) {
      const float error = std::abs(loaded.data[j] - original[j]);
      worst = std::max(worst, static_cast<double>(error / allowed));
      ASSERT_LE(error, allowed) << "element " << j << " block " << b;
    }
  }
  std::printf("%s: worst error %.2f of the allowance\n", format.name, worst);
  if (format.bits == 5) {
    EXPECT_GT(expected.high_bits[0], 0u);  // both halves of qh are exercised
    EXPECT_GT(expected.high_bits[1], 0u);
  }

  // The tensors around it are untouched (the loader stepped over the blocks exactly).
  EXPECT_EQ(first_difference(model->encoder_blocks[0].mlp_up_bias,
                             reference->encoder_blocks[0].mlp_up_bias),
            "");
  EXPECT_EQ(first_difference(model->encoder_blocks[0].mlp_down.data,
                             reference->encoder_blocks[0].mlp_down.data),
            "");
  EXPECT_EQ(first_difference(model->decoder_ln.bias, reference->decoder_ln.bias), "");
}

INSTANTIATE_TEST_SUITE_P(GgmlBlockFormats, WhisperModelQuantizedType, ::testing::ValuesIn(kFormats),
                         [](const ::testing::TestParamInfo<QuantFormat>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace voicedesk::stt
