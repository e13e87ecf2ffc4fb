#include "util/sqlite.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace voicedesk::util::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* db, const std::string& what, int code) {
  throw SqliteError(what + ": " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(code)),
                    code);
}

void create_private_file(const std::filesystem::path& path) {
  if (path.has_parent_path()) {
    std::error_code error;
    if (std::filesystem::create_directories(path.parent_path(), error)) {
      std::filesystem::permissions(path.parent_path(), std::filesystem::perms::owner_all, error);
    }
    if (error) {
      throw SqliteError("cannot create " + path.parent_path().string() + ": " + error.message(),
                        SQLITE_CANTOPEN);
    }
  }
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw SqliteError("cannot open " + path.string() + ": " + std::strerror(errno),
                      SQLITE_CANTOPEN);
  }
  ::close(fd);
}

int open_flags(OpenMode mode) {
  switch (mode) {
    case OpenMode::create_private:
    case OpenMode::read_write:
      return SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;
    case OpenMode::read_only:
      return SQLITE_OPEN_READONLY | SQLITE_OPEN_FULLMUTEX;
  }
  return SQLITE_OPEN_READONLY;
}

}  // namespace

Database::Database(const std::filesystem::path& path, OpenOptions options) : path_(path) {
  if (options.mode == OpenMode::create_private) create_private_file(path);
  const int opened = sqlite3_open_v2(path.c_str(), &db_, open_flags(options.mode), nullptr);
  if (opened != SQLITE_OK) {
    const std::string message = "cannot open " + path.string() + ": " +
                                (db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(opened));
    sqlite3_close_v2(db_);
    throw SqliteError(message, opened);
  }
  sqlite3_busy_timeout(db_, static_cast<int>(options.busy_timeout.count()));
}

Database::~Database() {
  sqlite3_close_v2(db_);
}

void Database::exec(const std::string& sql) {
  char* message = nullptr;
  const int result = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (result != SQLITE_OK) {
    const std::string text = message != nullptr ? message : sqlite3_errmsg(db_);
    sqlite3_free(message);
    throw SqliteError(path_.string() + ": " + text, result);
  }
}

void Database::enable_wal() {
  exec("PRAGMA journal_mode = WAL");
}

std::int64_t Database::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int Database::changes() const {
  return sqlite3_changes(db_);
}

Statement::Statement(Database& db, std::string_view sql) : db_(db.handle()) {
  const int result =
      sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr);
  if (result != SQLITE_OK) fail(db_, db.path().string() + ": prepare", result);
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement& Statement::bind_int64(int index, std::int64_t value) {
  check(sqlite3_bind_int64(stmt_, index, value), "bind");
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check(sqlite3_bind_double(stmt_, index, value), "bind");
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  check(
      sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT),
      "bind");
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  check(sqlite3_bind_null(stmt_, index), "bind");
  return *this;
}

Statement& Statement::bind(int index, const std::optional<std::int64_t>& value) {
  return value ? bind_int64(index, *value) : bind(index, nullptr);
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  check(sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()),
                          SQLITE_TRANSIENT),
        "bind");
  return *this;
}

bool Statement::step() {
  const int result = sqlite3_step(stmt_);
  if (result == SQLITE_ROW) return true;
  if (result != SQLITE_DONE) fail(db_, "step", result);
  return false;
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}

std::string Statement::text(int column) const {
  const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt_, column));
  return data == nullptr
             ? std::string()
             : std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::optional<std::int64_t> Statement::optional_int64(int column) const {
  if (is_null(column)) return std::nullopt;
  return int64(column);
}

void Statement::check(int result, const char* what) const {
  if (result != SQLITE_OK) fail(db_, what, result);
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.exec("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (open_) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

}  // namespace voicedesk::util::sqlite
