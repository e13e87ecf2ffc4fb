#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "mcp/recording_outbound.hpp"
#include "tools/tool.hpp"

namespace voicedesk::mcp::test {

// What a blocking tool lets its test observe.
struct BlockingProbe {
  Signal started;
  std::atomic<bool> saw_cancel{false};
  std::atomic<bool> finished{false};
};

// `wait`: tells the probe it started, then waits (up to 5 s) for its
// cancellation flag; returns "cancelled" or "timed out". Not quick, so HTTP
// answers it with an event stream.
inline tools::Tool blocking_tool(std::shared_ptr<BlockingProbe> probe, std::string name = "wait") {
  tools::ToolSpec spec;
  spec.name = std::move(name);
  return {std::move(spec), [probe](const nlohmann::json&, tools::ToolContext& context) {
            probe->started.set();
            const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
            while (!context.cancelled() && std::chrono::steady_clock::now() < give_up) {
              std::this_thread::sleep_for(std::chrono::milliseconds(2));
            }
            probe->saw_cancel = context.cancelled().load();
            probe->finished = true;
            return tools::ToolResult::text(probe->saw_cancel ? "cancelled" : "timed out");
          }};
}

// A tool with the given spec name whose call is fn.
inline tools::Tool make_tool(
    std::string name,
    std::function<tools::ToolResult(const nlohmann::json&, tools::ToolContext&)> fn,
    bool quick = false) {
  tools::ToolSpec spec;
  spec.name = std::move(name);
  spec.quick = quick;
  return {std::move(spec), std::move(fn)};
}

}  // namespace voicedesk::mcp::test
