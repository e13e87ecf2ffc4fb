#include "tools/mail/outbox.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util/sqlite.hpp"

namespace voicedesk::tools::mail {
namespace {

using util::sqlite::Database;
using util::sqlite::SqliteError;
using util::sqlite::Statement;
using util::sqlite::Transaction;

using Clock = std::chrono::system_clock;

std::int64_t to_ms(Clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

// A due time in whole milliseconds, rounded up: a retry never comes before its delay has passed.
std::int64_t due_ms(Clock::time_point time) {
  return std::chrono::ceil<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

Clock::time_point from_ms(std::int64_t ms) {
  return Clock::time_point(std::chrono::milliseconds(ms));
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS outbox (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id TEXT NOT NULL UNIQUE,
  envelope_from TEXT NOT NULL,
  recipients TEXT NOT NULL,
  raw BLOB NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
  attempts INTEGER NOT NULL DEFAULT 0,
  interrupted INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
)sql";

OutboxState parse_state(std::string_view text) {
  if (text == "sending") return OutboxState::sending;
  if (text == "sent") return OutboxState::sent;
  if (text == "failed") return OutboxState::failed;
  return OutboxState::queued;
}

std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : "\n") + item;
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> items;
  for (std::size_t start = 0; start < text.size();) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    items.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return items;
}

constexpr const char* kSelectEntry =
    "SELECT id, message_id, state, attempts, interrupted, last_error, recipients FROM outbox "
    "WHERE id = ?";

OutboxEntry read_entry(const Statement& row) {
  OutboxEntry entry;
  entry.id = row.int64(0);
  entry.message_id = row.text(1);
  entry.state = parse_state(row.text(2));
  entry.attempts = static_cast<int>(row.int64(3));
  entry.interrupted = static_cast<int>(row.int64(4));
  entry.last_error = row.text(5);
  entry.recipients = split_lines(row.text(6));
  return entry;
}

// The outbox's callers see OutboxError for every storage failure.
template <typename Function>
auto translate_errors(Function&& function) {
  try {
    return function();
  } catch (const SqliteError& e) {
    throw OutboxError(std::string("outbox database: ") + e.what());
  }
}

bool settled(const OutboxEntry& entry) {
  return entry.state == OutboxState::sent || entry.state == OutboxState::failed ||
         (entry.state == OutboxState::queued && entry.attempts > 0);
}

}  // namespace

const char* to_string(OutboxState state) {
  switch (state) {
    case OutboxState::queued:
      return "queued";
    case OutboxState::sending:
      return "sending";
    case OutboxState::sent:
      return "sent";
    case OutboxState::failed:
      return "failed";
  }
  return "queued";
}

Outbox::Outbox(std::filesystem::path path, DeliverFunction deliver, RetryPolicy policy)
    : path_(std::move(path)), deliver_(std::move(deliver)), policy_(policy) {
  translate_errors([this] {
    // The messages are private: the file is created 0600 (OpenMode::create_private).
    db_ = std::make_unique<Database>(path_);
    db_->enable_wal();
    db_->exec("PRAGMA synchronous = FULL");  // a committed enqueue survives power loss too
    db_->exec(kSchema);
  });
  worker_ = std::thread([this] { run_worker(); });
}

Outbox::~Outbox() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  worker_.join();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

OutboxEntry Outbox::enqueue(const FormattedMail& mail) {
  std::int64_t id = 0;
  translate_errors([&] {
    std::lock_guard lock(mutex_);
    const std::int64_t now = to_ms(Clock::now());
    Statement insert(
        *db_,
        "INSERT INTO outbox (message_id, envelope_from, recipients, raw, state, "
        "created_at, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)");
    insert.bind(1, mail.message_id)
        .bind(2, mail.envelope_from)
        .bind(3, join_lines(mail.recipients))
        .bind_blob(4, mail.raw)
        .bind(5, now)
        .bind(6, now)
        .bind(7, now);
    insert.step();
    id = db_->last_insert_rowid();
    work_waiting_ = true;
  });
  wake_.notify_all();
  OutboxEntry entry;
  entry.id = id;
  entry.message_id = mail.message_id;
  entry.recipients = mail.recipients;
  return entry;
}

std::optional<OutboxEntry> Outbox::status(std::int64_t id) const {
  return translate_errors([&]() -> std::optional<OutboxEntry> {
    std::lock_guard lock(mutex_);
    Statement select(*db_, kSelectEntry);
    select.bind(1, id);
    if (!select.step()) return std::nullopt;
    return read_entry(select);
  });
}

std::optional<OutboxEntry> Outbox::wait(std::int64_t id, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  return translate_errors([&]() -> std::optional<OutboxEntry> {
    std::unique_lock lock(mutex_);
    while (true) {
      Statement select(*db_, kSelectEntry);
      select.bind(1, id);
      if (!select.step()) return std::nullopt;
      OutboxEntry entry = read_entry(select);
      const auto now = std::chrono::steady_clock::now();
      if (settled(entry) || now >= deadline) return entry;
      // Another process may deliver it: look again now and then, not only on notifications.
      changed_.wait_until(lock, std::min(deadline, now + policy_.poll_interval));
    }
  });
}

int Outbox::pending() const {
  return translate_errors([&] {
    std::lock_guard lock(mutex_);
    Statement count(*db_, "SELECT COUNT(*) FROM outbox WHERE state IN ('queued', 'sending')");
    count.step();
    return static_cast<int>(count.int64(0));
  });
}

bool Outbox::try_take_lock() {
  if (lock_fd_ < 0) {
    const std::string lock_path = path_.string() + ".lock";
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd_ < 0) throw OutboxError("cannot open " + lock_path + ": " + std::strerror(errno));
  }
  return ::flock(lock_fd_, LOCK_EX | LOCK_NB) == 0;
}

void Outbox::recover_interrupted() {
  const std::int64_t now = to_ms(Clock::now());
  Transaction transaction(*db_);
  Statement give_up(*db_,
                    "UPDATE outbox SET state = 'failed', interrupted = interrupted + 1, "
                    "updated_at = ?, last_error = 'delivery was interrupted ' || (interrupted + 1) "
                    "|| ' times (the process stopped during it); not trying again' "
                    "WHERE state = 'sending' AND attempts >= ?");
  give_up.bind(1, now).bind(2, static_cast<std::int64_t>(policy_.max_attempts));
  give_up.step();
  Statement resend(*db_,
                   "UPDATE outbox SET state = 'queued', interrupted = interrupted + 1, "
                   "next_attempt_at = ?, updated_at = ?, last_error = 'the previous delivery "
                   "attempt was interrupted (the process stopped during it); resending with the "
                   "same Message-ID' WHERE state = 'sending'");
  resend.bind(1, now).bind(2, now);
  resend.step();
  const int recovered = db_->changes();
  transaction.commit();
  if (recovered > 0) {
    spdlog::warn(
        "mail outbox: {} message(s) were being sent when the last process stopped; "
        "resending them with their Message-IDs",
        recovered);
  }
}

void Outbox::delete_old_finished() {
  Statement remove(*db_, "DELETE FROM outbox WHERE state IN ('sent', 'failed') AND updated_at < ?");
  remove.bind(1, to_ms(Clock::now() - kKeepFinished));
  remove.step();
}

std::optional<Outbox::Claim> Outbox::claim_due(Clock::time_point& next_due) {
  const std::int64_t now = to_ms(Clock::now());
  Transaction transaction(*db_);
  Statement due(*db_,
                "SELECT id, attempts, envelope_from, recipients, raw, next_attempt_at FROM outbox "
                "WHERE state = 'queued' ORDER BY next_attempt_at, id LIMIT 1");
  if (!due.step()) {
    next_due = Clock::time_point::max();
    return std::nullopt;
  }
  if (due.int64(5) > now) {
    next_due = from_ms(due.int64(5));
    return std::nullopt;
  }
  Claim claim{due.int64(0), static_cast<int>(due.int64(1)) + 1,
              SmtpMessage{due.text(2), split_lines(due.text(3)), due.text(4)}};
  Statement mark(*db_,
                 "UPDATE outbox SET state = 'sending', attempts = attempts + 1, updated_at = ? "
                 "WHERE id = ?");
  mark.bind(1, now).bind(2, claim.id);
  mark.step();
  transaction.commit();  // `sending` is durable before the SMTP session opens
  return claim;
}

void Outbox::record_result(const Claim& claim, const SmtpError* error) {
  const Clock::time_point now = Clock::now();
  std::string state = "sent";
  std::string last_error;
  std::int64_t attempts = claim.attempts;
  Clock::time_point next_attempt = now;
  if (error != nullptr) {
    last_error = error->what();
    if (stopping_ && !error->permanent()) {
      state = "queued";  // abandoned before any data for shutdown: not an attempt
      --attempts;
    } else if (error->permanent()) {
      state = "failed";
    } else if (claim.attempts >= policy_.max_attempts) {
      state = "failed";
      last_error = "gave up after " + std::to_string(claim.attempts) +
                   " attempts; last error: " + last_error;
    } else {
      state = "queued";
      const auto delay = std::min<std::chrono::milliseconds>(
          policy_.max_delay, policy_.first_delay * (1LL << std::min(claim.attempts - 1, 30)));
      next_attempt = now + delay;
    }
  }
  Statement update(
      *db_,
      "UPDATE outbox SET state = ?, attempts = ?, last_error = ?, next_attempt_at = ?, "
      "updated_at = ? WHERE id = ?");
  update.bind(1, state)
      .bind(2, attempts)
      .bind(3, last_error)
      .bind(4, due_ms(next_attempt))
      .bind(5, to_ms(now))
      .bind(6, claim.id);
  update.step();
}

void Outbox::run_worker() {
  std::unique_lock lock(mutex_);
  bool have_lock = false;
  while (!stopping_) {
    Clock::time_point next_due = Clock::now() + policy_.poll_interval;
    try {
      if (!have_lock && try_take_lock()) {
        have_lock = true;
        recover_interrupted();
        delete_old_finished();
      }
      if (have_lock) {
        Clock::time_point due = Clock::time_point::max();
        if (std::optional<Claim> claim = claim_due(due)) {
          lock.unlock();
          std::optional<SmtpError> failure;
          try {
            deliver_(claim->message, stopping_);
          } catch (const SmtpError& e) {
            failure = e;
          } catch (const std::exception& e) {
            failure = SmtpError(e.what(), false, 0);
          }
          lock.lock();
          // The outcome must reach the file: a `sent` left unrecorded would be
          // resent by the next process. Keep trying until it is stored, or
          // until shutdown (then the row stays `sending`: the duplicate case).
          while (true) {
            try {
              record_result(*claim, failure ? &*failure : nullptr);
              break;
            } catch (const SqliteError& e) {
              spdlog::error("mail outbox {}: recording a delivery result: {}", path_.string(),
                            e.what());
              if (stopping_) break;
              wake_.wait_for(lock, policy_.poll_interval, [this] { return stopping_.load(); });
            }
          }
          changed_.notify_all();
          continue;
        }
        next_due = std::min(next_due, due);
      }
    } catch (const std::exception& e) {
      spdlog::error("mail outbox {}: {}", path_.string(), e.what());
    }
    wake_.wait_until(lock, next_due, [this] { return stopping_ || work_waiting_; });
    work_waiting_ = false;
  }
}

}  // namespace voicedesk::tools::mail
