#pragma once

// Word error rate for checking transcripts against reference text.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace voicedesk::stt {

// The words of `text` as scoring sees them: ASCII lower-cased, any ASCII
// character other than a letter, digit or apostrophe separating words, and
// apostrophes kept only inside a word ("don't", not quotes). Whisper's
// "Americans," and pocketsphinx's "americans" so compare equal. Bytes beyond
// ASCII (UTF-8) are kept as they are.
inline std::vector<std::string> normalized_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  const auto finish_word = [&] {
    const auto first = word.find_first_not_of('\'');
    if (first != std::string::npos) {
      words.push_back(word.substr(first, word.find_last_not_of('\'') - first + 1));
    }
    word.clear();
  };
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x80 || std::isalnum(byte) != 0 || c == '\'') {
      word += static_cast<char>(std::tolower(byte));
    } else {
      finish_word();
    }
  }
  finish_word();
  return words;
}

// (substitutions + deletions + insertions) / reference words, the fewest edits
// turning the normalized reference into the normalized hypothesis. Above 1 when
// the hypothesis inserts many words. An empty reference scores 0 against an
// empty hypothesis and 1 against anything else.
inline double word_error_rate(std::string_view reference, std::string_view hypothesis) {
  const std::vector<std::string> ref = normalized_words(reference);
  const std::vector<std::string> hyp = normalized_words(hypothesis);
  if (ref.empty()) return hyp.empty() ? 0.0 : 1.0;
  // previous[j]: edits from the reference words before row i to the first j hypothesis words.
  std::vector<std::size_t> previous(hyp.size() + 1);
  std::vector<std::size_t> current(hyp.size() + 1);
  std::iota(previous.begin(), previous.end(), std::size_t{0});
  for (std::size_t i = 1; i <= ref.size(); ++i) {
    current[0] = i;
    for (std::size_t j = 1; j <= hyp.size(); ++j) {
      const std::size_t substitution = previous[j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 1);
      current[j] = std::min({substitution, previous[j] + 1, current[j - 1] + 1});
    }
    std::swap(previous, current);
  }
  return static_cast<double>(previous.back()) / static_cast<double>(ref.size());
}

}  // namespace voicedesk::stt
