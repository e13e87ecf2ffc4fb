#pragma once

#include <atomic>

#include "tools/tool.hpp"

namespace voicedesk::tools::test {

// A caller that takes no progress or logs and answers no client requests,
// for calling quick tools directly.
class NullToolContext final : public ToolContext {
 public:
  void progress(double, std::optional<double>, const std::string&) override {}
  void log(LogLevel, const nlohmann::json&) override {}
  nlohmann::json ask_client(const std::string&, const nlohmann::json&) override {
    throw ClientRequestError("no client in this test");
  }
  const std::atomic<bool>& cancelled() const override { return cancelled_; }

 private:
  std::atomic<bool> cancelled_{false};
};

}  // namespace voicedesk::tools::test
