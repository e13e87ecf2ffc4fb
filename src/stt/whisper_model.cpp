#include "stt/whisper_model.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <string_view>
#include <system_error>

namespace voicedesk::stt {
namespace {

constexpr std::uint32_t kMagic = 0x67676d6c;  // "ggml"
constexpr int kQuantVersionFactor = 1000;     // ftype = quant version * 1000 + type
constexpr int kMaxDims = 4;

// ggml tensor type ids, as stored in the file.
enum class TensorType : int { F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8 };

struct BlockFormat {
  std::size_t values;  // per block
  std::size_t bytes;   // per block
};

std::optional<BlockFormat> block_format(int type) {
  switch (static_cast<TensorType>(type)) {
    case TensorType::F32:
      return BlockFormat{1, 4};
    case TensorType::F16:
      return BlockFormat{1, 2};
    case TensorType::Q4_0:
      return BlockFormat{32, 18};
    case TensorType::Q4_1:
      return BlockFormat{32, 20};
    case TensorType::Q5_0:
      return BlockFormat{32, 22};
    case TensorType::Q5_1:
      return BlockFormat{32, 24};
    case TensorType::Q8_0:
      return BlockFormat{32, 34};
  }
  return std::nullopt;
}

// The file mapped read-only for the duration of the load.
class MappedFile {
 public:
  explicit MappedFile(const std::filesystem::path& path) {
    // O_NONBLOCK: a FIFO without a writer must not block open(); fstat rejects it below.
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw ModelError(path.string() + ": " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw ModelError(path.string() + ": not a regular file");
    }
    size_ = static_cast<std::size_t>(st.st_size);
    if (size_ > 0) {
      void* data = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (data == MAP_FAILED) {
        const int error = errno;
        ::close(fd);
        throw ModelError(path.string() + ": mmap: " + std::strerror(error));
      }
      data_ = static_cast<const unsigned char*>(data);
      // Tensors are read once, front to back.
      ::madvise(data, size_, MADV_SEQUENTIAL);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }

 private:
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Bounds-checked sequential reader: every read names what it was reading, so
// a truncated file says where it ends.
class Reader {
 public:
  Reader(const MappedFile& file, std::string origin) : file_(file), origin_(std::move(origin)) {}

  const unsigned char* take(std::size_t bytes, std::string_view what) {
    if (bytes > file_.size() - offset_) {
      fail("truncated file: " + std::string(what) + " needs " + std::to_string(bytes) +
           " bytes at offset " + std::to_string(offset_) + " but only " +
           std::to_string(file_.size() - offset_) + " remain");
    }
    const unsigned char* at = file_.data() + offset_;
    offset_ += bytes;
    return at;
  }
  std::int32_t i32(std::string_view what) {
    std::int32_t value;
    std::memcpy(&value, take(4, what), 4);
    return value;
  }
  bool at_end() const { return offset_ == file_.size(); }
  std::size_t offset() const { return offset_; }
  [[noreturn]] void fail(const std::string& message) const {
    throw ModelError(origin_ + ": " + message);
  }

 private:
  const MappedFile& file_;
  std::string origin_;
  std::size_t offset_ = 0;
};

struct TensorRecord {
  int type = 0;
  int n_dims = 0;
  std::int64_t ne[kMaxDims] = {1, 1, 1, 1};  // ne[0] varies fastest
  const unsigned char* data = nullptr;
  std::size_t count() const { return static_cast<std::size_t>(ne[0] * ne[1] * ne[2] * ne[3]); }
};

std::uint16_t load_u16(const unsigned char* p) {
  return static_cast<std::uint16_t>(p[0] | p[1] << 8);
}
std::uint32_t load_u32(const unsigned char* p) {
  return static_cast<std::uint32_t>(p[0] | p[1] << 8 | p[2] << 16) |
         static_cast<std::uint32_t>(p[3]) << 24;
}

// Expands one tensor to f32 (row-major, ne[0] fastest, i.e. PyTorch layout).
std::vector<float> to_f32(const TensorRecord& t) {
  const std::size_t n = t.count();
  std::vector<float> out(n);
  const unsigned char* p = t.data;
  switch (static_cast<TensorType>(t.type)) {
    case TensorType::F32:
      std::memcpy(out.data(), p, n * 4);
      break;
    case TensorType::F16:
      for (std::size_t i = 0; i < n; ++i) out[i] = half_to_float(load_u16(p + 2 * i));
      break;
    case TensorType::Q8_0:
      for (std::size_t b = 0; b < n / 32; ++b, p += 34) {
        const float d = half_to_float(load_u16(p));
        for (int j = 0; j < 32; ++j)
          out[b * 32 + j] = d * static_cast<float>(static_cast<std::int8_t>(p[2 + j]));
      }
      break;
    case TensorType::Q4_0:
    case TensorType::Q4_1: {
      const bool has_min = t.type == static_cast<int>(TensorType::Q4_1);
      const std::size_t block = has_min ? 20 : 18;
      for (std::size_t b = 0; b < n / 32; ++b, p += block) {
        const float d = half_to_float(load_u16(p));
        const float m = has_min ? half_to_float(load_u16(p + 2)) : 0.0f;
        const unsigned char* qs = p + (has_min ? 4 : 2);
        const int offset = has_min ? 0 : 8;
        for (int j = 0; j < 16; ++j) {
          out[b * 32 + j] = static_cast<float>((qs[j] & 0x0f) - offset) * d + m;
          out[b * 32 + j + 16] = static_cast<float>((qs[j] >> 4) - offset) * d + m;
        }
      }
      break;
    }
    case TensorType::Q5_0:
    case TensorType::Q5_1: {
      const bool has_min = t.type == static_cast<int>(TensorType::Q5_1);
      const std::size_t block = has_min ? 24 : 22;
      for (std::size_t b = 0; b < n / 32; ++b, p += block) {
        const float d = half_to_float(load_u16(p));
        const float m = has_min ? half_to_float(load_u16(p + 2)) : 0.0f;
        const std::uint32_t qh = load_u32(p + (has_min ? 4 : 2));
        const unsigned char* qs = p + (has_min ? 8 : 6);
        const int offset = has_min ? 0 : 16;
        for (int j = 0; j < 16; ++j) {
          const int lo = (qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
          const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
          out[b * 32 + j] = static_cast<float>(lo - offset) * d + m;
          out[b * 32 + j + 16] = static_cast<float>(hi - offset) * d + m;
        }
      }
      break;
    }
  }
  return out;
}

std::string shape_text(const std::vector<std::int64_t>& dims) {
  std::string text = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) text += (i ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

// Looks tensors up by name and checks their shapes against the hyper-parameters.
class TensorTable {
 public:
  TensorTable(std::map<std::string, TensorRecord, std::less<>> records, const Reader& reader)
      : records_(std::move(records)), reader_(reader) {}

  // `shape` is PyTorch order (outermost first), e.g. {out, in}.
  std::vector<float> take(const std::string& name, const std::vector<std::int64_t>& shape) {
    const auto it = records_.find(name);
    if (it == records_.end()) reader_.fail("missing tensor " + name);
    check_shape(name, it->second, shape);
    return to_f32(it->second);
  }

 private:
  void check_shape(const std::string& name, const TensorRecord& t,
                   const std::vector<std::int64_t>& shape) {
    // Biases of conv layers are stored as [out, 1]; compare without trailing 1s.
    std::vector<std::int64_t> actual;
    for (int i = t.n_dims - 1; i >= 0; --i) actual.push_back(t.ne[i]);
    auto squeeze = [](std::vector<std::int64_t> dims) {
      while (dims.size() > 1 && dims.back() == 1) dims.pop_back();
      return dims;
    };
    if (squeeze(actual) != squeeze(shape)) {
      reader_.fail("tensor " + name + " has shape " + shape_text(actual) + ", expected " +
                   shape_text(shape));
    }
    used_.push_back(name);
  }

 public:
  Matrix matrix(const std::string& name, int rows, int cols, std::vector<std::int64_t> shape = {}) {
    if (shape.empty()) shape = {rows, cols};
    const auto it = records_.find(name);
    if (it != records_.end() && it->second.type == static_cast<int>(TensorType::F16)) {
      check_shape(name, it->second, shape);
      const TensorRecord& t = it->second;
      std::vector<std::uint16_t> half(t.count());
      std::memcpy(half.data(), t.data, half.size() * 2);
      return Matrix{rows, cols, {}, std::move(half)};
    }
    return Matrix{rows, cols, take(name, shape), {}};
  }
  void check_all_used() const {
    if (used_.size() != records_.size()) {
      for (const auto& [name, record] : records_) {
        if (std::find(used_.begin(), used_.end(), name) == used_.end()) {
          reader_.fail("unexpected tensor " + name + " (is this a Whisper model?)");
        }
      }
    }
  }

 private:
  std::map<std::string, TensorRecord, std::less<>> records_;
  const Reader& reader_;
  std::vector<std::string> used_;
};

LayerNormWeights layer_norm(TensorTable& table, const std::string& prefix, int state) {
  return {table.take(prefix + ".weight", {state}), table.take(prefix + ".bias", {state})};
}

AttentionWeights attention(TensorTable& table, const std::string& prefix, int state) {
  AttentionWeights a;
  a.query = table.matrix(prefix + ".query.weight", state, state);
  a.query_bias = table.take(prefix + ".query.bias", {state});
  a.key = table.matrix(prefix + ".key.weight", state, state);
  a.value = table.matrix(prefix + ".value.weight", state, state);
  a.value_bias = table.take(prefix + ".value.bias", {state});
  a.out = table.matrix(prefix + ".out.weight", state, state);
  a.out_bias = table.take(prefix + ".out.bias", {state});
  return a;
}

ResidualBlock residual_block(TensorTable& table, const std::string& prefix, int state, bool cross) {
  ResidualBlock b;
  b.attn = attention(table, prefix + ".attn", state);
  b.attn_ln = layer_norm(table, prefix + ".attn_ln", state);
  if (cross) {
    b.cross_attn = attention(table, prefix + ".cross_attn", state);
    b.cross_attn_ln = layer_norm(table, prefix + ".cross_attn_ln", state);
  }
  b.mlp_up = table.matrix(prefix + ".mlp.0.weight", 4 * state, state);
  b.mlp_up_bias = table.take(prefix + ".mlp.0.bias", {4 * state});
  b.mlp_down = table.matrix(prefix + ".mlp.2.weight", state, 4 * state);
  b.mlp_down_bias = table.take(prefix + ".mlp.2.bias", {state});
  b.mlp_ln = layer_norm(table, prefix + ".mlp_ln", state);
  return b;
}

void check_hparams(const WhisperHparams& h, const Reader& reader) {
  auto positive = [&](int value, const char* name, int max) {
    if (value <= 0 || value > max) {
      reader.fail(std::string("implausible hyper-parameter ") + name + " = " +
                  std::to_string(value) + " (is this a Whisper model?)");
    }
  };
  positive(h.n_vocab, "n_vocab", 1 << 20);
  positive(h.n_audio_ctx, "n_audio_ctx", 1 << 16);
  positive(h.n_audio_state, "n_audio_state", 1 << 14);
  positive(h.n_audio_head, "n_audio_head", 1 << 10);
  positive(h.n_audio_layer, "n_audio_layer", 1 << 10);
  positive(h.n_text_ctx, "n_text_ctx", 1 << 16);
  positive(h.n_text_state, "n_text_state", 1 << 14);
  positive(h.n_text_head, "n_text_head", 1 << 10);
  positive(h.n_text_layer, "n_text_layer", 1 << 10);
  positive(h.n_mels, "n_mels", 1 << 10);
  if (h.n_audio_state % h.n_audio_head != 0 || h.n_text_state % h.n_text_head != 0) {
    reader.fail("state size is not a multiple of the head count");
  }
  if (h.n_vocab <= 50363)
    reader.fail("n_vocab " + std::to_string(h.n_vocab) + " is too small for Whisper");
}

}  // namespace

WeightView Matrix::view() const {
  return WeightView{rows, cols, data.empty() ? nullptr : data.data(),
                    half.empty() ? nullptr : half.data(), 0};
}

void Matrix::copy_row(int r, float* out) const {
  const std::size_t offset = static_cast<std::size_t>(r) * static_cast<std::size_t>(cols);
  if (!data.empty()) {
    std::memcpy(out, data.data() + offset, static_cast<std::size_t>(cols) * sizeof(float));
  } else {
    for (int c = 0; c < cols; ++c)
      out[c] = half_to_float(half[offset + static_cast<std::size_t>(c)]);
  }
}

int WhisperModel::timestamp_token(double seconds) const {
  return tokens.timestamp_begin + static_cast<int>(std::lround(seconds / 0.02));
}

const std::string& WhisperModel::token_text(int id) const {
  static const std::string unknown = "<|unknown|>";
  if (id < 0 || static_cast<std::size_t>(id) >= vocab.size()) return unknown;
  return vocab[static_cast<std::size_t>(id)];
}

std::shared_ptr<const WhisperModel> WhisperModel::load(const std::filesystem::path& path) {
  const MappedFile file(path);
  Reader reader(file, path.string());
  auto model = std::make_shared<WhisperModel>();
  model->file_name = path.filename().string();
  model->file_bytes = file.size();

  if (file.size() == 0) reader.fail("empty file: not a whisper.cpp (ggml) model file");
  if (static_cast<std::uint32_t>(reader.i32("magic")) != kMagic) {
    reader.fail("bad magic: not a whisper.cpp (ggml) model file");
  }
  WhisperHparams& h = model->hparams;
  for (int* field :
       {&h.n_vocab, &h.n_audio_ctx, &h.n_audio_state, &h.n_audio_head, &h.n_audio_layer,
        &h.n_text_ctx, &h.n_text_state, &h.n_text_head, &h.n_text_layer, &h.n_mels, &h.ftype}) {
    *field = reader.i32("hyper-parameters");
  }
  check_hparams(h, reader);
  h.ftype %= kQuantVersionFactor;

  const int n_mel = reader.i32("mel filter count");
  const int n_fft = reader.i32("mel filter width");
  if (n_mel != h.n_mels || n_fft <= 0 || n_fft > 4096) {
    reader.fail("mel filter bank is " + std::to_string(n_mel) + "x" + std::to_string(n_fft) +
                ", expected " + std::to_string(h.n_mels) + " rows");
  }
  model->mel_fft_bins = n_fft;
  const std::size_t filter_values =
      static_cast<std::size_t>(n_mel) * static_cast<std::size_t>(n_fft);
  model->mel_filters.resize(filter_values);
  std::memcpy(model->mel_filters.data(), reader.take(filter_values * 4, "mel filters"),
              filter_values * 4);

  const int n_vocab_file = reader.i32("vocabulary size");
  if (n_vocab_file < 0 || n_vocab_file > h.n_vocab) {
    reader.fail("vocabulary size " + std::to_string(n_vocab_file) + " is outside 0.." +
                std::to_string(h.n_vocab) + " (n_vocab)");
  }
  model->vocab.reserve(static_cast<std::size_t>(h.n_vocab));
  for (int i = 0; i < n_vocab_file; ++i) {
    const int length = reader.i32("token length");
    if (length < 0 || length > 1024)
      reader.fail("token " + std::to_string(i) + " has length " + std::to_string(length));
    const unsigned char* bytes = reader.take(static_cast<std::size_t>(length), "token text");
    model->vocab.emplace_back(reinterpret_cast<const char*>(bytes),
                              static_cast<std::size_t>(length));
  }

  SpecialTokens& t = model->tokens;
  if (model->multilingual()) {
    // Multilingual vocabularies insert language tokens after <|startoftranscript|>.
    const int shift = h.n_vocab - 51865;
    t.eot = 50257;
    t.sot = 50258;
    t.translate = 50358 + shift;
    t.transcribe = 50359 + shift;
    t.solm = 50360 + shift;
    t.prev = 50361 + shift;
    t.nosp = 50362 + shift;
    t.no_timestamps = 50363 + shift;
    t.timestamp_begin = 50364 + shift;
  }
  // Tokens past the file's vocabulary are special: give them readable names.
  for (int id = n_vocab_file; id < h.n_vocab; ++id) {
    std::string name;
    if (id == t.eot)
      name = "<|endoftext|>";
    else if (id == t.sot)
      name = "<|startoftranscript|>";
    else if (id == t.translate)
      name = "<|translate|>";
    else if (id == t.transcribe)
      name = "<|transcribe|>";
    else if (id == t.solm)
      name = "<|startoflm|>";
    else if (id == t.prev)
      name = "<|startofprev|>";
    else if (id == t.nosp)
      name = "<|nospeech|>";
    else if (id == t.no_timestamps)
      name = "<|notimestamps|>";
    else if (id >= t.timestamp_begin) {
      char text[32];
      std::snprintf(text, sizeof text, "<|%.2f|>", (id - t.timestamp_begin) * 0.02);
      name = text;
    } else {
      name = "<|special_" + std::to_string(id) + "|>";
    }
    model->vocab.push_back(std::move(name));
  }

  std::map<std::string, TensorRecord, std::less<>> records;
  while (!reader.at_end()) {
    TensorRecord record;
    record.n_dims = reader.i32("tensor header");
    const int name_length = reader.i32("tensor header");
    record.type = reader.i32("tensor header");
    if (record.n_dims < 1 || record.n_dims > kMaxDims) {
      reader.fail("tensor at offset " + std::to_string(reader.offset()) + " has " +
                  std::to_string(record.n_dims) + " dimensions");
    }
    if (name_length <= 0 || name_length > 256)
      reader.fail("tensor name length " + std::to_string(name_length));
    for (int i = 0; i < record.n_dims; ++i) {
      record.ne[i] = reader.i32("tensor dimensions");
      if (record.ne[i] <= 0 || record.ne[i] > (1 << 24)) {
        reader.fail("tensor dimension " + std::to_string(record.ne[i]) + " out of range");
      }
    }
    const std::string name(reinterpret_cast<const char*>(
                               reader.take(static_cast<std::size_t>(name_length), "tensor name")),
                           static_cast<std::size_t>(name_length));
    // Each dimension is at most 2^24: stop before their product can overflow.
    std::int64_t values = 1;
    for (int i = 0; i < record.n_dims; ++i) {
      if (values > (std::int64_t{1} << 36) / record.ne[i])
        reader.fail("tensor " + name + " is implausibly large");
      values *= record.ne[i];
    }
    const auto format = block_format(record.type);
    if (!format) reader.fail("tensor " + name + " has unknown type " + std::to_string(record.type));
    if (record.count() % format->values != 0) {
      reader.fail("tensor " + name + " has " + std::to_string(record.count()) +
                  " values, not a whole number of quantization blocks");
    }
    record.data =
        reader.take(record.count() / format->values * format->bytes, "data of tensor " + name);
    if (!records.emplace(name, record).second) reader.fail("tensor " + name + " appears twice");
  }

  TensorTable table(std::move(records), reader);
  const int a = h.n_audio_state;
  const int d = h.n_text_state;
  model->audio_positions = table.matrix("encoder.positional_embedding", h.n_audio_ctx, a);
  model->conv1 = table.matrix("encoder.conv1.weight", a, h.n_mels * 3, {a, h.n_mels, 3});
  model->conv1_bias = table.take("encoder.conv1.bias", {a});
  model->conv2 = table.matrix("encoder.conv2.weight", a, a * 3, {a, a, 3});
  model->conv2_bias = table.take("encoder.conv2.bias", {a});
  for (int i = 0; i < h.n_audio_layer; ++i) {
    model->encoder_blocks.push_back(
        residual_block(table, "encoder.blocks." + std::to_string(i), a, false));
  }
  model->encoder_ln_post = layer_norm(table, "encoder.ln_post", a);
  model->text_positions = table.matrix("decoder.positional_embedding", h.n_text_ctx, d);
  model->token_embedding = table.matrix("decoder.token_embedding.weight", h.n_vocab, d);
  for (int i = 0; i < h.n_text_layer; ++i) {
    model->decoder_blocks.push_back(
        residual_block(table, "decoder.blocks." + std::to_string(i), d, true));
  }
  model->decoder_ln = layer_norm(table, "decoder.ln", d);
  table.check_all_used();
  return model;
}

}  // namespace voicedesk::stt
