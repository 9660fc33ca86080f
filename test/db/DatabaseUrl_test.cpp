#include "db/DatabaseUrl.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "db/Database.h"

using bccsink::db::Database;
using bccsink::db::DatabaseUrl;

TEST(DatabaseUrl, SqliteIsThePathAfterTheSchemeOrTheWholeText) {
  EXPECT_FALSE(DatabaseUrl::parse("sqlite:/var/lib/bccsink/bccsink.db").postgresql);
  EXPECT_EQ(DatabaseUrl::parse("sqlite:/var/lib/b.db").sqlitePath, "/var/lib/b.db");
  EXPECT_EQ(DatabaseUrl::parse("/tmp/x.db").sqlitePath, "/tmp/x.db");
  EXPECT_THROW(DatabaseUrl::parse("sqlite:"), std::invalid_argument);
}

TEST(DatabaseUrl, PostgresqlBecomesLibpqKeywordPairs) {
  auto u = DatabaseUrl::parse("postgresql://bccsink@db.example.test:5433/mail?sslmode=require");
  EXPECT_TRUE(u.postgresql);
  EXPECT_EQ(u.conninfo, "host=db.example.test port=5433 user=bccsink dbname=mail sslmode=require");
  EXPECT_EQ(DatabaseUrl::parse("postgres://u@h/d").conninfo, "host=h user=u dbname=d");
  EXPECT_EQ(DatabaseUrl::parse("postgresql://u@[::1]:5432/d").conninfo,
            "host=::1 port=5432 user=u dbname=d");
  // The unix-socket form: no host part, the folder as a parameter.
  EXPECT_EQ(DatabaseUrl::parse("postgresql://u@/d?host=/run/postgresql").conninfo,
            "user=u dbname=d host=/run/postgresql");
  EXPECT_EQ(DatabaseUrl::parse("postgresql://us%65r@h/d%5Fb").conninfo,
            "host=h user=user dbname=d_b");
}

TEST(DatabaseUrl, RefusesWhatTheConnectorCannotPassAndNeverEchoesAPassword) {
  for (const char* bad :
       {"postgresql://h/d", "postgresql://u@h", "postgresql://u@h:0/d", "postgresql://u@h:99999/d",
        "postgresql://u@h:5x/d", "postgresql://u@h/d?nosuch=1", "postgresql://u@h/d?sslmode",
        "postgresql://u@h/d%20b", "postgresql://u@h/d?application_name=a%27b",
        "postgresql://u@h/d%zz", "postgresql:u@h/d"}) {
    EXPECT_THROW(DatabaseUrl::parse(bad), std::invalid_argument) << bad;
  }
  try {
    DatabaseUrl::parse("postgresql://u:s3cret@h/d");
    FAIL() << "a password in the URL was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_EQ(std::string(e.what()).find("s3cret"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("DatabasePasswordFile"), std::string::npos) << e.what();
  }
}

TEST(DatabaseUrl, QuestionMarksOutsideLiteralsBecomeNumberedPlaceholders) {
  EXPECT_EQ(Database::numberedPlaceholders("SELECT a FROM t WHERE b = ? AND c IN (?, ?)"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)");
  EXPECT_EQ(
      Database::numberedPlaceholders("SELECT '?', \"a?\" FROM t WHERE x = ? AND y = 'it''s?'"),
      "SELECT '?', \"a?\" FROM t WHERE x = $1 AND y = 'it''s?'");
  EXPECT_EQ(Database::numberedPlaceholders("LIKE ? ESCAPE '\\'"), "LIKE $1 ESCAPE '\\'");
}
