// db::Health: corruption (SQLITE_CORRUPT, SQLITE_NOTADB) is told from an outage that passes,
// sets one process-wide state, and is logged once, at critical, with what to do; a stage's
// Outage pauses long on it instead of logging "the database failed".

#include "db/Health.h"

#include <Poco/Data/SQLite/SQLiteException.h>
#include <gtest/gtest.h>

#include <stdexcept>

#include "db/Database.h"
#include "db/Outage.h"
#include "test/LogCapture.h"

using namespace bccsink;

namespace {

class HealthTest : public ::testing::Test {
 protected:
  void SetUp() override { db::Health::process().resetForTest(); }
  void TearDown() override { db::Health::process().resetForTest(); }
};

}  // namespace

TEST_F(HealthTest, CorruptionIsToldFromAnOutageOrALock) {
  using namespace Poco::Data::SQLite;
  EXPECT_TRUE(db::Health::isCorruption(CorruptImageException("database disk image is malformed")));
  EXPECT_TRUE(db::Health::isCorruption(SQLiteException("file is not a database")));
  // Database's open, which wraps SQLite's error, by SQLite's words.
  EXPECT_TRUE(db::Health::isCorruption(
      std::runtime_error("cannot open database /d/bccsink.db: file is not a database")));
  // Any other error's text may come from a message or the network: never read as corruption
  // (a file named "file is not a database" must not stop the intake).
  EXPECT_FALSE(db::Health::isCorruption(
      std::runtime_error("extract: file is not a database: database disk image is malformed")));
  EXPECT_FALSE(db::Health::isCorruption(Poco::RuntimeException("file is not a database")));
  EXPECT_FALSE(db::Health::isCorruption(DBLockedException("database is locked")));
  EXPECT_FALSE(db::Health::isCorruption(db::DatabaseUnavailable("connection refused")));
  EXPECT_FALSE(db::Health::isCorruption(std::runtime_error("disk I/O error")));
}

TEST_F(HealthTest, TheFirstCorruptionSetsTheStateAndIsLoggedOnceAtCritical) {
  test::LogCapture log("bccsink", Poco::Message::PRIO_DEBUG);
  auto& health = db::Health::process();
  health.setDatabaseName("/data/bccsink.db");
  EXPECT_EQ(health.state(), db::Health::State::Ok);
  EXPECT_STREQ(db::Health::name(health.state()), "ok");
  EXPECT_EQ(health.reason(), "");
  EXPECT_FALSE(health.noteFailure(Poco::Data::SQLite::DBLockedException("database is locked")));
  EXPECT_FALSE(health.corrupt());
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(
        health.noteFailure(Poco::Data::SQLite::CorruptImageException("disk image is malformed")));
  }
  EXPECT_TRUE(health.corrupt());
  EXPECT_STREQ(db::Health::name(health.state()), "database_corrupt");
  EXPECT_NE(health.reason().find("corrupt"), std::string::npos);
  ASSERT_EQ(log.lines().size(), 1u) << log.all();
  EXPECT_EQ(log.count("the database /data/bccsink.db is corrupt"), 1) << log.all();
  EXPECT_EQ(log.count("run `bccsink db check`, then `bccsink db rebuild`"), 1) << log.all();
}

// A stage's round that failed for another reason, with SQLite's words in its text (a file
// name from a message), is an outage that passes, not corruption.
TEST_F(HealthTest, AnotherErrorWithCorruptionWordsIsAnOutageNotCorruption) {
  test::LogCapture log("bccsink.test.outage");
  db::Outage outage(Poco::Logger::get("bccsink.test.outage"), "analysis");
  EXPECT_EQ(outage.failed(std::runtime_error("store a.zip: file is not a database")),
            std::chrono::seconds(1));
  EXPECT_FALSE(db::Health::process().corrupt());
  EXPECT_TRUE(outage.ongoing());
}

TEST_F(HealthTest, AStageMeetingCorruptionPausesLongAndLeavesTheLineToHealth) {
  test::LogCapture log("bccsink.test.outage");
  test::LogCapture daemon("bccsink");
  db::Outage outage(Poco::Logger::get("bccsink.test.outage"), "analysis");
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(outage.failed(Poco::Data::SQLite::CorruptImageException("malformed")),
              std::chrono::seconds(60));
  }
  EXPECT_EQ(outage.failed(std::string("Corrupt image: database disk image is malformed")),
            std::chrono::seconds(60));
  EXPECT_TRUE(db::Health::process().corrupt());
  EXPECT_FALSE(outage.ongoing());
  EXPECT_EQ(log.lines().size(), 0u) << log.all();
  EXPECT_EQ(daemon.count("is corrupt"), 1) << daemon.all();
  // An outage that passes is still one.
  EXPECT_EQ(outage.failed(std::string("server gone")), std::chrono::seconds(1));
  EXPECT_EQ(log.count("the database failed"), 1) << log.all();
}
