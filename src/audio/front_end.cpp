#include "audio/front_end.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "audio/resampler.hpp"

namespace voicedesk::audio {
namespace {

// A stretch of one stream's recent samples, addressed by absolute position.
class SampleHistory {
 public:
  void append(std::span<const float> samples) {
    samples_.insert(samples_.end(), samples.begin(), samples.end());
  }
  std::int64_t end() const { return base_ + static_cast<std::int64_t>(samples_.size()); }

  // Copies [from, to) clamped to what is held.
  std::vector<float> slice(std::int64_t from, std::int64_t to) const {
    from = std::clamp(from, base_, end());
    to = std::clamp(to, from, end());
    return {samples_.begin() + (from - base_), samples_.begin() + (to - base_)};
  }

  // Forgets samples before `position`, in batches so that trimming stays
  // amortised O(1) per sample.
  void forget_before(std::int64_t position, std::int64_t batch) {
    const std::int64_t drop = std::min(position, end()) - base_;
    if (drop < batch) return;
    samples_.erase(samples_.begin(), samples_.begin() + drop);
    base_ += drop;
  }

 private:
  std::int64_t base_ = 0;
  std::vector<float> samples_;
};

std::int16_t to_pcm16(float x) {
  const float scaled = std::nearbyint(x * 32768.0f);
  return static_cast<std::int16_t>(std::clamp(scaled, -32768.0f, 32767.0f));
}

constexpr auto kInputFrame = static_cast<std::int64_t>(kInputFrameSamples);
constexpr auto kVadFrame = static_cast<std::int64_t>(kVadFrameSamples);
// 10 ms decisions per 30 ms frame, and how many must say speech.
constexpr std::size_t kSubframes = kVadFrameSamples / VoiceActivityDetector::kFrameSamples;
constexpr std::size_t kSubframesForSpeech = 2;

VadStats measure(const SpeechSegment& segment, std::span<const float> audio) {
  VadStats stats;
  stats.frames = static_cast<int>(segment.speech_end - segment.onset);
  stats.active_frames = segment.active_frames;
  double energy = 0;
  for (float x : audio) {
    stats.peak = std::max(stats.peak, std::abs(x));
    energy += static_cast<double>(x) * x;
  }
  if (!audio.empty() && energy > 0) {
    stats.rms_dbfs = 10.0 * std::log10(energy / static_cast<double>(audio.size()));
  }
  return stats;
}

}  // namespace

struct AudioFrontEnd::Impl {
  Impl(const FrontEndOptions& options, FrontEndHandlers h)
      : handlers(std::move(h)),
        resampler(kInputRate, kVadRate),
        vad(options.vad),
        endpointer(options.endpoint) {}

  void push_mono(std::span<const float> mono);
  void process_block(std::span<const float> block);
  void drain_vad_frames();
  bool judge(std::span<const float> frame);
  void handle(const EndpointerStep& step);
  Utterance utterance_of(const SpeechSegment& segment, std::int64_t detected) const;
  void finish();

  FrontEndHandlers handlers;
  StreamResampler resampler;
  VoiceActivityDetector vad;
  Endpointer endpointer;

  std::vector<float> pending;    // 48 kHz mono not yet a whole 30 ms block
  std::vector<float> resampled;  // 16 kHz not yet a whole 30 ms frame
  std::vector<float> downmix;    // scratch for stereo input
  std::int64_t received = 0;     // 48 kHz samples pushed, per channel
  SampleHistory history_48k;
  SampleHistory history_16k;
  bool finished = false;
};

void AudioFrontEnd::Impl::push_mono(std::span<const float> mono) {
  if (finished) throw std::logic_error("AudioFrontEnd: push after finish");
  received += static_cast<std::int64_t>(mono.size());
  // Whole blocks go straight through; only a remainder is copied aside.
  if (!pending.empty()) {
    const std::size_t take = std::min(mono.size(), kInputFrameSamples - pending.size());
    pending.insert(pending.end(), mono.begin(), mono.begin() + static_cast<std::ptrdiff_t>(take));
    mono = mono.subspan(take);
    if (pending.size() < kInputFrameSamples) return;
    process_block(pending);
    pending.clear();
  }
  while (mono.size() >= kInputFrameSamples) {
    process_block(mono.first(kInputFrameSamples));
    mono = mono.subspan(kInputFrameSamples);
  }
  pending.assign(mono.begin(), mono.end());
}

void AudioFrontEnd::Impl::process_block(std::span<const float> block) {
  history_48k.append(block);
  resampler.process(block, resampled);
  drain_vad_frames();
}

bool AudioFrontEnd::Impl::judge(std::span<const float> frame) {
  std::array<std::int16_t, kVadFrameSamples> pcm;
  std::transform(frame.begin(), frame.end(), pcm.begin(), to_pcm16);
  std::size_t speech = 0;
  for (std::size_t i = 0; i < kSubframes; ++i) {
    const std::span<const std::int16_t, VoiceActivityDetector::kFrameSamples> sub(
        pcm.data() + i * VoiceActivityDetector::kFrameSamples,
        VoiceActivityDetector::kFrameSamples);
    speech += vad.is_speech(sub) ? 1 : 0;
  }
  return speech >= kSubframesForSpeech;
}

void AudioFrontEnd::Impl::drain_vad_frames() {
  std::size_t offset = 0;
  while (resampled.size() - offset >= kVadFrameSamples) {
    const std::span<const float> frame(resampled.data() + offset, kVadFrameSamples);
    offset += kVadFrameSamples;
    history_16k.append(frame);
    const std::int64_t index = endpointer.frames_seen();
    const bool active = judge(frame);
    if (handlers.on_vad_frame) handlers.on_vad_frame(VadFrame{index, active, frame});
    handle(endpointer.push(active));
  }
  resampled.erase(resampled.begin(), resampled.begin() + static_cast<std::ptrdiff_t>(offset));
}

Utterance AudioFrontEnd::Impl::utterance_of(const SpeechSegment& s, std::int64_t detected) const {
  Utterance u;
  u.audio_start = s.audio_begin * kInputFrame;
  u.audio_48k = history_48k.slice(u.audio_start, std::min(s.audio_end * kInputFrame, received));
  u.audio_16k = history_16k.slice(s.audio_begin * kVadFrame, s.audio_end * kVadFrame);
  u.start = std::min(s.onset * kInputFrame, received);
  u.end = std::min(s.speech_end * kInputFrame, received);
  u.detected = detected;
  u.detected_at = std::chrono::steady_clock::now();
  u.reason = s.reason;
  u.stats = measure(s, u.audio_16k);
  return u;
}

void AudioFrontEnd::Impl::handle(const EndpointerStep& step) {
  // A split at max length finishes one utterance and starts the next in the
  // same frame: report the end first.
  const std::int64_t now = std::min(history_48k.end(), received);
  // Withdrawn before anything else, so that a handler never holds two.
  if (step.tentative_withdrawn && handlers.on_tentative_withdrawn) {
    handlers.on_tentative_withdrawn();
  }
  if (step.finished && handlers.on_utterance) {
    Utterance u = utterance_of(*step.finished, now);
    u.as_tentative = step.finished_as_tentative;
    handlers.on_utterance(std::move(u));
  }
  if (step.tentative && handlers.on_tentative_utterance) {
    handlers.on_tentative_utterance(utterance_of(*step.tentative, now));
  }
  if (step.discarded && handlers.on_speech_discarded) {
    handlers.on_speech_discarded(SpeechStarted{step.discarded->onset * kInputFrame, now});
  }
  if (step.onset && handlers.on_speech_started) {
    handlers.on_speech_started(SpeechStarted{*step.onset * kInputFrame, now});
  }
  const std::int64_t keep_from = endpointer.oldest_needed_frame();
  history_48k.forget_before(keep_from * kInputFrame, kInputRate);
  history_16k.forget_before(keep_from * kVadFrame, kVadRate);
}

void AudioFrontEnd::Impl::finish() {
  if (finished) return;
  // Complete the last partial block with silence so every received sample is
  // judged; positions past `received` are clamped away when slicing.
  if (!pending.empty()) {
    pending.resize(kInputFrameSamples, 0.0f);
    process_block(pending);
    pending.clear();
  }
  resampler.flush(resampled);
  const std::size_t partial = resampled.size() % kVadFrameSamples;
  if (partial != 0) resampled.resize(resampled.size() + kVadFrameSamples - partial, 0.0f);
  drain_vad_frames();
  finished = true;
  handle(endpointer.finish());
}

AudioFrontEnd::AudioFrontEnd(const FrontEndOptions& options, FrontEndHandlers handlers)
    : impl_(std::make_unique<Impl>(options, std::move(handlers))) {}
AudioFrontEnd::~AudioFrontEnd() = default;
AudioFrontEnd::AudioFrontEnd(AudioFrontEnd&&) noexcept = default;
AudioFrontEnd& AudioFrontEnd::operator=(AudioFrontEnd&&) noexcept = default;

void AudioFrontEnd::push(std::span<const float> interleaved, int channels) {
  if (channels == 1) {
    impl_->push_mono(interleaved);
    return;
  }
  if (channels != 2) {
    throw std::invalid_argument("AudioFrontEnd: only mono or stereo input, got " +
                                std::to_string(channels) + " channels");
  }
  if (interleaved.size() % 2 != 0) {
    throw std::invalid_argument("AudioFrontEnd: stereo input with an odd sample count");
  }
  std::vector<float>& mono = impl_->downmix;
  mono.resize(interleaved.size() / 2);
  for (std::size_t i = 0; i < mono.size(); ++i) {
    mono[i] = 0.5f * (interleaved[2 * i] + interleaved[2 * i + 1]);
  }
  impl_->push_mono(mono);
}

void AudioFrontEnd::push(std::span<const std::int16_t> interleaved, int channels) {
  // Converted in bounded pieces so a huge push never doubles its memory.
  constexpr std::size_t kPiece = kInputFrameSamples * 2 * 10;
  std::array<float, kPiece> converted;
  const std::size_t step = kPiece - kPiece % static_cast<std::size_t>(std::max(channels, 1));
  for (std::size_t i = 0; i < interleaved.size(); i += step) {
    const std::size_t n = std::min(step, interleaved.size() - i);
    for (std::size_t k = 0; k < n; ++k)
      converted[k] = static_cast<float>(interleaved[i + k]) / 32768.0f;
    push(std::span<const float>(converted.data(), n), channels);
  }
}

void AudioFrontEnd::finish() {
  impl_->finish();
}

std::int64_t AudioFrontEnd::samples_received() const {
  return impl_->received;
}

}  // namespace voicedesk::audio
