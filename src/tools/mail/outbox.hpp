#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tools/mail/message.hpp"
#include "tools/mail/smtp_client.hpp"

namespace voicedesk::util::sqlite {
class Database;
}

namespace voicedesk::tools::mail {

// A durable SMTP outbox: a SQLite table of formatted messages and one worker
// thread that delivers them.
//
// Durability. enqueue() returns once the row is committed (WAL, synchronous
// FULL), so a message accepted by the tool survives a crash, a restart or an
// SMTP server that is down: rows still queued are picked up when an Outbox
// opens the file again. The message is formatted once, at enqueue: its Date
// and Message-ID are stored in the row, and every attempt sends the same
// bytes.
//
// States: queued -> sending -> sent | failed, or back to queued for a retry.
// A 5xx reply, a refused login or a TLS verification failure fails the
// message at once; a 4xx reply or a network error retries with exponential
// backoff (RetryPolicy), up to max_attempts.
//
// Duplicates. The worker commits `sending` (and counts the attempt) before it
// opens the SMTP session, and commits `sent` right after the server's 250 to
// the end of data. Exactly-once delivery to an external SMTP server is
// impossible in general: if the process dies after the server accepted the
// message but before our commit (RFC 1047's window; the same happens if the
// connection drops while we wait for that 250), nothing on our side can know
// whether the server has the message. The choice for a row found in `sending`
// when an outbox opens is therefore between losing a mail and maybe sending
// it twice, and we resend, because:
//  - the window is small: it is the round trip of the final 250 plus one
//    SQLite commit, while a kill or crash almost always lands during
//    connect, TLS, AUTH or the data transfer, and a server takes
//    responsibility for a message only with that 250 (RFC 5321 6.1): one
//    that lost the connection before it discards the transaction, so the
//    resend is the only copy;
//  - a resend carries the same Message-ID (and Date), so in the rare case it
//    is a duplicate it is recognizably the same message: Gmail and MDAs with
//    duplicate suppression (Sieve "duplicate", procmail's formail -D) drop it,
//    and a reader sees the same mail twice, not two different mails;
//  - a lost mail is silent, a duplicate is visible.
// Such rows count the interruption (OutboxEntry::interrupted), so a status
// query can say "possibly delivered twice"; a row found interrupted after its
// last allowed attempt is failed instead (a message that crashes the process
// must not loop). A connection lost after all data went out and before the
// 250 is the same doubt seen from a live process: it is retried like any
// network error, and its last_error says the retry may duplicate.
//
// One deliverer per file. The worker takes an exclusive flock on
// "<db>.lock" before it recovers `sending` rows or delivers anything, so two
// processes (or two Outbox objects) sharing a file never send the same row or
// mistake each other's in-flight rows for interrupted ones. The lock goes with
// the process, so a killed owner's rows are recovered by the next one. An
// outbox without the lock still enqueues; the owner's worker finds those rows
// within poll_interval.
//
// Retention. Sent and failed rows are kept for status queries and deleted
// kKeepFinished after their last change, when a deliverer takes the lock.
//
// Shutdown. The destructor stops the worker and joins it. An SMTP session that
// has not begun sending message data is abandoned (nothing reaches the
// server; the row goes back to queued); one that has runs to its end,
// bounded by the SMTP timeout, so shutdown itself never creates the
// duplicate window.

inline constexpr std::chrono::hours kKeepFinished{24 * 30};

enum class OutboxState { queued, sending, sent, failed };
const char* to_string(OutboxState state);

struct OutboxEntry {
  std::int64_t id = 0;
  std::string message_id;  // "<...>"
  OutboxState state = OutboxState::queued;
  int attempts = 0;     // delivery attempts begun
  int interrupted = 0;  // attempts cut off by a crash or kill and resent
  std::string last_error;
  std::vector<std::string> recipients;
};

struct RetryPolicy {
  std::chrono::milliseconds first_delay{5000};  // after the first failed attempt
  std::chrono::milliseconds max_delay{std::chrono::minutes(10)};
  int max_attempts = 8;
  // How often the worker looks for rows another process queued, and for the
  // lock when another process holds it.
  std::chrono::milliseconds poll_interval{2000};
};

// Storage or lock failure (the file cannot be opened, the disk is full).
class OutboxError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Delivers one message or throws SmtpError; stopping turns true at shutdown
// (see send_smtp's abort_before_data).
using DeliverFunction = std::function<void(const SmtpMessage&, const std::atomic<bool>& stopping)>;

class Outbox {
 public:
  // Opens (creating, mode 0600, a missing parent directory 0700) the database and
  // starts the worker. Throws OutboxError.
  Outbox(std::filesystem::path path, DeliverFunction deliver, RetryPolicy policy = {});
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Stores mail as queued and wakes the worker. Throws OutboxError.
  OutboxEntry enqueue(const FormattedMail& mail);
  std::optional<OutboxEntry> status(std::int64_t id) const;
  // Waits up to timeout for the entry to be sent or failed, or for its first
  // attempt to fail for now (queued again with a last_error); returns the
  // entry as it then is.
  std::optional<OutboxEntry> wait(std::int64_t id, std::chrono::milliseconds timeout) const;
  // Rows neither sent nor failed.
  int pending() const;

 private:
  struct Claim {
    std::int64_t id;
    int attempts;
    SmtpMessage message;
  };

  void run_worker();
  bool try_take_lock();
  void recover_interrupted();
  void delete_old_finished();
  std::optional<Claim> claim_due(std::chrono::system_clock::time_point& next_due);
  void record_result(const Claim& claim, const SmtpError* error);

  std::filesystem::path path_;
  DeliverFunction deliver_;
  RetryPolicy policy_;
  std::unique_ptr<util::sqlite::Database> db_;  // guarded by mutex_
  int lock_fd_ = -1;  // the deliverer's flock, held from first success to destruction
  mutable std::mutex mutex_;
  mutable std::condition_variable wake_;     // worker: new row, or stop
  mutable std::condition_variable changed_;  // waiters: a row changed state
  bool work_waiting_ = false;  // guarded by mutex_: enqueue() since the worker last looked
  std::atomic<bool> stopping_{false};
  std::thread worker_;
};

}  // namespace voicedesk::tools::mail
