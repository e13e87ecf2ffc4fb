#include "audio/wav.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace voicedesk::audio {
namespace {

namespace fs = std::filesystem;
using Bytes = std::span<const std::byte>;

constexpr std::size_t kRiffHeaderBytes = 12;
constexpr std::size_t kChunkHeaderBytes = 8;
constexpr std::size_t kFmtBytes = 16;
constexpr std::size_t kExtensibleFmtBytes = 40;
constexpr std::uint16_t kTagPcm = 0x0001;
constexpr std::uint16_t kTagFloat = 0x0003;
constexpr std::uint16_t kTagExtensible = 0xFFFE;
constexpr std::int64_t kMinSampleRate = 8000;
constexpr std::int64_t kMaxSampleRate = 48000;
constexpr std::uintmax_t kMaxFileBytes = std::uintmax_t{1} << 30;
// Streaming encoders (ffmpeg writing to a pipe, for one) cannot seek back to patch the data size
// and leave this placeholder; the only sensible reading is "up to the end of the file". A zero
// size, by contrast, is taken literally: reading on would decode any chunk that follows as audio.
constexpr std::uint32_t kSizeToEndOfFile = 0xFFFFFFFF;
constexpr std::string_view kSupported = "supported: PCM 16/24-bit, float 32-bit";

[[noreturn]] void fail(const std::string& message) {
  throw WavError(message);
}

std::string errno_message() {
  return std::error_code(errno, std::generic_category()).message();
}

// Little-endian field readers; callers have already checked that the bytes exist.
std::uint16_t le16(Bytes b, std::size_t at) {
  return static_cast<std::uint16_t>(std::to_integer<unsigned>(b[at]) |
                                    std::to_integer<unsigned>(b[at + 1]) << 8);
}

std::uint32_t le32(Bytes b, std::size_t at) {
  return le16(b, at) | std::uint32_t{le16(b, at + 2)} << 16;
}

bool has_tag(Bytes b, std::size_t at, std::string_view tag) {
  return std::memcmp(b.data() + at, tag.data(), tag.size()) == 0;
}

// Chunk ids are untrusted bytes; escaping them keeps every error message one printable line.
std::string display_id(Bytes id) {
  std::string out;
  for (const std::byte b : id) {
    const auto c = std::to_integer<unsigned char>(b);
    if (c >= 0x20 && c < 0x7F) {
      out += static_cast<char>(c);
    } else {
      std::array<char, 5> hex{};
      std::snprintf(hex.data(), hex.size(), "\\x%02X", c);
      out += hex.data();
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();  // "fmt " reads as "fmt"
  return out;
}

std::string describe_tag(std::uint16_t tag) {
  const char* name = nullptr;
  switch (tag) {
    case 0x0002:
      name = "Microsoft ADPCM";
      break;
    case 0x0006:
      name = "A-law";
      break;
    case 0x0007:
      name = "mu-law";
      break;
    case 0x0011:
      name = "IMA ADPCM";
      break;
    case 0x0031:
      name = "GSM 6.10";
      break;
    case 0x0055:
      name = "MP3";
      break;
    case 0x00FF:
      name = "AAC";
      break;
    case kTagExtensible:
      name = "nested WAVE_FORMAT_EXTENSIBLE";
      break;
    default:
      break;
  }
  std::string out = "format tag " + std::to_string(tag);
  return name ? out + " (" + name + ")" : out;
}

void check_channels(std::int64_t channels) {
  if (channels < 1 || channels > 2) {
    fail("unsupported channel count: " + std::to_string(channels) +
         " channels; only mono and stereo are supported");
  }
}

void check_sample_rate(std::int64_t sample_rate) {
  if (sample_rate < kMinSampleRate || sample_rate > kMaxSampleRate) {
    fail("unsupported sample rate: " + std::to_string(sample_rate) + " Hz; supported: " +
         std::to_string(kMinSampleRate) + " to " + std::to_string(kMaxSampleRate) + " Hz");
  }
}

// The fmt fields as stored, with the WAVE_FORMAT_EXTENSIBLE sub-format already resolved into tag.
struct FmtFields {
  std::uint16_t tag = 0;
  std::uint16_t channels = 0;
  std::uint32_t sample_rate = 0;
  std::uint32_t byte_rate = 0;
  std::uint16_t block_align = 0;
  std::uint16_t bits = 0;
  std::uint16_t valid_bits = 0;
};

// What the data chunk is decoded with, once the fmt chunk has passed every check.
struct Layout {
  SampleFormat format = SampleFormat::Pcm16;
  int channels = 0;
  int sample_rate = 0;
  std::size_t frame_bytes = 0;
};

FmtFields read_fmt(Bytes body) {
  if (body.size() < kFmtBytes) {
    fail("fmt chunk too short: " + std::to_string(body.size()) + " bytes, need at least " +
         std::to_string(kFmtBytes));
  }
  FmtFields f{.tag = le16(body, 0),
              .channels = le16(body, 2),
              .sample_rate = le32(body, 4),
              .byte_rate = le32(body, 8),
              .block_align = le16(body, 12),
              .bits = le16(body, 14),
              .valid_bits = le16(body, 14)};
  if (f.tag != kTagExtensible) return f;

  if (body.size() < kExtensibleFmtBytes) {
    fail("fmt chunk too short for WAVE_FORMAT_EXTENSIBLE: " + std::to_string(body.size()) +
         " bytes, need at least " + std::to_string(kExtensibleFmtBytes));
  }
  // The sub-format GUID is a classic format tag followed by this fixed KSDATAFORMAT suffix.
  static constexpr std::array<unsigned char, 14> kGuidSuffix{
      0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
  if (std::memcmp(body.data() + 26, kGuidSuffix.data(), kGuidSuffix.size()) != 0) {
    fail("unsupported WAV encoding: unknown WAVE_FORMAT_EXTENSIBLE sub-format; " +
         std::string(kSupported));
  }
  f.valid_bits = le16(body, 18);
  f.tag = le16(body, 24);
  return f;
}

std::optional<SampleFormat> sample_format_for(std::uint16_t tag, std::uint16_t bits) {
  if (tag == kTagFloat) return bits == 32 ? std::optional(SampleFormat::Float32) : std::nullopt;
  if (bits == 16) return SampleFormat::Pcm16;
  if (bits == 24) return SampleFormat::Pcm24;
  return std::nullopt;
}

Layout check_fmt(const FmtFields& f) {
  if (f.tag != kTagPcm && f.tag != kTagFloat) {
    fail("unsupported WAV encoding: " + describe_tag(f.tag) + "; " + std::string(kSupported));
  }
  const auto format = sample_format_for(f.tag, f.bits);
  if (!format) {
    fail("unsupported WAV bit depth: " + std::to_string(f.bits) + "-bit " +
         (f.tag == kTagFloat ? "float" : "PCM") + "; " + std::string(kSupported));
  }
  // WAVE_FORMAT_EXTENSIBLE may carry e.g. 20-bit PCM in a 24-bit container. Those samples are
  // left-justified, so decoding the whole container already yields the right value. Fewer valid
  // bits than 32 in a float has no meaning, so that stays an error.
  if (f.valid_bits == 0 || f.valid_bits > f.bits ||
      (f.tag == kTagFloat && f.valid_bits != f.bits)) {
    fail("inconsistent WAV header: " + std::to_string(f.valid_bits) + " valid bits in a " +
         std::to_string(f.bits) + "-bit sample");
  }
  check_channels(f.channels);
  check_sample_rate(f.sample_rate);

  const std::uint32_t frame_bytes = f.channels * (f.bits / 8U);
  if (f.block_align != frame_bytes) {
    fail("inconsistent WAV header: block align is " + std::to_string(f.block_align) + " but " +
         std::to_string(f.channels) + " channel(s) of " + std::to_string(f.bits) +
         "-bit samples need " + std::to_string(frame_bytes));
  }
  const std::uint64_t byte_rate = std::uint64_t{f.sample_rate} * frame_bytes;
  if (f.byte_rate != byte_rate) {
    fail("inconsistent WAV header: byte rate is " + std::to_string(f.byte_rate) + " but " +
         std::to_string(f.sample_rate) + " Hz with " + std::to_string(frame_bytes) +
         "-byte frames needs " + std::to_string(byte_rate));
  }
  return {.format = *format,
          .channels = f.channels,
          .sample_rate = static_cast<int>(f.sample_rate),
          .frame_bytes = frame_bytes};
}

float decode_pcm16(Bytes b, std::size_t at) {
  return static_cast<float>(static_cast<std::int16_t>(le16(b, at))) / 32768.0F;
}

float decode_pcm24(Bytes b, std::size_t at) {
  const std::uint32_t raw = le16(b, at) | std::to_integer<std::uint32_t>(b[at + 2]) << 16;
  // Flipping the sign bit and subtracting its weight sign-extends without shifting negatives.
  const std::int32_t value = static_cast<std::int32_t>(raw ^ 0x800000U) - 0x800000;
  return static_cast<float>(value) / 8388608.0F;
}

float decode_float32(Bytes b, std::size_t at) {
  const float value = std::bit_cast<float>(le32(b, at));
  if (!std::isfinite(value)) fail("WAV contains non-finite float samples");
  return std::clamp(value, -1.0F, 1.0F);
}

std::vector<float> decode_samples(Bytes data, SampleFormat format) {
  const auto [width, decode] =
      format == SampleFormat::Pcm16   ? std::pair{std::size_t{2}, &decode_pcm16}
      : format == SampleFormat::Pcm24 ? std::pair{std::size_t{3}, &decode_pcm24}
                                      : std::pair{std::size_t{4}, &decode_float32};
  std::vector<float> samples(data.size() / width);
  for (std::size_t i = 0; i < samples.size(); ++i) samples[i] = decode(data, i * width);
  return samples;
}

WavAudio decode_data(const Layout& layout, Bytes data) {
  if (data.empty()) fail("WAV has no audio frames: the data chunk is empty");
  if (data.size() % layout.frame_bytes != 0) {
    fail("data chunk holds " + std::to_string(data.size()) + " bytes, not a whole number of " +
         std::to_string(layout.frame_bytes) + "-byte frames");
  }
  return {.sample_rate = layout.sample_rate,
          .channels = layout.channels,
          .format = layout.format,
          .samples = decode_samples(data, layout.format)};
}

void check_riff_header(Bytes bytes) {
  if (bytes.empty()) fail("not a WAV file: the file is empty");
  if (bytes.size() < kRiffHeaderBytes) {
    fail("not a WAV file: only " + std::to_string(bytes.size()) +
         " bytes, too short for a RIFF header");
  }
  if (has_tag(bytes, 0, "RIFX")) fail("unsupported WAV: big-endian (RIFX) files are not supported");
  if (has_tag(bytes, 0, "RF64")) fail("unsupported WAV: RF64 (64-bit) files are not supported");
  if (!has_tag(bytes, 0, "RIFF")) fail("not a WAV file: missing RIFF header");
  if (!has_tag(bytes, 8, "WAVE")) {
    fail("not a WAV file: RIFF form type is '" + display_id(bytes.subspan(8, 4)) +
         "', expected 'WAVE'");
  }
  // The RIFF size at offset 4 is not used: streaming encoders leave 0 or 0xFFFFFFFF there, and
  // every chunk is bounded by the bytes actually present instead.
}

// Body of the chunk whose header starts at `at`, refusing a declared size past the end of input.
Bytes chunk_body(Bytes bytes, std::size_t at, std::uint32_t size) {
  const std::size_t remaining = bytes.size() - at - kChunkHeaderBytes;
  if (size > remaining) {
    fail("truncated WAV: " + display_id(bytes.subspan(at, 4)) + " chunk declares " +
         std::to_string(size) + " bytes but only " + std::to_string(remaining) + " remain");
  }
  return bytes.subspan(at + kChunkHeaderBytes, size);
}

// Runs fn, prefixing any WavError with the path so the user knows which file is at fault.
template <typename Fn>
auto at_path(const fs::path& path, Fn fn) {
  try {
    return fn();
  } catch (const WavError& e) {
    throw WavError(path.string() + ": " + e.what());
  }
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

File open_file(const fs::path& path, const char* mode, std::string_view action) {
  File file(std::fopen(path.c_str(), mode));
  if (!file) fail("cannot " + std::string(action) + " " + path.string() + ": " + errno_message());
  return file;
}

std::vector<std::byte> read_file(const fs::path& path) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) fail("file not found");
  if (ec) fail("cannot access file: " + ec.message());
  if (fs::is_directory(status)) fail("is a directory, not a WAV file");
  if (!fs::is_regular_file(status)) fail("not a regular file");
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) fail("cannot read file size: " + ec.message());
  if (size > kMaxFileBytes) {
    fail("file is " + std::to_string(size) + " bytes; WAV files larger than 1 GiB are refused");
  }

  const File file = open_file(path, "rb", "open");
  std::vector<std::byte> bytes(size);
  bytes.resize(std::fread(bytes.data(), 1, bytes.size(), file.get()));
  if (std::ferror(file.get())) fail("cannot read file: " + errno_message());
  return bytes;
}

void write_and_close(File file, const fs::path& path, Bytes bytes) {
  if (std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size() ||
      std::fclose(file.release()) != 0) {
    fail("cannot write " + path.string() + ": " + errno_message());
  }
}

void append_le(std::vector<std::byte>& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

void append_tag(std::vector<std::byte>& out, std::string_view tag) {
  for (const char c : tag) out.push_back(static_cast<std::byte>(c));
}

std::int16_t to_pcm16(float sample) {
  if (std::isnan(sample)) return 0;
  const long value = std::lround(std::clamp(sample, -1.0F, 1.0F) * 32768.0F);
  return static_cast<std::int16_t>(std::min(value, 32767L));  // +1.0 has no int16 counterpart
}

}  // namespace

WavAudio parse_wav(std::span<const std::byte> bytes) {
  check_riff_header(bytes);
  std::optional<Layout> layout;
  for (std::size_t at = kRiffHeaderBytes;;) {
    const std::size_t left = bytes.size() - at;
    if (left == 0) fail(layout ? "missing data chunk" : "missing fmt chunk");
    if (left < kChunkHeaderBytes) fail("truncated WAV: the file ends inside a chunk header");
    const std::uint32_t size = le32(bytes, at + 4);
    if (has_tag(bytes, at, "data")) {
      if (!layout) fail("missing fmt chunk before the data chunk");
      // Anything after the data chunk (LIST, id3, ...) cannot change how it decodes.
      return decode_data(*layout, size == kSizeToEndOfFile ? bytes.subspan(at + kChunkHeaderBytes)
                                                           : chunk_body(bytes, at, size));
    }
    const Bytes body = chunk_body(bytes, at, size);
    if (has_tag(bytes, at, "fmt ")) {
      if (layout) fail("WAV has more than one fmt chunk");
      layout = check_fmt(read_fmt(body));
    }
    // RIFF pads odd-sized chunks to an even length; some writers drop that pad at end of file.
    at = std::min(bytes.size(), at + kChunkHeaderBytes + size + (size & 1U));
  }
}

WavAudio read_wav(const std::filesystem::path& path) {
  return at_path(path, [&] { return parse_wav(read_file(path)); });
}

std::vector<std::byte> encode_wav_pcm16(std::span<const float> interleaved, int sample_rate,
                                        int channels) {
  check_channels(channels);
  check_sample_rate(sample_rate);
  const auto channel_count = static_cast<std::size_t>(channels);
  if (interleaved.size() % channel_count != 0) {
    fail("cannot encode WAV: " + std::to_string(interleaved.size()) +
         " samples are not a whole number of " + std::to_string(channels) + "-channel frames");
  }
  constexpr std::size_t kHeaderBytes = 44;
  // Both the data size and the RIFF size (data + 36) must fit their 32-bit fields, and neither may
  // collide with the 0xFFFFFFFF "to end of file" placeholder.
  const std::size_t max_samples = (kSizeToEndOfFile - kHeaderBytes) / 2;
  if (interleaved.size() > max_samples) {
    fail("cannot encode WAV: " + std::to_string(interleaved.size()) +
         " samples exceed the 4 GiB limit of the WAV format");
  }
  const auto data_bytes = static_cast<std::uint32_t>(interleaved.size() * 2);
  const auto frame_bytes = static_cast<std::uint32_t>(channel_count * 2);

  std::vector<std::byte> out;
  out.reserve(kHeaderBytes + data_bytes);
  append_tag(out, "RIFF");
  append_le(out, static_cast<std::uint32_t>(kHeaderBytes - kChunkHeaderBytes) + data_bytes, 4);
  append_tag(out, "WAVEfmt ");
  append_le(out, kFmtBytes, 4);
  append_le(out, kTagPcm, 2);
  append_le(out, channel_count, 2);
  append_le(out, sample_rate, 4);
  append_le(out, sample_rate * frame_bytes, 4);
  append_le(out, frame_bytes, 2);
  append_le(out, 16, 2);
  append_tag(out, "data");
  append_le(out, data_bytes, 4);
  for (const float sample : interleaved) {
    append_le(out, static_cast<std::uint16_t>(to_pcm16(sample)), 2);
  }
  return out;
}

void write_wav_pcm16(const std::filesystem::path& path, std::span<const float> interleaved,
                     int sample_rate, int channels) {
  at_path(path, [&] {
    const std::vector<std::byte> bytes = encode_wav_pcm16(interleaved, sample_rate, channels);
    fs::path tmp = path;
    tmp += ".tmp";
    File file = open_file(tmp, "wb", "create");
    try {
      write_and_close(std::move(file), tmp, bytes);
      std::error_code ec;
      fs::rename(tmp, path, ec);
      if (ec) fail("cannot rename " + tmp.string() + " into place: " + ec.message());
    } catch (const WavError&) {
      std::error_code ignored;
      fs::remove(tmp, ignored);  // a half-written temp file would only confuse the next attempt
      throw;
    }
  });
}

}  // namespace voicedesk::audio
