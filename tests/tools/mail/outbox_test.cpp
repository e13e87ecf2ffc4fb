#include "tools/mail/outbox.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <thread>

#include "util/temp_dir.hpp"

namespace voicedesk::tools::mail {
namespace {

using namespace std::chrono_literals;
using test_support::TempDir;
using ::testing::HasSubstr;

FormattedMail mail_numbered(int n) {
  return FormattedMail{"<" + std::to_string(n) + "@example.com>",
                       "desk@example.com",
                       {"bob@example.org"},
                       "Subject: " + std::to_string(n) + "\r\n\r\nbody\r\n"};
}

RetryPolicy fast_policy() {
  RetryPolicy policy;
  policy.first_delay = 20ms;
  policy.max_delay = 50ms;
  policy.max_attempts = 3;
  policy.poll_interval = 50ms;
  return policy;
}

// Counts deliveries; thread-safe.
struct Recorder {
  std::atomic<int> deliveries{0};
  DeliverFunction function() {
    return [this](const SmtpMessage&, const std::atomic<bool>&) { ++deliveries; };
  }
};

void run_sql(const std::filesystem::path& db, const std::string& sql) {
  sqlite3* handle = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &handle), SQLITE_OK);
  EXPECT_EQ(sqlite3_exec(handle, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(handle);
  sqlite3_close(handle);
}

TEST(Outbox, OnlyTheLockHolderDelivers) {
  TempDir dir;
  const auto path = dir.path() / "outbox.sqlite3";
  Recorder first;
  Recorder second;
  Outbox owner(path, first.function(), fast_policy());
  std::this_thread::sleep_for(100ms);  // owner's worker takes the lock
  Outbox other(path, second.function(), fast_policy());
  const OutboxEntry entry = other.enqueue(mail_numbered(1));
  const auto done = owner.wait(entry.id, 3s);  // found by polling: other's worker has no lock
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, OutboxState::sent);
  EXPECT_EQ(first.deliveries, 1);
  EXPECT_EQ(second.deliveries, 0);
}

TEST(Outbox, ShutdownBeforeDataPutsTheMailBackWithoutCountingAnAttempt) {
  TempDir dir;
  const auto path = dir.path() / "outbox.sqlite3";
  std::int64_t id = 0;
  {
    std::atomic<bool> delivering{false};
    Outbox outbox(
        path,
        [&](const SmtpMessage&, const std::atomic<bool>& stopping) {
          delivering = true;
          while (!stopping) std::this_thread::sleep_for(1ms);
          throw SmtpError("abandoned before data", false, 0);
        },
        fast_policy());
    id = outbox.enqueue(mail_numbered(1)).id;
    while (!delivering) std::this_thread::sleep_for(1ms);
  }
  Recorder recorder;
  Outbox reopened(path, recorder.function(), fast_policy());
  const auto done = reopened.wait(id, 3s);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->state, OutboxState::sent);
  EXPECT_EQ(done->attempts, 1);
  EXPECT_EQ(done->interrupted, 0);
  EXPECT_EQ(recorder.deliveries, 1);
}

TEST(Outbox, InterruptedRowsAreResentUntilTheyHaveUsedEveryAttempt) {
  TempDir dir;
  const auto path = dir.path() / "outbox.sqlite3";
  {
    Outbox outbox(
        path, [](const SmtpMessage&, const std::atomic<bool>&) {}, fast_policy());
    outbox.enqueue(mail_numbered(1));
    outbox.enqueue(mail_numbered(2));
    while (outbox.pending() > 0) std::this_thread::sleep_for(5ms);
  }
  // As a killed process leaves them: one after its first attempt, one after its last.
  run_sql(path,
          "UPDATE outbox SET state = 'sending', attempts = 1 WHERE id = 1;"
          "UPDATE outbox SET state = 'sending', attempts = 3 WHERE id = 2;");
  Recorder recorder;
  Outbox reopened(path, recorder.function(), fast_policy());
  const auto resent = reopened.wait(1, 3s);
  ASSERT_TRUE(resent);
  EXPECT_EQ(resent->state, OutboxState::sent);
  EXPECT_EQ(resent->interrupted, 1);
  const auto given_up = reopened.status(2);
  ASSERT_TRUE(given_up);
  EXPECT_EQ(given_up->state, OutboxState::failed);
  EXPECT_THAT(given_up->last_error, HasSubstr("interrupted"));
  EXPECT_EQ(recorder.deliveries, 1);
}

TEST(Outbox, RetriesWithBackoffThenSucceeds) {
  TempDir dir;
  std::atomic<int> calls{0};
  std::vector<std::chrono::steady_clock::time_point> times(3);
  Outbox outbox(
      dir.path() / "outbox.sqlite3",
      [&](const SmtpMessage&, const std::atomic<bool>&) {
        const int call = calls++;
        times[static_cast<std::size_t>(call)] = std::chrono::steady_clock::now();
        if (call < 2) throw SmtpError("451 later", false, 451);
      },
      fast_policy());
  const OutboxEntry entry = outbox.enqueue(mail_numbered(1));
  const auto deadline = std::chrono::steady_clock::now() + 3s;
  while (outbox.status(entry.id)->state != OutboxState::sent &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  const OutboxEntry done = *outbox.status(entry.id);
  EXPECT_EQ(done.state, OutboxState::sent);
  EXPECT_EQ(done.attempts, 3);
  EXPECT_EQ(done.last_error, "");
  EXPECT_GE(times[1] - times[0], 20ms);
  EXPECT_GE(times[2] - times[1], 40ms);
}

TEST(Outbox, TheFileIsPrivate) {
  TempDir dir;
  const auto path = dir.path() / "sub" / "outbox.sqlite3";
  Outbox outbox(
      path, [](const SmtpMessage&, const std::atomic<bool>&) {}, fast_policy());
  using std::filesystem::perms;
  EXPECT_EQ(std::filesystem::status(path).permissions() & (perms::group_all | perms::others_all),
            perms::none);
  EXPECT_EQ(std::filesystem::status(path.parent_path()).permissions() &
                (perms::group_all | perms::others_all),
            perms::none);
}

}  // namespace
}  // namespace voicedesk::tools::mail
