#include "audio/wav.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace voicedesk::audio {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::StartsWith;
using Bytes = std::vector<std::byte>;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kPcm16Step = 1.0F / 32768.0F;

void put_le(Bytes& out, std::uint64_t value, int width) {
  for (int i = 0; i < width; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

void put_tag(Bytes& out, std::string_view tag) {
  for (const char c : tag) out.push_back(static_cast<std::byte>(c));
}

void append(Bytes& out, const Bytes& more) {
  out.insert(out.end(), more.begin(), more.end());
}

// fmt chunk fields. Unset optionals are derived from the rest, so a malformed variant overrides
// only the field under test.
struct Fmt {
  std::uint16_t tag = 1;
  std::uint16_t channels = 1;
  std::uint32_t sample_rate = 16000;
  std::uint16_t bits = 16;
  std::optional<std::uint16_t> block_align = std::nullopt;
  std::optional<std::uint32_t> byte_rate = std::nullopt;
  // Set to write WAVE_FORMAT_EXTENSIBLE (tag 0xFFFE) carrying this sub-format tag.
  std::optional<std::uint16_t> sub_tag = std::nullopt;
  std::optional<std::uint16_t> valid_bits = std::nullopt;
};

Bytes fmt_body(const Fmt& f) {
  const auto align = f.block_align.value_or(static_cast<std::uint16_t>(f.channels * f.bits / 8));
  Bytes out;
  put_le(out, f.sub_tag ? 0xFFFE : f.tag, 2);
  put_le(out, f.channels, 2);
  put_le(out, f.sample_rate, 4);
  put_le(out, f.byte_rate.value_or(f.sample_rate * align), 4);
  put_le(out, align, 2);
  put_le(out, f.bits, 2);
  if (f.sub_tag) {
    put_le(out, 22, 2);
    put_le(out, f.valid_bits.value_or(f.bits), 2);
    put_le(out, f.channels == 2 ? 0x3 : 0x4, 4);
    put_le(out, *f.sub_tag, 4);
    for (const int b : {0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}) {
      out.push_back(static_cast<std::byte>(b));
    }
  }
  return out;
}

// A chunk with its RIFF pad byte; `declared` overrides the size field without changing the body.
Bytes chunk(std::string_view id, const Bytes& body, std::optional<std::uint32_t> declared = {}) {
  Bytes out;
  put_tag(out, id);
  put_le(out, declared.value_or(static_cast<std::uint32_t>(body.size())), 4);
  append(out, body);
  if (body.size() % 2 != 0) out.push_back(std::byte{0});
  return out;
}

Bytes riff(std::initializer_list<Bytes> chunks, std::string_view form = "WAVE") {
  Bytes body;
  put_tag(body, form);
  for (const Bytes& c : chunks) append(body, c);
  Bytes out;
  put_tag(out, "RIFF");
  put_le(out, body.size(), 4);
  append(out, body);
  return out;
}

Bytes wav(const Fmt& f, const Bytes& data) {
  return riff({chunk("fmt ", fmt_body(f)), chunk("data", data)});
}

Bytes ints(std::initializer_list<std::int32_t> values, int width) {
  Bytes out;
  for (const std::int32_t v : values) put_le(out, static_cast<std::uint32_t>(v), width);
  return out;
}

Bytes floats(std::initializer_list<float> values) {
  Bytes out;
  for (const float v : values) put_le(out, std::bit_cast<std::uint32_t>(v), 4);
  return out;
}

Bytes with_le32(Bytes bytes, std::size_t at, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<std::byte>(value >> (8 * i));
  return bytes;
}

Bytes with_tag(Bytes bytes, std::size_t at, std::string_view tag) {
  for (std::size_t i = 0; i < tag.size(); ++i) bytes[at + i] = static_cast<std::byte>(tag[i]);
  return bytes;
}

Bytes prefix(const Bytes& bytes, std::size_t size) {
  return {bytes.begin(), bytes.begin() + size};
}

const Bytes kSilence16 = ints({0, 0}, 2);

// The WavError message fn throws; records a failure if it returns instead.
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const WavError& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a WavError";
  return {};
}

std::string parse_error(const Bytes& bytes) {
  return error_of([&] { parse_wav(bytes); });
}

struct BadCase {
  std::string_view name;
  Bytes bytes;
  std::string_view message;
};

void expect_rejected(const std::vector<BadCase>& cases) {
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string message = parse_error(c.bytes);
    EXPECT_THAT(message, HasSubstr(c.message));
    EXPECT_EQ(message.find('\n'), std::string::npos);
  }
}

TEST(WavParse, Pcm16MonoExactValues) {
  const WavAudio audio = parse_wav(wav({}, ints({0, 1, -1, 32767, -32768, 16384}, 2)));
  EXPECT_EQ(audio.sample_rate, 16000);
  EXPECT_EQ(audio.channels, 1);
  EXPECT_EQ(audio.format, SampleFormat::Pcm16);
  EXPECT_EQ(audio.frames(), 6U);
  EXPECT_THAT(audio.samples,
              ElementsAre(0.0F, kPcm16Step, -kPcm16Step, 32767 * kPcm16Step, -1.0F, 0.5F));
}

TEST(WavParse, Pcm16StereoKeepsInterleaving) {
  const WavAudio audio =
      parse_wav(wav({.channels = 2}, ints({100, -200, 300, -400, 500, -600}, 2)));
  EXPECT_EQ(audio.channels, 2);
  EXPECT_EQ(audio.frames(), 3U);
  EXPECT_THAT(audio.samples, ElementsAre(100 * kPcm16Step, -200 * kPcm16Step, 300 * kPcm16Step,
                                         -400 * kPcm16Step, 500 * kPcm16Step, -600 * kPcm16Step));
}

TEST(WavParse, Pcm24SignExtendsAndScales) {
  const std::initializer_list<std::int32_t> values = {0,        1,        -1,        8388607,
                                                      -8388608, 0x123456, -0x123456, 0x7F0080};
  const WavAudio audio = parse_wav(wav({.bits = 24}, ints(values, 3)));
  EXPECT_EQ(audio.format, SampleFormat::Pcm24);
  std::vector<float> expected;
  for (const std::int32_t v : values) expected.push_back(static_cast<float>(v) / 8388608.0F);
  EXPECT_THAT(audio.samples, ElementsAreArray(expected));
  EXPECT_EQ(audio.samples[4], -1.0F);
}

TEST(WavParse, Float32ExactValues) {
  const WavAudio audio =
      parse_wav(wav({.tag = 3, .bits = 32}, floats({0, 0.5F, -0.25F, 1, -1, 1e-7F})));
  EXPECT_EQ(audio.format, SampleFormat::Float32);
  EXPECT_THAT(audio.samples, ElementsAre(0.0F, 0.5F, -0.25F, 1.0F, -1.0F, 1e-7F));
}

TEST(WavParse, Float32BeyondFullScaleIsClamped) {
  const WavAudio audio = parse_wav(wav({.tag = 3, .bits = 32}, floats({1.5F, -2.0F, 1e30F})));
  EXPECT_THAT(audio.samples, ElementsAre(1.0F, -1.0F, 1.0F));
}

TEST(WavParse, ExtensiblePcmAndFloat) {
  const WavAudio pcm16 = parse_wav(wav({.sub_tag = 1}, ints({-16384, 8192}, 2)));
  EXPECT_EQ(pcm16.format, SampleFormat::Pcm16);
  EXPECT_THAT(pcm16.samples, ElementsAre(-0.5F, 0.25F));

  const WavAudio pcm24 = parse_wav(wav({.bits = 24, .sub_tag = 1}, ints({-4194304}, 3)));
  EXPECT_EQ(pcm24.format, SampleFormat::Pcm24);
  EXPECT_THAT(pcm24.samples, ElementsAre(-0.5F));

  const WavAudio stereo_float =
      parse_wav(wav({.channels = 2, .bits = 32, .sub_tag = 3}, floats({0.75F, -0.125F})));
  EXPECT_EQ(stereo_float.format, SampleFormat::Float32);
  EXPECT_EQ(stereo_float.channels, 2);
  EXPECT_THAT(stereo_float.samples, ElementsAre(0.75F, -0.125F));
}

TEST(WavParse, ExtensibleFewerValidBitsDecodesLeftJustifiedContainer) {
  const WavAudio audio =
      parse_wav(wav({.bits = 24, .sub_tag = 1, .valid_bits = 20}, ints({0x400000}, 3)));
  EXPECT_THAT(audio.samples, ElementsAre(0.5F));
}

TEST(WavParse, SkipsUnknownChunksHonouringPadBytes) {
  const Bytes odd(3, std::byte{0x4C});
  const WavAudio audio = parse_wav(riff(
      {chunk("LIST", odd), chunk("fmt ", fmt_body({})), chunk("fact", Bytes(5, std::byte{0xAB})),
       chunk("data", ints({1234, -1234}, 2)), chunk("id3 ", Bytes(7, std::byte{0xFF}))}));
  EXPECT_THAT(audio.samples, ElementsAre(1234 * kPcm16Step, -1234 * kPcm16Step));
}

TEST(WavParse, OddSizedDataChunkIsPadded) {
  const WavAudio audio = parse_wav(riff({chunk("fmt ", fmt_body({.bits = 24})),
                                         chunk("data", ints({-2}, 3)), chunk("LIST", Bytes(4))}));
  EXPECT_THAT(audio.samples, ElementsAre(-2.0F / 8388608.0F));
}

TEST(WavParse, SampleRateLimitsAreAccepted) {
  for (const std::uint32_t rate : {8000U, 48000U}) {
    EXPECT_EQ(parse_wav(wav({.sample_rate = rate}, kSilence16)).sample_rate,
              static_cast<int>(rate));
  }
}

TEST(WavParse, RiffSizeFieldIsIgnored) {
  // Streaming encoders leave these placeholders in the RIFF size.
  for (const std::uint32_t size : {0U, 0xFFFFFFFFU}) {
    EXPECT_EQ(parse_wav(with_le32(wav({}, kSilence16), 4, size)).frames(), 2U);
  }
}

TEST(WavParse, DataSizePlaceholderMeansToEndOfFile) {
  const Bytes streamed =
      riff({chunk("fmt ", fmt_body({})), chunk("data", ints({7, -7}, 2), 0xFFFFFFFF)});
  EXPECT_THAT(parse_wav(streamed).samples, ElementsAre(7 * kPcm16Step, -7 * kPcm16Step));

  Bytes partial_frame = streamed;
  partial_frame.push_back(std::byte{1});
  EXPECT_THAT(parse_error(partial_frame),
              HasSubstr("5 bytes, not a whole number of 2-byte frames"));
}

TEST(WavParse, RejectsNonWavContainers) {
  expect_rejected({
      {"empty", {}, "the file is empty"},
      {"short", prefix(wav({}, kSilence16), 11), "only 11 bytes, too short for a RIFF header"},
      {"ogg", with_tag(wav({}, kSilence16), 0, "OggS"), "not a WAV file: missing RIFF header"},
      {"avi", riff({chunk("LIST", {})}, "AVI "), "RIFF form type is 'AVI', expected 'WAVE'"},
      {"rifx", with_tag(wav({}, kSilence16), 0, "RIFX"), "big-endian (RIFX)"},
      {"rf64", with_tag(wav({}, kSilence16), 0, "RF64"), "RF64 (64-bit) files are not supported"},
  });
}

TEST(WavParse, RejectsBadChunkStructure) {
  const Bytes fmt = chunk("fmt ", fmt_body({}));
  const Bytes data = chunk("data", kSilence16);
  Bytes header_cut = riff({fmt});
  append(header_cut, Bytes(5));
  expect_rejected({
      {"no fmt", riff({chunk("LIST", Bytes(4))}), "missing fmt chunk"},
      {"data before fmt", riff({data, fmt}), "missing fmt chunk before the data chunk"},
      {"no data", riff({fmt, chunk("LIST", Bytes(4))}), "missing data chunk"},
      {"two fmt", riff({fmt, fmt, data}), "more than one fmt chunk"},
      {"cut chunk header", header_cut, "truncated WAV: the file ends inside a chunk header"},
      {"short data", riff({fmt, chunk("data", kSilence16, 100)}),
       "truncated WAV: data chunk declares 100 bytes but only 4 remain"},
      {"huge LIST", riff({chunk("LIST", Bytes(2), 0xFFFFFFFF), fmt, data}),
       "truncated WAV: LIST chunk declares 4294967295 bytes but only 38 remain"},
      {"long fmt", riff({chunk("fmt ", fmt_body({}), 1000)}),
       "truncated WAV: fmt chunk declares 1000 bytes but only 16 remain"},
      {"control bytes in id", riff({fmt, chunk(std::string_view("\n\x01Zz", 4), {}, 50)}),
       "truncated WAV: \\x0A\\x01Zz chunk declares 50 bytes"},
  });
}

TEST(WavParse, RejectsShortFmtChunks) {
  expect_rejected({
      {"plain", riff({chunk("fmt ", prefix(fmt_body({}), 14)), chunk("data", kSilence16)}),
       "fmt chunk too short: 14 bytes, need at least 16"},
      {"extensible",
       riff({chunk("fmt ", prefix(fmt_body({.sub_tag = 1}), 18)), chunk("data", kSilence16)}),
       "fmt chunk too short for WAVE_FORMAT_EXTENSIBLE: 18 bytes, need at least 40"},
  });
}

TEST(WavParse, RejectsUnsupportedEncodingsNamingThem) {
  Bytes unknown_guid = fmt_body({.sub_tag = 1});
  unknown_guid[30] ^= std::byte{0xFF};
  expect_rejected({
      {"A-law", wav({.tag = 6, .bits = 8}, kSilence16),
       "unsupported WAV encoding: format tag 6 (A-law); supported: PCM 16/24-bit, float 32-bit"},
      {"mu-law", wav({.tag = 7, .bits = 8}, kSilence16), "format tag 7 (mu-law)"},
      {"ADPCM", wav({.tag = 2, .bits = 4}, kSilence16), "format tag 2 (Microsoft ADPCM)"},
      {"MP3", wav({.tag = 0x55}, kSilence16), "format tag 85 (MP3)"},
      {"unnamed", wav({.tag = 0x1234}, kSilence16), "format tag 4660; supported"},
      {"extensible A-law", wav({.bits = 8, .sub_tag = 6}, kSilence16), "format tag 6 (A-law)"},
      {"unknown GUID", riff({chunk("fmt ", unknown_guid), chunk("data", kSilence16)}),
       "unknown WAVE_FORMAT_EXTENSIBLE sub-format"},
  });
}

TEST(WavParse, RejectsUnsupportedBitDepths) {
  expect_rejected({
      {"8-bit", wav({.bits = 8}, kSilence16), "unsupported WAV bit depth: 8-bit PCM; supported"},
      {"32-bit int", wav({.bits = 32}, kSilence16), "32-bit PCM"},
      {"64-bit float", wav({.tag = 3, .bits = 64}, kSilence16), "64-bit float"},
      {"16-bit float", wav({.tag = 3, .bits = 16}, kSilence16), "16-bit float"},
      {"extensible 32-bit int", wav({.bits = 32, .sub_tag = 1}, kSilence16), "32-bit PCM"},
  });
}

TEST(WavParse, RejectsInconsistentValidBits) {
  expect_rejected({
      {"more than container", wav({.sub_tag = 1, .valid_bits = 24}, kSilence16),
       "24 valid bits in a 16-bit sample"},
      {"zero", wav({.sub_tag = 1, .valid_bits = 0}, kSilence16), "0 valid bits in a 16-bit sample"},
      {"partial float", wav({.bits = 32, .sub_tag = 3, .valid_bits = 24}, kSilence16),
       "24 valid bits in a 32-bit sample"},
  });
}

TEST(WavParse, RejectsChannelCountsOtherThanMonoOrStereo) {
  expect_rejected({
      {"zero", wav({.channels = 0}, kSilence16), "0 channels; only mono and stereo are supported"},
      {"three", wav({.channels = 3}, ints({0, 0, 0}, 2)),
       "3 channels; only mono and stereo are supported"},
  });
}

TEST(WavParse, RejectsSampleRatesOutOfRange) {
  expect_rejected({
      {"7999", wav({.sample_rate = 7999}, kSilence16),
       "unsupported sample rate: 7999 Hz; supported: 8000 to 48000 Hz"},
      {"48001", wav({.sample_rate = 48001}, kSilence16), "48001 Hz"},
      {"zero", wav({.sample_rate = 0}, kSilence16), "sample rate: 0 Hz"},
      {"max", wav({.sample_rate = 0xFFFFFFFF}, kSilence16), "4294967295 Hz"},
  });
}

TEST(WavParse, RejectsHeaderArithmeticMismatches) {
  expect_rejected({
      {"block align", wav({.block_align = 3}, kSilence16),
       "block align is 3 but 1 channel(s) of 16-bit samples need 2"},
      {"byte rate", wav({.channels = 2, .byte_rate = 32000}, ints({0, 0}, 2)),
       "byte rate is 32000 but 16000 Hz with 4-byte frames needs 64000"},
      {"partial frame", wav({.channels = 2}, ints({0, 0, 0}, 2)),
       "data chunk holds 6 bytes, not a whole number of 4-byte frames"},
  });
}

TEST(WavParse, RejectsEmptyAudio) {
  Bytes zero_size_then_audio = riff({chunk("fmt ", fmt_body({})), chunk("data", {})});
  append(zero_size_then_audio, kSilence16);
  expect_rejected({
      {"empty data", wav({}, {}), "WAV has no audio frames"},
      // A zero size is taken literally rather than as a streaming placeholder.
      {"zero size then audio", zero_size_then_audio, "WAV has no audio frames"},
  });
}

TEST(WavParse, RejectsNonFiniteFloats) {
  const Fmt f{.tag = 3, .bits = 32};
  expect_rejected({
      {"NaN", wav(f, floats({0.5F, std::nanf("")})), "WAV contains non-finite float samples"},
      {"+inf", wav(f, floats({kInf})), "WAV contains non-finite float samples"},
      {"-inf", wav(f, floats({-kInf, 0})), "WAV contains non-finite float samples"},
  });
}

TEST(WavParse, EveryTruncationIsRejected) {
  const Bytes whole = wav({}, ints({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 2));
  ASSERT_EQ(whole.size(), 44U + 32U);
  ASSERT_EQ(parse_wav(whole).frames(), 16U);
  for (std::size_t size = 0; size <= 60; ++size) {
    SCOPED_TRACE(size);
    EXPECT_FALSE(parse_error(prefix(whole, size)).empty());
  }
}

void mutate(Bytes& bytes, std::mt19937& rng) {
  const auto below = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng);
  };
  // Most interesting fields live in the first 64 bytes, so aim there half of the time.
  const auto offset = [&] {
    return below(below(2) == 0 ? std::min<std::size_t>(bytes.size(), 64) : bytes.size());
  };
  constexpr std::uint32_t kInteresting[] = {0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFE};
  for (std::size_t ops = 1 + below(4); ops > 0 && !bytes.empty(); --ops) {
    switch (below(4)) {
      case 0:
        bytes[offset()] = static_cast<std::byte>(below(256));
        break;
      case 1:
        if (bytes.size() >= 4) {
          const std::uint32_t value = below(2) == 0 ? kInteresting[below(std::size(kInteresting))]
                                                    : static_cast<std::uint32_t>(rng());
          bytes = with_le32(bytes, below(bytes.size() - 3), value);
        }
        break;
      case 2:
        bytes.resize(below(bytes.size()));
        break;
      default:
        bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(offset()), below(9),
                     static_cast<std::byte>(below(256)));
        break;
    }
  }
}

TEST(WavParse, RandomMutationsParseOrThrowWavError) {
  const std::vector<Bytes> seeds = {
      wav({.channels = 2}, ints({1, -1, 300, -300, 32767, -32768}, 2)),
      riff({chunk("LIST", Bytes(3, std::byte{'x'})),
            chunk("fmt ", fmt_body({.bits = 32, .sub_tag = 3})),
            chunk("data", floats({0.25F, -0.5F, 1.0F}))}),
      wav({.bits = 24}, ints({-8388608, 8388607, 5}, 3)),
  };
  std::mt19937 rng(20240601);
  int accepted = 0;
  int rejected = 0;
  for (int i = 0; i < 5000; ++i) {
    Bytes bytes = seeds[static_cast<std::size_t>(i) % seeds.size()];
    mutate(bytes, rng);
    try {
      const WavAudio audio = parse_wav(bytes);
      ++accepted;
      ASSERT_TRUE(audio.channels == 1 || audio.channels == 2);
      ASSERT_GE(audio.sample_rate, 8000);
      ASSERT_LE(audio.sample_rate, 48000);
      ASSERT_GT(audio.frames(), 0U);
      ASSERT_EQ(audio.samples.size(), audio.frames() * static_cast<std::size_t>(audio.channels));
      for (const float s : audio.samples) ASSERT_TRUE(s >= -1.0F && s <= 1.0F) << s;
    } catch (const WavError& e) {
      ++rejected;
      ASSERT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    }
  }
  // Both outcomes must occur, or the mutations are too weak (or too strong) to test anything.
  EXPECT_GT(accepted, 100);
  EXPECT_GT(rejected, 100);
}

TEST(WavEncode, ParseRoundTripWithinOneStep) {
  std::vector<float> samples;
  for (int i = 0; i < 2000; ++i) samples.push_back(std::sin(i * 0.01F) * (i % 2 ? -1.0F : 1.0F));
  samples.push_back(1.0F);
  samples.push_back(-1.0F);
  samples.push_back(0.0F);
  samples.push_back(1e-6F);
  const WavAudio audio = parse_wav(encode_wav_pcm16(samples, 48000, 2));
  EXPECT_EQ(audio.sample_rate, 48000);
  EXPECT_EQ(audio.channels, 2);
  EXPECT_EQ(audio.format, SampleFormat::Pcm16);
  ASSERT_EQ(audio.samples.size(), samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    EXPECT_NEAR(audio.samples[i], samples[i], kPcm16Step) << i;
  }
}

TEST(WavEncode, RoundsToNearestAndClamps) {
  const std::vector<float> in = {1.6F * kPcm16Step,
                                 -1.6F * kPcm16Step,
                                 0.4F * kPcm16Step,
                                 2.0F,
                                 -3.0F,
                                 kInf,
                                 std::nanf(""),
                                 0.5F};
  EXPECT_THAT(parse_wav(encode_wav_pcm16(in, 16000, 1)).samples,
              ElementsAre(2 * kPcm16Step, -2 * kPcm16Step, 0.0F, 32767 * kPcm16Step, -1.0F,
                          32767 * kPcm16Step, 0.0F, 0.5F));
}

TEST(WavEncode, WritesCanonicalHeader) {
  const std::vector<float> samples = {0.5F, -0.5F, 0.0F, 0.25F};
  // Byte-exact, because parse_wav ignores the RIFF size and would not notice it being wrong.
  EXPECT_EQ(encode_wav_pcm16(samples, 22050, 2),
            wav({.channels = 2, .sample_rate = 22050}, ints({16384, -16384, 0, 8192}, 2)));
}

TEST(WavEncode, RejectsParametersParseWouldRefuse) {
  const std::vector<float> samples(6, 0.0F);
  EXPECT_THAT(error_of([&] { encode_wav_pcm16(samples, 16000, 3); }), HasSubstr("3 channels"));
  EXPECT_THAT(error_of([&] { encode_wav_pcm16(samples, 16000, 0); }), HasSubstr("0 channels"));
  EXPECT_THAT(error_of([&] { encode_wav_pcm16(samples, 7999, 1); }), HasSubstr("7999 Hz"));
  EXPECT_THAT(error_of([&] { encode_wav_pcm16(std::span(samples).first(5), 16000, 2); }),
              HasSubstr("5 samples are not a whole number of 2-channel frames"));
}

TEST(WavEncode, RejectsMoreSamplesThanWavCanHold) {
  // Reserve address space without memory: the size check must fire before any sample is read.
  constexpr std::size_t kSamples = std::size_t{1} << 31;
  void* memory = mmap(nullptr, kSamples * sizeof(float), PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (memory == MAP_FAILED) GTEST_SKIP() << "cannot reserve 8 GiB of address space";
  const std::span<const float> huge(static_cast<const float*>(memory), kSamples);
  EXPECT_THAT(error_of([&] { encode_wav_pcm16(huge, 16000, 1); }),
              HasSubstr("samples exceed the 4 GiB limit"));
  munmap(memory, kSamples * sizeof(float));
}

class WavFile : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "voicedesk_wav_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path dir_;
};

TEST_F(WavFile, WriteThenReadRoundTrip) {
  const fs::path path = dir_ / "take.wav";
  write_wav_pcm16(path, std::vector<float>{0.9F, -0.9F}, 8000, 1);
  const std::vector<float> samples = {0.25F, -0.5F, 0.125F, 1.0F};
  write_wav_pcm16(path, samples, 44100, 2);  // replaces the first file
  const WavAudio audio = read_wav(path);
  EXPECT_EQ(audio.sample_rate, 44100);
  EXPECT_EQ(audio.channels, 2);
  EXPECT_THAT(audio.samples, ElementsAre(0.25F, -0.5F, 0.125F, 32767 * kPcm16Step));
  EXPECT_FALSE(fs::exists(dir_ / "take.wav.tmp"));
}

TEST_F(WavFile, WriteErrorsNameThePath) {
  const std::vector<float> samples = {0.0F};
  const fs::path missing_dir = dir_ / "missing" / "x.wav";
  EXPECT_THAT(error_of([&] { write_wav_pcm16(missing_dir, samples, 16000, 1); }),
              AllOf(StartsWith(missing_dir.string() + ": "), HasSubstr("No such file")));

  const fs::path bad_rate = dir_ / "rate.wav";
  EXPECT_THAT(error_of([&] { write_wav_pcm16(bad_rate, samples, 96000, 1); }),
              AllOf(StartsWith(bad_rate.string() + ": "), HasSubstr("96000 Hz")));
  EXPECT_FALSE(fs::exists(bad_rate));
}

TEST_F(WavFile, FailedRenameRemovesTheTempFile) {
  const fs::path occupied = dir_ / "occupied.wav";
  fs::create_directories(occupied / "child");
  EXPECT_THAT(error_of([&] { write_wav_pcm16(occupied, std::vector<float>{0.0F}, 16000, 1); }),
              AllOf(StartsWith(occupied.string() + ": "), HasSubstr("cannot rename")));
  EXPECT_FALSE(fs::exists(dir_ / "occupied.wav.tmp"));
}

TEST_F(WavFile, ReadMissingFileNamesThePath) {
  const fs::path path = dir_ / "nope.wav";
  EXPECT_THAT(error_of([&] { read_wav(path); }),
              AllOf(StartsWith(path.string() + ": "), HasSubstr("file not found")));
}

TEST_F(WavFile, ReadDirectoryNamesThePath) {
  EXPECT_THAT(error_of([&] { read_wav(dir_); }),
              AllOf(StartsWith(dir_.string() + ": "), HasSubstr("is a directory")));
}

TEST_F(WavFile, ReadParseErrorNamesThePath) {
  const fs::path path = dir_ / "notes.wav";
  std::ofstream(path) << "these are meeting notes, not audio";
  EXPECT_EQ(error_of([&] { read_wav(path); }),
            path.string() + ": not a WAV file: missing RIFF header");
}

TEST_F(WavFile, ReadRefusesFilesOver1GiBBeforeReading) {
  const fs::path path = dir_ / "huge.wav";
  std::ofstream(path).put('R');
  fs::resize_file(path, (std::uintmax_t{1} << 30) + 1);  // sparse: costs no disk
  EXPECT_THAT(error_of([&] { read_wav(path); }),
              AllOf(StartsWith(path.string() + ": "), HasSubstr("larger than 1 GiB")));
}

}  // namespace
}  // namespace voicedesk::audio
