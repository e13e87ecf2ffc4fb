#pragma once

#include "tools/tool.hpp"

namespace voicedesk::tools {

// `echo`: returns its `text` argument. The trivial tool `voicedesk mcp
// --bench-tools` serves so that benchmarks measure the protocol, not a tool.
Tool make_echo_tool();

}  // namespace voicedesk::tools
