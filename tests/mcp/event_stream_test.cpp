#include "mcp/event_stream.hpp"

#include <gtest/gtest.h>

#include <thread>

namespace voicedesk::mcp {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

TEST(EventStream, NumbersEventsAndReturnsThoseAfterASequence) {
  EventStream stream("p1", 16);
  EXPECT_TRUE(stream.send({{"n", 1}}));
  EXPECT_TRUE(stream.send({{"n", 2}}));
  EventStream::Batch all = stream.wait(0, 0ms);
  ASSERT_EQ(all.events.size(), 2u);
  EXPECT_EQ(all.events[0].sequence, 1u);
  EXPECT_EQ(all.events[1].data, R"({"n":2})");
  EXPECT_FALSE(all.finished);
  const EventStream::Batch later = stream.wait(1, 0ms);
  ASSERT_EQ(later.events.size(), 1u);
  EXPECT_EQ(later.events[0].sequence, 2u);
}

TEST(EventStream, KeepsOnlyTheNewestEvents) {
  EventStream stream("p1", 2);
  for (int i = 1; i <= 5; ++i) stream.send({{"n", i}});
  const EventStream::Batch batch = stream.wait(0, 0ms);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events[0].sequence, 4u);
  EXPECT_EQ(batch.events[1].sequence, 5u);
}

TEST(EventStream, FinishEndsTheStreamAndRefusesMore) {
  EventStream stream("p1", 4);
  stream.send({{"n", 1}});
  stream.finish();
  EXPECT_TRUE(stream.finished());
  EXPECT_FALSE(stream.send({{"n", 2}}));
  const EventStream::Batch batch = stream.wait(0, 1s);
  EXPECT_TRUE(batch.finished);
  EXPECT_EQ(batch.events.size(), 1u);
}

TEST(EventStream, WaitWakesForANewEvent) {
  EventStream stream("g", 4);
  std::thread producer([&] {
    std::this_thread::sleep_for(20ms);
    stream.send({{"n", 1}});
  });
  const auto start = std::chrono::steady_clock::now();
  const EventStream::Batch batch = stream.wait(0, 5s);
  producer.join();
  EXPECT_EQ(batch.events.size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(EventStream, ReleaseEndsOneWaitOnly) {
  EventStream stream("p1", 4);
  stream.release_connection();
  EXPECT_TRUE(stream.wait(0, 1s).released);
  EXPECT_FALSE(stream.wait(0, 0ms).released);
}

TEST(EventStream, NewerWriterReplacesTheOlder) {
  EventStream stream("p1", 4);
  const std::uint64_t first = stream.claim_writer();
  const std::uint64_t second = stream.claim_writer();
  EXPECT_FALSE(stream.is_current_writer(first));
  EXPECT_TRUE(stream.is_current_writer(second));
  stream.mark_delivered(3);
  stream.mark_delivered(2);
  EXPECT_EQ(stream.delivered(), 3u);
}

TEST(EventId, FormatsAndParses) {
  EXPECT_EQ(event_id("p3", 12), "p3:12");
  std::string stream;
  std::uint64_t sequence = 0;
  EXPECT_TRUE(parse_event_id("p3:12", stream, sequence));
  EXPECT_EQ(stream, "p3");
  EXPECT_EQ(sequence, 12u);
  EXPECT_TRUE(parse_event_id("a:b:7", stream, sequence));
  EXPECT_EQ(stream, "a:b");
  for (const char* bad :
       {"", "p3", ":12", "p3:", "p3:x", "p3:12x", "p3:-1", "p3:99999999999999999999999"}) {
    EXPECT_FALSE(parse_event_id(bad, stream, sequence)) << bad;
  }
}

}  // namespace
}  // namespace voicedesk::mcp
