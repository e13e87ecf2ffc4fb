#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace voicedesk::tools::search::test {

// A hand-written answer in the shape of a search service's (tests/tools/search/fixtures).
inline std::string fixture(const std::string& name) {
  std::ifstream in(std::string(SEARCH_FIXTURES_DIR) + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + name);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace voicedesk::tools::search::test
