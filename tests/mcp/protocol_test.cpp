#include "mcp/protocol.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace voicedesk::mcp {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// The RpcError classify() throws for message, or a failure when it accepts it.
RpcError rejection(const json& message) {
  try {
    classify(message);
  } catch (const RpcError& e) {
    return e;
  }
  ADD_FAILURE() << "classify accepted " << message.dump();
  return RpcError(0, "");
}

TEST(ProtocolVersions, NewestFirstAndOnlyTheBatchingVersionAllowsBatches) {
  const auto& versions = supported_protocol_versions();
  ASSERT_FALSE(versions.empty());
  EXPECT_EQ(versions.front(), kLatestProtocolVersion);
  EXPECT_EQ(kLatestProtocolVersion, "2025-11-25");
  // 2024-11-05 for clients of the legacy HTTP+SSE transport.
  for (const char* version : {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}) {
    EXPECT_TRUE(is_supported_protocol_version(version)) << version;
  }
  EXPECT_FALSE(is_supported_protocol_version("2024-10-07"));
  EXPECT_FALSE(is_supported_protocol_version(""));
  EXPECT_TRUE(protocol_allows_batches("2025-03-26"));
  EXPECT_FALSE(protocol_allows_batches("2025-06-18"));
  EXPECT_FALSE(protocol_allows_batches("2025-11-25"));
  EXPECT_FALSE(protocol_allows_batches("2024-11-05"));
}

TEST(ProtocolMessages, BuildersProduceJsonRpc) {
  EXPECT_EQ(make_result(1, {{"a", 1}}),
            json::parse(R"({"jsonrpc":"2.0","id":1,"result":{"a":1}})"));
  EXPECT_EQ(make_error("x", -32601, "nope"),
            json::parse(R"({"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"nope"}})"));
  EXPECT_EQ(make_error(nullptr, -32002, "gone", {{"uri", "u"}})["error"]["data"]["uri"], "u");
  EXPECT_EQ(make_notification("notifications/initialized"),
            json::parse(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  EXPECT_EQ(make_request(7, "ping", json::object()),
            json::parse(R"({"jsonrpc":"2.0","id":7,"method":"ping","params":{}})"));
}

TEST(ProtocolClassify, RequestsNotificationsAndResponses) {
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":1,"method":"ping"})")),
            MessageKind::request);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":"a","method":"ping","params":{}})")),
            MessageKind::request);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","method":"notifications/initialized"})")),
            MessageKind::notification);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":1,"result":{}})")),
            MessageKind::response);
  EXPECT_EQ(classify(json::parse(R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}})")),
            MessageKind::response);
  EXPECT_EQ(
      classify(json::parse(R"({"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"m"}})")),
      MessageKind::response);
}

TEST(ProtocolClassify, RejectsMalformedMessagesSayingWhy) {
  const std::pair<const char*, const char*> cases[] = {
      {R"([1])", "JSON object"},
      {R"("ping")", "JSON object"},
      {R"({"id":1,"method":"ping"})", "\"jsonrpc\" must be \"2.0\""},
      {R"({"jsonrpc":"1.0","id":1,"method":"ping"})", "\"jsonrpc\" must be \"2.0\""},
      {R"({"jsonrpc":2.0,"id":1,"method":"ping"})", "\"jsonrpc\" must be \"2.0\""},
      {R"({"jsonrpc":"2.0","id":null,"method":"ping"})", "\"id\""},
      {R"({"jsonrpc":"2.0","id":1.5,"method":"ping"})", "\"id\""},
      {R"({"jsonrpc":"2.0","id":{"a":1},"method":"ping"})", "\"id\""},
      {R"({"jsonrpc":"2.0","id":[1],"method":"ping"})", "\"id\""},
      {R"({"jsonrpc":"2.0","id":true,"method":"ping"})", "\"id\""},
      {R"({"jsonrpc":"2.0","id":1,"method":5})", "\"method\" must be a string"},
      {R"({"jsonrpc":"2.0","id":1,"method":"ping","params":[1]})", "\"params\" must be an object"},
      {R"({"jsonrpc":"2.0","id":1,"method":"ping","params":"x"})", "\"params\" must be an object"},
      {R"({"jsonrpc":"2.0","id":1})", "needs \"method\""},
      {R"({"jsonrpc":"2.0","id":1,"result":{},"error":{}})", "needs \"method\""},
      {R"({"jsonrpc":"2.0","result":{}})", "a response needs an \"id\""},
      {R"({"jsonrpc":"2.0","id":null,"result":{}})", "\"id\""},
  };
  for (const auto& [text, why] : cases) {
    const RpcError error = rejection(json::parse(text));
    EXPECT_EQ(error.code(), error_code::invalid_request) << text;
    EXPECT_THAT(error.what(), HasSubstr(why)) << text;
  }
}

TEST(ProtocolClassify, RequestIdOfEchoesOnlyUsableIds) {
  EXPECT_EQ(request_id_of(json::parse(R"({"id":3})")), 3);
  EXPECT_EQ(request_id_of(json::parse(R"({"id":"x"})")), "x");
  EXPECT_EQ(request_id_of(json::parse(R"({"id":1.5})")), nullptr);
  EXPECT_EQ(request_id_of(json::parse(R"({"id":{"a":1}})")), nullptr);
  EXPECT_EQ(request_id_of(json::parse(R"({})")), nullptr);
  EXPECT_EQ(request_id_of(json::parse(R"([1])")), nullptr);
}

}  // namespace
}  // namespace voicedesk::mcp
