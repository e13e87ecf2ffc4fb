#include "util/sqlite.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/temp_dir.hpp"

namespace voicedesk::util::sqlite {
namespace {

using test_support::TempDir;
using ::testing::HasSubstr;

TEST(Sqlite, BindsAndReadsEveryColumnType) {
  TempDir dir;
  Database db(dir.path() / "db.sqlite3");
  db.exec("CREATE TABLE t (i INTEGER, r REAL, s TEXT, n INTEGER, b BLOB)");
  Statement insert(db, "INSERT INTO t VALUES (?, ?, ?, ?, ?)");
  insert.bind(1, 1LL << 40).bind(2, 2.5).bind(3, "text").bind(4, nullptr);
  insert.bind_blob(5, std::string_view("a\0b", 3));
  EXPECT_FALSE(insert.step());
  EXPECT_EQ(db.last_insert_rowid(), 1);
  insert.reset();
  insert.bind(1, 7)
      .bind(2, 0.0)
      .bind(3, std::string("again"))
      .bind(4, std::optional<std::int64_t>());
  insert.step();

  Statement select(db, "SELECT i, r, s, n, b FROM t ORDER BY rowid");
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.int64(0), 1LL << 40);
  EXPECT_EQ(select.real(1), 2.5);
  EXPECT_EQ(select.text(2), "text");
  EXPECT_TRUE(select.is_null(3));
  EXPECT_EQ(select.optional_int64(3), std::nullopt);
  EXPECT_EQ(select.text(4), std::string("a\0b", 3));
  ASSERT_TRUE(select.step());
  EXPECT_EQ(select.optional_int64(0), 7);
  EXPECT_FALSE(select.step());
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  TempDir dir;
  Database db(dir.path() / "db.sqlite3");
  db.exec("CREATE TABLE t (x)");
  {
    Transaction transaction(db);
    db.exec("INSERT INTO t VALUES (1)");
  }
  {
    Transaction transaction(db);
    db.exec("INSERT INTO t VALUES (2)");
    transaction.commit();
  }
  Statement sum(db, "SELECT COUNT(*), SUM(x) FROM t");
  sum.step();
  EXPECT_EQ(sum.int64(0), 1);
  EXPECT_EQ(sum.int64(1), 2);
}

TEST(Sqlite, ErrorsCarrySqlitesMessage) {
  TempDir dir;
  Database db(dir.path() / "db.sqlite3");
  try {
    Statement bad(db, "SELECT * FROM missing");
    FAIL() << "prepared a query of a missing table";
  } catch (const SqliteError& e) {
    EXPECT_THAT(e.what(), HasSubstr("no such table: missing"));
  }
  EXPECT_THROW(db.exec("NOT SQL"), SqliteError);
  EXPECT_THROW(Database(dir.path() / "absent.sqlite3", {.mode = OpenMode::read_write}),
               SqliteError);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "absent.sqlite3"));
}

}  // namespace
}  // namespace voicedesk::util::sqlite
