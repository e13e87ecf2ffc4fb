#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

// A small RAII layer over the SQLite C API: one connection, prepared
// statements and transactions, every failure an exception carrying SQLite's
// message.
namespace voicedesk::util::sqlite {

class SqliteError : public std::runtime_error {
 public:
  SqliteError(const std::string& message, int code) : std::runtime_error(message), code_(code) {}
  // The SQLite result code (SQLITE_BUSY, SQLITE_CANTOPEN, ...).
  int code() const { return code_; }

 private:
  int code_;
};

enum class OpenMode {
  // Creates a missing file with mode 0600 (and a missing parent directory
  // 0700) before SQLite opens it: its -wal and -shm files take the same mode.
  create_private,
  read_write,  // the file must exist
  read_only,
};

struct OpenOptions {
  OpenMode mode = OpenMode::create_private;
  // How long a statement waits for another connection's lock before
  // failing with SQLITE_BUSY.
  std::chrono::milliseconds busy_timeout{5000};
};

class Database {
 public:
  // Throws SqliteError (also for a file or directory that cannot be created).
  explicit Database(const std::filesystem::path& path, OpenOptions options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more statements that return no rows.
  void exec(const std::string& sql);
  // Write-ahead logging: readers never block the writer. Changes the file,
  // so call it after any check that must leave the file untouched.
  void enable_wal();
  std::int64_t last_insert_rowid() const;
  // Rows changed by the last INSERT, UPDATE or DELETE.
  int changes() const;
  const std::filesystem::path& path() const { return path_; }
  sqlite3* handle() const { return db_; }

 private:
  std::filesystem::path path_;
  sqlite3* db_ = nullptr;
};

// One prepared statement, finalized on destruction. Parameters are numbered
// from 1, columns from 0.
class Statement {
 public:
  Statement(Database& db, std::string_view sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  template <std::integral Integer>
  Statement& bind(int index, Integer value) {
    return bind_int64(index, static_cast<std::int64_t>(value));
  }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::nullptr_t);
  Statement& bind(int index, const std::optional<std::int64_t>& value);
  Statement& bind_blob(int index, std::string_view bytes);

  // Runs to the next row: true while one is available, false when done.
  bool step();
  // Ready to run again; the bindings are cleared.
  void reset();

  std::int64_t int64(int column) const;
  double real(int column) const;
  std::string text(int column) const;  // also reads blobs
  bool is_null(int column) const;
  std::optional<std::int64_t> optional_int64(int column) const;

 private:
  Statement& bind_int64(int index, std::int64_t value);
  void check(int result, const char* what) const;

  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

// BEGIN IMMEDIATE (takes the write lock now, so a transaction that reads
// before it writes cannot fail midway with SQLITE_BUSY) ... COMMIT; rolled
// back when destroyed without commit().
class Transaction {
 public:
  explicit Transaction(Database& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  Database& db_;
  bool open_ = true;
};

}  // namespace voicedesk::util::sqlite
