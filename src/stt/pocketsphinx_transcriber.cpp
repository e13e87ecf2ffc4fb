#include "stt/pocketsphinx_transcriber.hpp"

#include <pocketsphinx.h>
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/err.h>
#include <sphinxbase/feat.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <set>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "util/text.hpp"

namespace voicedesk::stt {
namespace {

using Clock = std::chrono::steady_clock;

// Audio fed to the search between progress reports and cancellation checks.
constexpr double kChunkSeconds = 0.5;
// A silence or noise at least this long ends a segment.
constexpr double kSegmentPauseSeconds = 0.3;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// sphinxbase logs every model parameter and utterance statistic to stderr. We
// silence it but keep each thread's latest error (sphinxbase reports on the
// thread that failed) to put the reason into our exception messages.
thread_local std::array<char, 512> last_sphinx_error{};

void keep_last_error(void* /*user_data*/, err_lvl_t level, const char* format, ...) {
  if (level < ERR_ERROR) return;
  std::va_list args;
  va_start(args, format);
  std::vsnprintf(last_sphinx_error.data(), last_sphinx_error.size(), format, args);
  va_end(args);
}

void quiet_sphinx_logging() {
  static std::once_flag once;
  std::call_once(once, [] {
    // The log file too: ps_init() writes its configuration table straight to it.
    err_set_logfp(nullptr);
    err_set_callback(keep_last_error, nullptr);
  });
}

// ": reason" for the latest sphinxbase error on this thread, or "" if none.
std::string sphinx_reason() {
  std::string message(last_sphinx_error.data());
  // Messages read `ERROR: "file.c", line 42: reason\n`: keep the reason.
  if (const auto line = message.find(", line "); line != std::string::npos) {
    if (const auto colon = message.find(": ", line); colon != std::string::npos) {
      message.erase(0, colon + 2);
    }
  }
  message.resize(util::trim_right(message, util::kAsciiSpace).size());
  return message.empty() ? message : ": " + message;
}

void check(int status, std::string_view action) {
  if (status < 0)
    throw TranscribeError("pocketsphinx failed to " + std::string(action) + sphinx_reason());
}

void throw_if_cancelled(const TranscribeOptions& options) {
  if (options.cancel != nullptr && options.cancel->load()) throw Cancelled();
}

struct ConfigDeleter {
  void operator()(cmd_ln_t* config) const { cmd_ln_free_r(config); }
};
struct DecoderDeleter {
  void operator()(ps_decoder_t* decoder) const { ps_free(decoder); }
};
struct SegmentIteratorDeleter {
  void operator()(ps_seg_t* segment) const { ps_seg_free(segment); }
};
using ConfigPtr = std::unique_ptr<cmd_ln_t, ConfigDeleter>;
using DecoderPtr = std::unique_ptr<ps_decoder_t, DecoderDeleter>;
using SegmentIteratorPtr = std::unique_ptr<ps_seg_t, SegmentIteratorDeleter>;

struct ModelFiles {
  std::filesystem::path dir;
  std::filesystem::path acoustic_model;
  std::filesystem::path language_model;
  std::filesystem::path dictionary;
};

// pocketsphinx reports a missing file only after half a load, in its log, so
// check first and say which package provides them.
ModelFiles find_model(const std::filesystem::path& dir) {
  ModelFiles files{dir, dir / "en-us", dir / "en-us.lm.bin", dir / "cmudict-en-us.dict"};
  for (const auto* path : {&files.acoustic_model, &files.language_model, &files.dictionary}) {
    std::error_code error;
    if (!std::filesystem::exists(*path, error)) {
      throw TranscribeError("pocketsphinx model file missing: " + path->string() +
                            " (the Debian package pocketsphinx-en-us provides it)");
    }
  }
  return files;
}

// Scaled like the WAV reader (x 32768), so 16-bit input comes back exactly.
std::vector<int16> to_pcm16(std::span<const float> audio) {
  std::vector<int16> pcm(audio.size());
  std::transform(audio.begin(), audio.end(), pcm.begin(), [](float sample) {
    if (std::isnan(sample)) return int16{0};
    return static_cast<int16>(std::clamp(std::nearbyint(sample * 32768.0F), -32768.0F, 32767.0F));
  });
  return pcm;
}

// MFCC frames of one utterance as ps_process_cep() takes them: row pointers.
class Cepstra {
 public:
  Cepstra(std::size_t frames, std::size_t dimension) : values_(frames * dimension), rows_(frames) {
    for (std::size_t i = 0; i < frames; ++i) rows_[i] = values_.data() + i * dimension;
  }
  // The rows point into values_: a copy would alias, a move keeps the buffer.
  Cepstra(const Cepstra&) = delete;
  Cepstra& operator=(const Cepstra&) = delete;
  Cepstra(Cepstra&&) = default;
  Cepstra& operator=(Cepstra&&) = default;

  mfcc_t** rows() { return rows_.data(); }
  std::size_t frames() const { return rows_.size(); }
  void truncate(std::size_t frames) { rows_.resize(std::min(frames, rows_.size())); }

 private:
  std::vector<mfcc_t> values_;
  std::vector<mfcc_t*> rows_;
};

// Runs the decoder's own front end over the whole utterance up front, so the
// cepstral mean is known before the search starts (see prime_cmn).
Cepstra compute_cepstra(ps_decoder_t* decoder, std::span<const int16> pcm) {
  fe_t* front_end = ps_get_fe(decoder);
  check(fe_start_utt(front_end), "start the front end");
  int32 frames = 0;
  std::size_t remaining = pcm.size();
  check(fe_process_frames(front_end, nullptr, &remaining, nullptr, &frames, nullptr),
        "size the front end's output");
  // One row more for the frame fe_end_utt() makes of the samples left over.
  Cepstra cepstra(static_cast<std::size_t>(frames) + 1,
                  static_cast<std::size_t>(fe_get_output_size(front_end)));
  const int16* samples = pcm.data();
  remaining = pcm.size();
  check(fe_process_frames(front_end, &samples, &remaining, cepstra.rows(), &frames, nullptr),
        "compute MFCCs");
  int32 last = 0;
  check(fe_end_utt(front_end, cepstra.rows()[frames], &last), "compute MFCCs");
  cepstra.truncate(static_cast<std::size_t>(frames + last));
  return cepstra;
}

// The acoustic model was trained with each utterance's own cepstral mean
// subtracted. Fed in chunks, sphinxbase can only subtract a running mean, which
// starts from a generic prior and carries over from the decoder's previous
// utterance: the first seconds decode against a wrong mean and the result
// depends on which pooled decoder ran what before. Starting the running mean at
// this utterance's mean gives near batch accuracy and makes calls independent.
void prime_cmn(ps_decoder_t* decoder, Cepstra& cepstra) {
  cmn_t* cmn = ps_get_feat(decoder)->cmn_struct;
  const auto width = static_cast<std::size_t>(cmn->veclen);
  std::vector<mfcc_t> mean(width);
  std::size_t counted = 0;
  const auto add = [&](bool zero_energy_too) {
    for (std::size_t f = 0; f < cepstra.frames(); ++f) {
      const mfcc_t* frame = cepstra.rows()[f];
      if (!zero_energy_too && frame[0] < 0) continue;
      for (std::size_t i = 0; i < width; ++i) mean[i] += frame[i];
      ++counted;
    }
  };
  // Like batch CMN, zero-energy frames (c0 < 0) only count when nothing else does.
  add(false);
  if (counted == 0) add(true);
  if (counted == 0) return;
  for (auto& value : mean) value /= static_cast<mfcc_t>(counted);
  cmn_live_set(cmn, mean.data());
}

// Ends the utterance however the search is left: a decoder still inside one
// refuses ps_start_utt(), so a cancelled call would spoil its pooled decoder.
class Utterance {
 public:
  explicit Utterance(ps_decoder_t* decoder) : decoder_(decoder) {
    check(ps_start_utt(decoder_), "start an utterance");
  }
  ~Utterance() {
    if (decoder_ != nullptr) ps_end_utt(decoder_);
  }
  Utterance(const Utterance&) = delete;
  Utterance& operator=(const Utterance&) = delete;

  void end() { check(ps_end_utt(std::exchange(decoder_, nullptr)), "finish the utterance"); }

 private:
  ps_decoder_t* decoder_;
};

// Progress of one decoding pass, mapped onto its share of the whole call.
struct ProgressShare {
  double from = 0;
  double to = 1;
};

// chunk_frames 0: the whole utterance in one call, which pocketsphinx
// normalizes with the whole utterance's mean.
void search(ps_decoder_t* decoder, Cepstra& cepstra, std::size_t chunk_frames,
            const TranscribeOptions& options, ProgressShare share) {
  // Every pass starts from the utterance's own mean, as the first one did.
  prime_cmn(decoder, cepstra);
  Utterance utterance(decoder);
  const std::size_t total = cepstra.frames();
  for (std::size_t fed = 0; fed < total;) {
    throw_if_cancelled(options);
    const bool whole_utterance = chunk_frames == 0;
    const std::size_t count = whole_utterance ? total : std::min(chunk_frames, total - fed);
    check(ps_process_cep(decoder, cepstra.rows() + fed, static_cast<int>(count), FALSE,
                         whole_utterance ? TRUE : FALSE),
          "decode");
    fed += count;
    // 1.0 waits for the end of the utterance, which runs the final passes.
    if (fed < total && options.on_progress) {
      options.on_progress(share.from + (share.to - share.from) * static_cast<double>(fed) /
                                           static_cast<double>(total));
    }
  }
  utterance.end();
  if (share.to < 1 && options.on_progress) options.on_progress(share.to);
}

// <s>, </s>, <sil>, [NOISE], [SPEECH]; other models' filler dictionaries use
// ++NOISE++; a grammar's paths have empty transitions, "(NULL)".
bool is_filler(std::string_view token) {
  return token.starts_with('<') || token.starts_with('[') || token.starts_with("++") ||
         token.starts_with('(');
}

// "read(2)" is the dictionary's second pronunciation of "read".
std::string_view base_word(std::string_view token) {
  if (token.ends_with(')')) {
    if (const auto open = token.rfind('('); open != std::string_view::npos && open > 0) {
      return token.substr(0, open);
    }
  }
  return token;
}

// One entry of the best path: a word or a filler.
struct PathItem {
  std::string token;  // as the dictionary spells it, "read(2)"
  int first_frame = 0;
  int last_frame = 0;         // inclusive
  std::int64_t acoustic = 0;  // acoustic log-likelihood, the search's units

  bool is_word() const { return !is_filler(token); }
  int frames() const { return last_frame - first_frame + 1; }
};

std::vector<PathItem> best_path(ps_decoder_t* decoder) {
  std::vector<PathItem> path;
  SegmentIteratorPtr item(ps_seg_iter(decoder));
  while (item) {
    PathItem entry{.token = ps_seg_word(item.get())};
    ps_seg_frames(item.get(), &entry.first_frame, &entry.last_frame);
    int32 acoustic = 0;
    int32 language = 0;
    int32 backoff = 0;
    ps_seg_prob(item.get(), &acoustic, &language, &backoff);
    entry.acoustic = acoustic;
    path.push_back(std::move(entry));
    item.reset(ps_seg_next(item.release()));  // frees the iterator at the end
  }
  return path;
}

std::vector<std::string> words_of(const std::vector<PathItem>& path) {
  std::vector<std::string> words;
  for (const PathItem& item : path) {
    if (item.is_word()) words.emplace_back(base_word(item.token));
  }
  return words;
}

std::vector<Segment> segments_of(const std::vector<PathItem>& path, double frames_per_second,
                                 double duration) {
  const auto seconds = [&](int frame) { return std::min(frame / frames_per_second, duration); };
  std::vector<Segment> segments;
  bool extend_last = false;
  for (const PathItem& item : path) {
    const double start = seconds(item.first_frame);
    const double end = seconds(item.last_frame + 1);
    if (!item.is_word()) {
      if (end - start >= kSegmentPauseSeconds) extend_last = false;
    } else if (extend_last) {
      segments.back().end = end;
      segments.back().text.append(" ").append(base_word(item.token));
    } else {
      segments.push_back({.start = start, .end = end, .text = std::string(base_word(item.token))});
      extend_last = true;
    }
  }
  return segments;
}

// ---------------------------------------------------------------------------
// The command grammar pass

// The grammar's words must cover at least this share of the speech frames the
// heard words cover: a command forced onto longer speech leaves most of it to
// fillers.
constexpr double kMinGrammarCoverage = 0.8;
// The most the grammar's own words (those not taken from what the language
// model heard) may cost per frame, in acoustic log-likelihood units, against
// the heard words over the same frames. Measured on 14 espeak-ng clips
// (pocketsphinx 0.8, en-us): the 9 commands cost -5 to 15 (the search or
// mail's text as heard); of the 5 that are no command, 3 fit the grammar
// nowhere and 2 cost 39 and more.
constexpr double kMaxCommandPenaltyPerFrame = 30;
// Dictation takes at most this many of the last words heard, which bounds
// the grammar's size (the rule grows with the square of the count).
constexpr std::size_t kMaxDictationWords = 40;

// Words the JSGF parser takes as they are; anything else (none in the en-us
// dictionary today) ends what dictation may use.
bool plain_token(std::string_view word) {
  return !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) != 0 ||
           std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '\'' || c == '.' || c == '-' ||
           c == '_';
  });
}

// <dictation> for one utterance: any run of the words heard that goes on to
// the end (<dictation_k> is "word k, then the rest").
std::string dictation_rule(const std::vector<std::string>& heard) {
  std::size_t first = heard.size() > kMaxDictationWords ? heard.size() - kMaxDictationWords : 0;
  for (std::size_t i = heard.size(); i > first; --i) {
    if (!plain_token(heard[i - 1])) {
      first = i;
      break;
    }
  }
  if (first == heard.size()) return "<dictation> = <VOID>;\n";
  std::string rule = "<dictation> = ";
  std::string tails;
  for (std::size_t i = first; i < heard.size(); ++i) {
    const std::string name = "<dictation_" + std::to_string(i) + ">";
    rule += (i == first ? "" : " | ") + name;
    tails += name + " = " + heard[i] +
             (i + 1 < heard.size() ? " <dictation_" + std::to_string(i + 1) + ">" : "") + ";\n";
  }
  return rule + ";\n" + tails;
}

// The reference the grammar's path is scored against: any sequence of the
// words the language model heard. (The exact sentence heard is no good: its
// forced alignment often loses every path to the end.)
std::string heard_words_grammar(const std::vector<std::string>& heard) {
  std::string jsgf = "#JSGF V1.0;\ngrammar heard;\npublic <heard> = (";
  const std::set<std::string> words(heard.begin(), heard.end());
  for (auto word = words.begin(); word != words.end(); ++word) {
    jsgf += (word == words.begin() ? "" : " | ") + *word;
  }
  return jsgf + ")*;\n";
}

int word_frames(const std::vector<PathItem>& path) {
  int frames = 0;
  for (const PathItem& item : path) {
    if (item.is_word()) frames += item.frames();
  }
  return frames;
}

// The acoustic score of path's items over frames [first, last], each item
// counted by the share of its frames inside.
double acoustic_within(const std::vector<PathItem>& path, int first, int last) {
  double total = 0;
  for (const PathItem& item : path) {
    const int overlap = std::min(item.last_frame, last) - std::max(item.first_frame, first) + 1;
    if (overlap > 0) {
      total += static_cast<double>(item.acoustic) * overlap / static_cast<double>(item.frames());
    }
  }
  return total;
}

// Whether the grammar's path explains the audio about as well as the
// reference path over what the language model heard (see the class comment).
bool grammar_wins(const std::vector<PathItem>& grammar, const std::vector<PathItem>& reference,
                  const std::vector<std::string>& heard) {
  if (word_frames(grammar) < kMinGrammarCoverage * word_frames(reference)) return false;
  // The grammar's own words: all but the end it shares with what was heard
  // (dictation, or a command's last words heard right).
  std::vector<const PathItem*> own;
  for (const PathItem& item : grammar) {
    if (item.is_word()) own.push_back(&item);
  }
  auto heard_word = heard.rbegin();
  while (!own.empty() && heard_word != heard.rend() &&
         base_word(own.back()->token) == *heard_word) {
    own.pop_back();
    ++heard_word;
  }
  if (own.empty()) return true;
  const int first = own.front()->first_frame;
  const int last = own.back()->last_frame;
  const double penalty =
      (acoustic_within(reference, first, last) - acoustic_within(grammar, first, last)) /
      (last - first + 1);
  return penalty <= kMaxCommandPenaltyPerFrame;
}

}  // namespace

class PocketsphinxTranscriber::Pool {
 public:
  Pool(const std::filesystem::path& model_dir, std::size_t max_decoders,
       int grammar_searches_per_decoder)
      : files_(find_model(model_dir)),
        max_decoders_(max_decoders != 0 ? max_decoders
                                        : std::max(1U, std::thread::hardware_concurrency())),
        grammar_searches_per_decoder_(grammar_searches_per_decoder) {
    // Reserved so that give_back(), which runs in destructors, cannot throw.
    idle_.reserve(max_decoders_);
    idle_.push_back({create()});
    created_ = 1;
    ps_decoder_t* first = idle_[0].decoder.get();
    frames_per_second_ = static_cast<double>(cmd_ln_int32_r(ps_get_config(first), "-frate"));
    language_model_search_ = ps_get_search(first);
  }

  struct Pooled {
    DecoderPtr decoder;
    int grammar_searches = 0;  // set on it so far
  };

  // A decoder lent to one transcription, returned to the pool when it goes out of scope.
  class Lease {
   public:
    Lease(Pool& pool, Pooled pooled) : pool_(pool), pooled_(std::move(pooled)) {}
    ~Lease() { pool_.give_back(std::move(pooled_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    ps_decoder_t* get() const { return pooled_.decoder.get(); }
    void count_grammar_search() { ++pooled_.grammar_searches; }

   private:
    Pool& pool_;
    Pooled pooled_;
  };

  // Waits while all max_decoders are lent. Sets load_ms to the time spent
  // creating a decoder, 0 when an idle one was reused.
  Lease acquire(double& load_ms) {
    std::unique_lock lock(mutex_);
    returned_.wait(lock, [&] { return !idle_.empty() || created_ < max_decoders_; });
    if (!idle_.empty()) {
      Pooled pooled = std::move(idle_.back());
      idle_.pop_back();
      load_ms = 0;
      return Lease(*this, std::move(pooled));
    }
    ++created_;  // claims the slot; loading takes long, so without the lock
    lock.unlock();
    try {
      const auto start = Clock::now();
      DecoderPtr decoder = create();
      load_ms = ms_since(start);
      return Lease(*this, {std::move(decoder)});
    } catch (...) {
      release_slot();
      throw;
    }
  }

  double frames_per_second() const { return frames_per_second_; }
  // The name of each decoder's search with the language model, its first one.
  const char* language_model_search() const { return language_model_search_.c_str(); }

 private:
  DecoderPtr create() const {
    // Loading touches sphinxbase's process-wide state (logging, the front
    // end's warp parameters), so one load at a time in the whole process.
    static std::mutex loading;
    const std::lock_guard lock(loading);
    quiet_sphinx_logging();
    last_sphinx_error[0] = '\0';
    // Voice activity detection stays off: it drops silent frames from the
    // features, which shifts every later word's time, and the search copes
    // with silence anyway.
    const ConfigPtr config(
        cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", files_.acoustic_model.c_str(), "-lm",
                    files_.language_model.c_str(), "-dict", files_.dictionary.c_str(),
                    "-remove_silence", "no", nullptr));
    if (!config) throw TranscribeError("pocketsphinx rejected its configuration" + sphinx_reason());
    DecoderPtr decoder(ps_init(config.get()));  // holds its own reference to config
    if (!decoder) {
      throw TranscribeError("pocketsphinx could not load the model in " + files_.dir.string() +
                            sphinx_reason());
    }
    return decoder;
  }

  void release_slot() {
    {
      const std::lock_guard lock(mutex_);
      --created_;
    }
    returned_.notify_one();
  }

  void give_back(Pooled pooled) noexcept {
    if (pooled.grammar_searches >= grammar_searches_per_decoder_) {
      retire(std::move(pooled.decoder));
      return;
    }
    {
      const std::lock_guard lock(mutex_);
      idle_.push_back(std::move(pooled));
    }
    returned_.notify_one();
  }

  // Frees a worn-out decoder and loads its replacement on a thread of its
  // own, which keeps the slot claimed until the new decoder is idle.
  void retire(DecoderPtr worn) noexcept {
    worn.reset();
    std::vector<std::jthread> earlier;
    {
      const std::lock_guard lock(mutex_);
      earlier.swap(replacers_);
    }
    earlier.clear();  // joins replacements started long ago
    try {
      std::jthread replacer([this] { replace(); });
      const std::lock_guard lock(mutex_);
      replacers_.push_back(std::move(replacer));
    } catch (...) {
      release_slot();  // the next call loads one instead
    }
  }

  void replace() noexcept {
    try {
      DecoderPtr fresh = create();
      {
        const std::lock_guard lock(mutex_);
        idle_.push_back({std::move(fresh)});
      }
      returned_.notify_one();
    } catch (...) {
      release_slot();
    }
  }

  const ModelFiles files_;
  const std::size_t max_decoders_;
  const int grammar_searches_per_decoder_;
  double frames_per_second_ = 0;
  std::string language_model_search_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<Pooled> idle_;
  std::size_t created_ = 0;  // idle, lent or being replaced
  // Last, so destroyed (joined) first, while what they use still exists.
  std::vector<std::jthread> replacers_;
};

std::filesystem::path PocketsphinxTranscriber::default_model_dir() {
  return VOICEDESK_POCKETSPHINX_MODEL_DIR;
}

namespace {

constexpr const char* kCommandSearch = "command";
constexpr const char* kHeardSearch = "heard";

// Adds (or replaces) a grammar search. The decoder must have another search
// selected: replacing the selected one would leave it pointing at freed memory.
void add_grammar_search(ps_decoder_t* decoder, const char* name, const std::string& jsgf) {
  check(ps_set_jsgf_string(decoder, name, jsgf.c_str()),
        std::string("compile the ") + name + " grammar");
}

}  // namespace

PocketsphinxTranscriber::PocketsphinxTranscriber(std::filesystem::path model_dir,
                                                 std::size_t max_decoders,
                                                 int grammar_searches_per_decoder)
    : pool_(std::make_unique<Pool>(model_dir, max_decoders, grammar_searches_per_decoder)) {}

void PocketsphinxTranscriber::set_command_grammar(std::optional<CommandGrammar> grammar) {
  if (grammar) {
    // A grammar that does not compile fails here, not on the next utterance.
    double load_ms = 0;
    Pool::Lease lease = pool_->acquire(load_ms);
    last_sphinx_error[0] = '\0';
    add_grammar_search(lease.get(), kCommandSearch, grammar->jsgf + dictation_rule({}));
    lease.count_grammar_search();
  }
  auto next = grammar ? std::make_shared<const CommandGrammar>(std::move(*grammar)) : nullptr;
  const std::lock_guard lock(grammar_mutex_);
  grammar_ = std::move(next);
}

std::shared_ptr<const PocketsphinxTranscriber::CommandGrammar>
PocketsphinxTranscriber::command_grammar() const {
  const std::lock_guard lock(grammar_mutex_);
  return grammar_;
}

PocketsphinxTranscriber::~PocketsphinxTranscriber() = default;

bool PocketsphinxTranscriber::in_vocabulary(std::string_view word) const {
  double load_ms = 0;
  const Pool::Lease lease = pool_->acquire(load_ms);
  char* phones = ps_lookup_word(lease.get(), std::string(word).c_str());
  ckd_free(phones);
  return phones != nullptr;
}

Transcript PocketsphinxTranscriber::transcribe(std::span<const float> audio_16k,
                                               const TranscribeOptions& options) const {
  const auto started = Clock::now();
  if (!options.language.empty() && options.language != "en") {
    throw TranscribeError("pocketsphinx fallback only supports English, not \"" + options.language +
                          "\"");
  }
  throw_if_cancelled(options);
  last_sphinx_error[0] = '\0';

  Transcript transcript;
  transcript.language = "en";
  const std::shared_ptr<const CommandGrammar> grammar = command_grammar();
  Pool::Lease lease = pool_->acquire(transcript.timings.load_ms);
  ps_decoder_t* decoder = lease.get();
  // A new stream resets the noise estimate and numbers frames from 0, so no
  // call depends on what the pooled decoder decoded before.
  check(ps_start_stream(decoder), "start a stream");

  const auto mel_start = Clock::now();
  Cepstra cepstra = compute_cepstra(decoder, to_pcm16(audio_16k));
  transcript.timings.mel_ms = ms_since(mel_start);

  const auto decode_start = Clock::now();
  const double frames_per_second = pool_->frames_per_second();
  const auto chunk_frames =
      static_cast<std::size_t>(std::max(1.0, std::round(kChunkSeconds * frames_per_second)));
  // The grammar searches get the whole utterance in one call: fed in chunks,
  // they lost every path to the grammar's end on some clips (schedule-meeting.wav).
  const auto decode = [&](const char* search_name, std::size_t frames_per_call,
                          ProgressShare share) {
    check(ps_set_search(decoder, search_name), "select a search");
    search(decoder, cepstra, frames_per_call, options, share);
    return best_path(decoder);
  };
  // A cancelled or failed pass must not leave a grammar search selected (see add_grammar_search).
  struct SelectLanguageModelAfterwards {
    ps_decoder_t* decoder;
    const char* search_name;
    ~SelectLanguageModelAfterwards() { ps_set_search(decoder, search_name); }
  } restore{decoder, pool_->language_model_search()};

  // The grammar passes are short: the language model's takes most of the time.
  const double language_model_share = grammar ? 0.7 : 1.0;
  std::vector<PathItem> path =
      decode(pool_->language_model_search(), chunk_frames, {0, language_model_share});
  const std::vector<std::string> heard = words_of(path);
  if (grammar && !heard.empty()) {
    add_grammar_search(decoder, kCommandSearch, grammar->jsgf + dictation_rule(heard));
    lease.count_grammar_search();
    std::vector<PathItem> command = decode(kCommandSearch, 0, {language_model_share, 0.85});
    const std::vector<std::string> command_words = words_of(command);
    if (!command_words.empty() && command_words != heard) {
      add_grammar_search(decoder, kHeardSearch, heard_words_grammar(heard));
      lease.count_grammar_search();
      const std::vector<PathItem> reference = decode(kHeardSearch, 0, {0.85, 1.0});
      if (grammar_wins(command, reference, heard)) {
        path = std::move(command);
        transcript.command_grammar = true;
      }
    }
  }
  if (options.on_progress) options.on_progress(1.0);
  transcript.segments =
      segments_of(path, frames_per_second, static_cast<double>(audio_16k.size()) / kSampleRate);
  transcript.timings.decode_ms = ms_since(decode_start);

  for (const Segment& segment : transcript.segments) {
    if (!transcript.text.empty()) transcript.text += ' ';
    transcript.text += segment.text;
  }
  transcript.timings.total_ms = ms_since(started);
  return transcript;
}

}  // namespace voicedesk::stt
