#include "stt/whisper_transcriber.hpp"

#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "util/text.hpp"

namespace voicedesk::stt {
namespace {

constexpr float kNever = -std::numeric_limits<float>::infinity();
constexpr double kSecondsPerFrame = 0.01;      // mel hop: 160 samples at 16 kHz
constexpr double kSecondsPerTimestamp = 0.02;  // <|0.00|>, <|0.02|>, ...
constexpr int kFramesPerTimestamp = 2;         // the encoder's stride-2 convolution
// whisper.cpp stops when 100 ms or less of audio remain: too little to decode sensibly.
constexpr int kMinWindowFrames = 10;

// exp in float, which is several times faster than in double over a whole vocabulary per step;
// sums in double.
double log_sum_exp(std::span<const float> logits) {
  const float max = *std::max_element(logits.begin(), logits.end());
  if (max == kNever) return kNever;
  double sum = 0;
  for (const float x : logits) sum += std::exp(x - max);
  return max + std::log(sum);
}

// Adds the time from construction to destruction to `total_ms`.
class ScopedTimer {
 public:
  explicit ScopedTimer(double& total_ms) : total_ms_(total_ms) {}
  ~ScopedTimer() {
    total_ms_ +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
            .count();
  }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  double& total_ms_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace

LogitFilter::LogitFilter(const WhisperModel& model, const TextEncoder& encoder,
                         const DecodeOptions& options)
    : specials_(model.tokens),
      blank_(encoder.find(" ")),
      timestamps_(options.timestamps),
      suppress_blank_(options.suppress_blank) {
  if (options.suppress_non_speech) suppressed_ = non_speech_tokens(encoder);
  for (int id = specials_.eot + 1; id < specials_.timestamp_begin; ++id) suppressed_.push_back(id);
  if (options.max_initial_timestamp > 0) {
    max_initial_timestamp_ =
        static_cast<int>(std::lround(options.max_initial_timestamp / kSecondsPerTimestamp));
  }
}

void LogitFilter::apply(std::span<const int> sampled, std::span<float> logits) const {
  const int n_vocab = static_cast<int>(logits.size());
  const int first_timestamp = specials_.timestamp_begin;
  const auto suppress = [&](int begin, int end) {
    std::fill(logits.begin() + std::min(begin, n_vocab), logits.begin() + std::min(end, n_vocab),
              kNever);
  };

  if (sampled.empty() && suppress_blank_) {
    logits[static_cast<std::size_t>(specials_.eot)] = kNever;
    if (blank_) logits[static_cast<std::size_t>(*blank_)] = kNever;
  }
  for (const int id : suppressed_) logits[static_cast<std::size_t>(id)] = kNever;
  if (!timestamps_) {
    suppress(first_timestamp, n_vocab);
    return;
  }

  const std::size_t n = sampled.size();
  const bool last_was_timestamp = n >= 1 && sampled[n - 1] >= first_timestamp;
  const bool penultimate_was_timestamp = n < 2 || sampled[n - 2] >= first_timestamp;
  if (last_was_timestamp) {
    if (penultimate_was_timestamp) {
      suppress(first_timestamp, n_vocab);  // a segment has just started: text (or the end)
    } else {
      suppress(0, specials_.eot);  // a segment has just ended: the next one's start (or the end)
    }
  }
  const auto last_timestamp = std::find_if(sampled.rbegin(), sampled.rend(),
                                           [&](int token) { return token >= first_timestamp; });
  if (last_timestamp != sampled.rend()) {
    // The next segment may start where the last ended, but a segment's end must follow its start.
    const bool segment_just_ended = last_was_timestamp && !penultimate_was_timestamp;
    suppress(first_timestamp, *last_timestamp + (segment_just_ended ? 0 : 1));
  }
  if (sampled.empty() && max_initial_timestamp_) {
    suppress(first_timestamp + *max_initial_timestamp_ + 1, n_vocab);
  }

  // The normaliser of the log-softmax cancels out of this comparison.
  const auto text = logits.first(static_cast<std::size_t>(first_timestamp));
  const double timestamp_mass = log_sum_exp(logits.subspan(text.size()));
  if (timestamp_mass > *std::max_element(text.begin(), text.end())) suppress(0, first_timestamp);
}

SampledToken sample_token(std::span<const float> logits, float temperature, std::mt19937& rng) {
  const auto best = std::max_element(logits.begin(), logits.end());
  int id = static_cast<int>(best - logits.begin());
  if (temperature > 0) {
    // Inverse transform sampling over the unnormalised weights: one pass to weigh, one to find
    // the draw, without std::discrete_distribution's allocations on every step.
    std::vector<float> weights(logits.size());
    double total = 0;
    for (std::size_t i = 0; i < logits.size(); ++i) {
      weights[i] = std::exp((logits[i] - *best) / temperature);
      total += weights[i];
    }
    double draw = std::uniform_real_distribution<double>(0.0, total)(rng);
    for (std::size_t i = 0; i < weights.size(); ++i) {
      if (weights[i] == 0.0f) continue;
      id = static_cast<int>(i);  // the last candidate absorbs any rounding at the end
      draw -= weights[i];
      if (draw < 0) break;
    }
  }
  return {id, logits[static_cast<std::size_t>(id)] - log_sum_exp(logits)};
}

double compression_ratio(std::string_view text) {
  if (text.empty()) return 0;
  uLongf size = compressBound(static_cast<uLong>(text.size()));
  std::vector<Bytef> compressed(size);
  if (compress2(compressed.data(), &size, reinterpret_cast<const Bytef*>(text.data()),
                static_cast<uLong>(text.size()), Z_DEFAULT_COMPRESSION) != Z_OK) {
    throw TranscribeError("zlib could not compress " + std::to_string(text.size()) + " bytes");
  }
  return static_cast<double>(text.size()) / static_cast<double>(size);
}

bool needs_fallback(const WindowDecoding& decoding, const DecodeOptions& options) {
  const bool too_unlikely = decoding.avg_logprob < options.logprob_threshold;
  if (too_unlikely && decoding.no_speech_prob > options.no_speech_threshold) return false;
  return too_unlikely || decoding.compression_ratio > options.compression_ratio_threshold;
}

bool is_silence(const WindowDecoding& decoding, const DecodeOptions& options) {
  return decoding.no_speech_prob > options.no_speech_threshold &&
         !(decoding.avg_logprob > options.logprob_threshold);
}

WindowSegments split_segments(const WhisperModel& model, std::span<const int> tokens, int seek,
                              int window_frames) {
  const int first_timestamp = model.tokens.timestamp_begin;
  const double offset = seek * kSecondsPerFrame;
  const auto is_timestamp = [&](std::size_t i) { return tokens[i] >= first_timestamp; };
  const auto time_of = [&](int token) {
    return offset + (token - first_timestamp) * kSecondsPerTimestamp;
  };
  WindowSegments result;
  const auto add = [&](double start, double end, std::span<const int> slice) {
    std::string text = detokenize(model, slice);
    if (!util::trim(text, util::kAsciiSpace).empty()) {
      result.segments.push_back({start, end, std::move(text)});
    }
  };

  // Each pair of consecutive timestamps ends one segment and starts the next.
  std::vector<std::size_t> slice_ends;
  for (std::size_t i = 1; i < tokens.size(); ++i) {
    if (is_timestamp(i - 1) && is_timestamp(i)) slice_ends.push_back(i);
  }
  if (slice_ends.empty()) {
    double duration = window_frames * kSecondsPerFrame;
    // Up to the last timestamp, unless that is <|0.00|>.
    const auto last = std::find_if(tokens.rbegin(), tokens.rend(),
                                   [&](int token) { return token >= first_timestamp; });
    if (last != tokens.rend() && *last != first_timestamp) duration = time_of(*last) - offset;
    add(offset, offset + duration, tokens);
    result.advance_frames = window_frames;
    return result;
  }

  const std::size_t n = tokens.size();
  const bool single_timestamp_ending = n >= 2 && !is_timestamp(n - 2) && is_timestamp(n - 1);
  if (single_timestamp_ending) slice_ends.push_back(n);
  std::size_t begin = 0;
  for (const std::size_t end : slice_ends) {
    const double start = is_timestamp(begin) ? time_of(tokens[begin]) : offset;
    add(start, time_of(tokens[end - 1]), tokens.subspan(begin, end - begin));
    begin = end;
  }
  result.advance_frames = single_timestamp_ending
                              ? window_frames
                              : (tokens[begin - 1] - first_timestamp) * kFramesPerTimestamp;
  return result;
}

std::string_view detect_language(const WhisperModel& model, std::span<const float> logits) {
  const auto first = logits.begin() + model.tokens.sot + 1;
  const auto best = std::max_element(first, first + language_count(model));
  return kWhisperLanguages[static_cast<std::size_t>(best - first)];
}

class WhisperTranscriber::Run {
 public:
  Run(const WhisperTranscriber& transcriber, const TranscribeOptions& options)
      : t_(transcriber),
        model_(*transcriber.model_),
        options_(options),
        session_(transcriber.acquire_session()),
        rng_(transcriber.decode_.seed) {}
  ~Run() { t_.release_session(std::move(session_)); }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  DetailedTranscript transcribe(std::span<const float> audio) {
    DetailedTranscript result;
    {
      const ScopedTimer total(timings_.total_ms);
      result = seek_through(audio);
    }
    result.transcript.timings = timings_;
    return result;
  }

 private:
  DetailedTranscript seek_through(std::span<const float> audio) {
    check_cancelled();
    DetailedTranscript result;
    Transcript& transcript = result.transcript;
    transcript.language = options_.language;
    if (!transcript.language.empty()) {
      language_token(model_, transcript.language);  // throws for a language the model lacks
    } else if (!model_.multilingual()) {
      transcript.language = "en";
    }
    const std::vector<int> context = initial_prompt_tokens();

    MelSpectrogram mel;
    {
      const ScopedTimer timer(timings_.mel_ms);
      mel = t_.mel_.compute(audio, t_.threads_);
    }
    const int audio_frames = mel.n_frames_audio;
    const int window = 2 * model_.hparams.n_audio_ctx;
    for (int seek = 0; seek + kMinWindowFrames < audio_frames;) {
      check_cancelled();
      {
        const ScopedTimer timer(timings_.encode_ms);
        t_.engine_.encode(session_, mel.data, mel.n_frames, seek);
      }
      report(static_cast<double>(seek) / audio_frames);
      if (transcript.language.empty()) transcript.language = detect();
      const Prompt prompt =
          build_prompt(seek == 0 ? context : std::vector<int>{}, transcript.language);
      const int window_frames = std::min(window, audio_frames - seek);
      DecodedWindow& decoded = result.windows.emplace_back();
      decoded.seek = seek;
      decoded.decoding = decode_with_fallback(prompt);
      decoded.silence = is_silence(decoded.decoding, t_.decode_);
      if (decoded.silence) {
        seek += window_frames;
        continue;
      }
      WindowSegments split = split_segments(model_, decoded.decoding.tokens, seek, window_frames);
      for (Segment& segment : split.segments) {
        transcript.text += segment.text;
        transcript.segments.push_back(std::move(segment));
      }
      seek += split.advance_frames;
    }
    transcript.text = std::string(util::trim(transcript.text, util::kAsciiSpace));
    report(1.0);
    return result;
  }

  // OpenAI prompts with " " + the stripped text, so that its first word is tokenized as it would be
  // in running speech, keeping the last n_text_ctx / 2 - 1 tokens.
  std::vector<int> initial_prompt_tokens() const {
    const std::string_view text = util::trim(options_.initial_prompt, util::kAsciiSpace);
    if (text.empty()) return {};
    std::vector<int> tokens = t_.encoder_.encode(" " + std::string(text));
    const std::size_t keep = static_cast<std::size_t>(model_.hparams.n_text_ctx / 2 - 1);
    if (tokens.size() > keep) tokens.erase(tokens.begin(), tokens.end() - keep);
    return tokens;
  }

  struct Prompt {
    std::vector<int> tokens;
    std::size_t sot_index = 0;  // of <|startoftranscript|>
  };

  // [<|startofprev|> context...] <|startoftranscript|> [<|lang|> <|transcribe|>]
  // [<|notimestamps|>]
  Prompt build_prompt(const std::vector<int>& context, const std::string& language) const {
    const SpecialTokens& s = model_.tokens;
    Prompt prompt;
    if (!context.empty()) {
      prompt.tokens.push_back(s.prev);
      prompt.tokens.insert(prompt.tokens.end(), context.begin(), context.end());
    }
    prompt.sot_index = prompt.tokens.size();
    prompt.tokens.push_back(s.sot);
    if (model_.multilingual()) {
      prompt.tokens.push_back(language_token(model_, language));
      prompt.tokens.push_back(s.transcribe);
    }
    if (!t_.decode_.timestamps) prompt.tokens.push_back(s.no_timestamps);
    return prompt;
  }

  // One decoder step over <|startoftranscript|> alone, as whisper_lang_auto_detect does.
  std::string detect() {
    const ScopedTimer timer(timings_.decode_ms);
    session_.n_past = 0;
    const int sot = model_.tokens.sot;
    return std::string(detect_language(model_, t_.engine_.decode(session_, {&sot, 1}, false)));
  }

  WindowDecoding decode_with_fallback(const Prompt& prompt) {
    const ScopedTimer timer(timings_.decode_ms);
    // The prompt is decoded once per window: the attempts at each temperature start from its
    // cached keys and values. Two calls give the logits at <|startoftranscript|>, where OpenAI
    // reads the no-speech probability, and after the whole prompt.
    const std::span<const int> tokens = prompt.tokens;
    const std::size_t through_sot = prompt.sot_index + 1;
    session_.n_past = 0;
    std::vector<float> logits = t_.engine_.decode(session_, tokens.first(through_sot), false);
    const double no_speech_prob =
        std::exp(logits[static_cast<std::size_t>(model_.tokens.nosp)] - log_sum_exp(logits));
    if (tokens.size() > through_sot) {
      logits = t_.engine_.decode(session_, tokens.subspan(through_sot), false);
    }
    WindowDecoding decoding;
    for (const float temperature : t_.decode_.temperatures) {
      decoding = decode_at(temperature, tokens.size(), logits);
      decoding.no_speech_prob = no_speech_prob;
      if (!needs_fallback(decoding, t_.decode_)) break;
    }
    return decoding;
  }

  // Samples until <|endoftext|> or Whisper's length limit: n_text_ctx / 2 - 4 tokens, as
  // whisper.cpp counts them (OpenAI allows n_text_ctx / 2), or DecodeOptions::max_tokens when
  // lower, and never past the context.
  WindowDecoding decode_at(float temperature, std::size_t prompt_size,
                           std::span<const float> prompt_logits) {
    const int n_text_ctx = model_.hparams.n_text_ctx;
    int max_tokens = std::min(n_text_ctx / 2 - 4, n_text_ctx - static_cast<int>(prompt_size) + 1);
    if (t_.decode_.max_tokens > 0) max_tokens = std::min(max_tokens, t_.decode_.max_tokens);
    session_.n_past = static_cast<int>(prompt_size);
    std::vector<float> logits(prompt_logits.begin(), prompt_logits.end());
    WindowDecoding decoding;
    decoding.temperature = temperature;
    double sum_logprob = 0;
    while (true) {
      check_cancelled();
      t_.filter_.apply(decoding.tokens, logits);
      const SampledToken token = sample_token(logits, temperature, rng_);
      sum_logprob += token.logprob;
      if (token.id == model_.tokens.eot) break;
      decoding.tokens.push_back(token.id);
      if (static_cast<int>(decoding.tokens.size()) >= max_tokens) break;
      logits = t_.engine_.decode(session_, {&token.id, 1}, false);
    }
    decoding.avg_logprob = sum_logprob / static_cast<double>(decoding.tokens.size() + 1);
    decoding.text = detokenize(model_, decoding.tokens);
    decoding.compression_ratio = compression_ratio(decoding.text);
    return decoding;
  }

  void check_cancelled() const {
    if (options_.cancel != nullptr && options_.cancel->load()) throw Cancelled();
  }

  void report(double fraction) const {
    if (options_.on_progress) options_.on_progress(fraction);
  }

  const WhisperTranscriber& t_;
  const WhisperModel& model_;
  const TranscribeOptions& options_;
  WhisperSession session_;
  std::mt19937 rng_;
  Timings timings_;
};

WhisperTranscriber::WhisperTranscriber(std::shared_ptr<const WhisperModel> model, int threads,
                                       DecodeOptions decode)
    : model_(std::move(model)),
      threads_(std::max(1, threads)),
      decode_(std::move(decode)),
      engine_(model_, threads_),
      mel_(model_->hparams.n_mels, model_->mel_filters),
      encoder_(*model_),
      filter_(*model_, encoder_, decode_) {
  if (decode_.temperatures.empty()) {
    throw std::invalid_argument("DecodeOptions::temperatures must not be empty");
  }
}

WhisperSession WhisperTranscriber::acquire_session() const {
  {
    std::lock_guard lock(idle_mutex_);
    if (!idle_sessions_.empty()) {
      WhisperSession session = std::move(idle_sessions_.back());
      idle_sessions_.pop_back();
      return session;
    }
  }
  return engine_.new_session();
}

void WhisperTranscriber::release_session(WhisperSession session) const noexcept {
  try {
    std::lock_guard lock(idle_mutex_);
    idle_sessions_.push_back(std::move(session));
  } catch (...) {
    // Out of memory: the session is simply freed, and the next call makes a new one.
  }
}

void WhisperTranscriber::warm_up() const {
  WhisperSession session = acquire_session();
  const MelSpectrogram mel = mel_.compute(std::vector<float>(kSampleRate, 0.0f), threads_);
  engine_.encode(session, mel.data, mel.n_frames, 0);
  session.n_past = 0;
  const int sot = model_->tokens.sot;
  engine_.decode(session, {&sot, 1}, false);
  release_session(std::move(session));
}

Transcript WhisperTranscriber::transcribe(std::span<const float> audio_16k,
                                          const TranscribeOptions& options) const {
  return transcribe_detailed(audio_16k, options).transcript;
}

DetailedTranscript WhisperTranscriber::transcribe_detailed(std::span<const float> audio_16k,
                                                           const TranscribeOptions& options) const {
  return Run(*this, options).transcribe(audio_16k);
}

}  // namespace voicedesk::stt
