// The retention stage on a real spool and database (SQLite; the rules themselves are
// tested on both engines in test/db/Retention_test.cpp), with a fake clock and a fake
// free-space reading.

#include "sink/retention/RetentionStage.h"

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/Health.h"
#include "db/MessageQueue.h"
#include "db/Retention.h"
#include "db/SegmentReader.h"
#include "sandbox/ContentStore.h"
#include "sink/smtp/Spool.h"
#include "test/LogCapture.h"
#include "test/TempDir.h"
#include "test/db/SampleRecord.h"
#include "test/sink/smtp/SpoolTesting.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

const std::int64_t kNow = msOfIso("2026-12-10T00:00:00.000Z");

std::string daysAgo(int days) {
  return db::isoOfMs(kNow - std::int64_t{days} * 86400 * 1000);
}

class RetentionStageTest : public ::testing::Test {
 protected:
  RetentionStageTest() {
    db_ = std::make_unique<db::Database>(url_);
    db_->migrate();
    spool_.recover(test::rowsOf({}));
    settings_.databaseUrl = url_;
    settings_.spoolDir = dir_ / "spool";
    settings_.filesDir = dir_ / "files";
    settings_.sink = "sink-a";
    settings_.keepClean = 7 * 24h;
    settings_.keepFlagged = 90 * 24h;
    settings_.keepRows = 365 * 24h;
    settings_.batch = 2;  // several batches
    settings_.pause = 0ms;
  }

  // A copy received `days` ago, spooled as a record, checked with `verdict` and judged.
  void copy(const std::string& id, int days, const std::string& verdict, std::size_t size = 40000) {
    auto bytes = test::messageOf(static_cast<int>(ids_.size()), size);
    auto locator = test::appendOne(spool_, id, bytes);
    auto row = test::sampleRecord(id, daysAgo(days));
    row.spoolFile = locator;
    row.size = static_cast<std::int64_t>(bytes.size());
    row.sha256 = db::hex(db::sha256Of(bytes));
    db::MessageQueue(*db_).insertPending({row});
    exec("UPDATE messages SET state = 'reported', verdict = '" + verdict +
         "', report_status = 'sent' WHERE id = '" + id + "'");
    ids_.push_back(id);
    locators_[id] = locator;
    bytes_[id] = bytes;
  }
  void file(const std::string& id, int position, const std::string& sha) {
    store_.put(sha, "file bytes");
    // Stored and last met 30 days ago (retention leaves a file met within its grace).
    const auto old = std::filesystem::last_write_time(store_.pathOf(sha)) - 30 * 24h;
    std::filesystem::last_write_time(store_.pathOf(sha), old);
    exec(
        "INSERT INTO files (sha256, md5, size, true_type, description, family, first_seen,"
        " last_seen, seen_count) SELECT '" +
        sha + "', '', 1, 't', 'd', 'f', '" + daysAgo(30) + "', '" + daysAgo(30) +
        "', 1 WHERE NOT EXISTS (SELECT 1 FROM files WHERE sha256 = '" + sha + "')");
    exec(
        "INSERT INTO message_files (msg_id, position, sha256, name, path, extension,"
        " extension_mismatch, size, selected) VALUES ('" +
        id + "', " + std::to_string(position) + ", '" + sha + "', 'a', 'a', '', 0, 1, 1)");
  }
  void exec(const std::string& sql) { db_->session() << sql, now; }
  std::string expiredAt(const std::string& id) {
    auto m = db::MessageQueue(*db_).find(id);
    return m ? m->contentExpiredAt : "no row";
  }
  bool recordDead(const std::string& id) {
    db::Locator l;
    db::parseLocator(locators_[id], l);
    db::SegmentReader r(settings_.spoolDir + "/" + l.file, db::SegmentReader::Verify::Headers);
    for (db::RecordHeader h; r.next(h);) {
      if (h.offset == l.offset) return h.dead;
    }
    ADD_FAILURE() << "no record " << locators_[id];
    return false;
  }
  std::unique_ptr<RetentionStage> stage() {
    auto s = std::make_unique<RetentionStage>(settings_);
    s->setClockForTest([] { return kNow; });
    return s;
  }

  test::TempDir dir_;
  std::string url_ = "sqlite:" + (dir_ / "bccsink.db");
  std::unique_ptr<db::Database> db_;
  Spool spool_{dir_ / "spool", 1 << 20};
  sandbox::ContentStore store_{dir_ / "files"};
  RetentionSettings settings_;
  std::vector<std::string> ids_;
  std::map<std::string, std::string> locators_, bytes_;
};

}  // namespace

TEST_F(RetentionStageTest, OldCleanContentGoesFlaggedAndYoungStayRowsRemain) {
  copy("01A", 10, "clean");
  copy("01B", 9, "clean");
  copy("01C", 8, "clean");
  copy("01D", 10, "dangerous");
  copy("01E", 1, "clean");
  auto s = stage();
  auto sweep = s->sweepOnce();
  EXPECT_EQ(sweep.expiredAge, 3u);
  EXPECT_FALSE(sweep.pressure);
  for (const auto& id : {"01A", "01B", "01C"}) {
    EXPECT_EQ(expiredAt(id), "2026-12-10T00:00:00.000Z") << id;
    EXPECT_TRUE(recordDead(id)) << id;
  }
  for (const auto& id : {"01D", "01E"}) {
    EXPECT_EQ(expiredAt(id), "") << id;
    EXPECT_FALSE(recordDead(id)) << id;
    EXPECT_EQ(test::readBack(settings_.spoolDir, locators_[id]), bytes_[id]);
  }
  EXPECT_EQ(s->counters().expiredAge, 3u);
  // Nothing more is due: the next sweep does nothing.
  EXPECT_EQ(s->sweepOnce().expiredAge, 0u);
  // A restart of the spool restores nothing and keeps the rest.
  Spool again(settings_.spoolDir, 1 << 20);
  std::map<std::string, std::string> rows(locators_.begin(), locators_.end());
  auto report = again.recover(test::rowsOf(rows));
  EXPECT_TRUE(report.restorable.empty());
  EXPECT_TRUE(report.markedDead.empty());
  EXPECT_TRUE(report.droppedTail.empty()) << report.droppedTail;
}

TEST_F(RetentionStageTest, AStoredFileGoesWhenNoKeptCopyRefersToIt) {
  const std::string alone(64, '1'), shared(64, '2');
  copy("01A", 10, "clean");
  copy("01B", 1, "clean");
  file("01A", 0, alone);
  file("01A", 1, shared);
  file("01B", 0, shared);
  auto s = stage();
  auto sweep = s->sweepOnce();
  EXPECT_EQ(sweep.filesDeleted, 1u);
  EXPECT_FALSE(store_.has(alone));
  EXPECT_TRUE(store_.has(shared));
  EXPECT_EQ(s->counters().filesDeleted, 1u);
}

TEST_F(RetentionStageTest, RowsPastKeepRowsAreDeletedTheirRecordsDeadFirst) {
  settings_.keepRows = 30 * 24h;
  copy("01A", 40, "dangerous");  // its content too is capped by BccKeepRows
  copy("01B", 20, "dangerous");
  auto s = stage();
  auto sweep = s->sweepOnce();
  EXPECT_EQ(sweep.rowsDeleted, 1u);
  EXPECT_EQ(expiredAt("01A"), "no row");
  EXPECT_TRUE(recordDead("01A"));
  EXPECT_FALSE(recordDead("01B"));
  Spool again(settings_.spoolDir, 1 << 20);
  auto report = again.recover(test::rowsOf({{"01B", locators_["01B"]}}));
  EXPECT_TRUE(report.restorable.empty());  // 01A's row is not brought back
  EXPECT_EQ(s->counters().rowsDeleted, 1u);
}

TEST_F(RetentionStageTest, DiskPressureExpiresTheOldestCleanContentFirstUntilThereIsRoom) {
  settings_.minFreeSpace = 1000;
  copy("01A", 3, "clean");
  copy("01B", 2, "dangerous");
  copy("01C", 2, "clean");
  copy("01D", 1, "clean");
  copy("01E", 0, "clean");
  std::uint64_t free = 100;  // under 2 x 1000
  auto s = stage();
  int readings = 0;
  s->setFreeSpaceForTest([&] {
    // Room again once two batches went (the check before the sweep, then after each batch).
    return ++readings >= 4 ? 5000 : free;
  });
  auto sweep = s->sweepOnce();
  EXPECT_TRUE(sweep.pressure);
  EXPECT_EQ(sweep.expiredAge, 0u);
  EXPECT_EQ(sweep.expiredPressure, 4u);  // 01A, 01C; then 01D, 01E
  EXPECT_NE(expiredAt("01A"), "");
  EXPECT_NE(expiredAt("01C"), "");
  EXPECT_EQ(expiredAt("01B"), "");  // flagged content is never taken for room
  EXPECT_EQ(s->counters().expiredPressure, 4u);
  EXPECT_EQ(s->counters().pressureSweeps, 1u);
}

TEST_F(RetentionStageTest, PressureStopsWhenABatchFreesNothing) {
  // Records smaller than a page give nothing back when punched: expiring them all would
  // cost every clean copy, the newest too, and not make room.
  settings_.minFreeSpace = 1000;
  copy("01A", 3, "clean", 500);
  copy("01B", 2, "clean", 500);
  copy("01C", 1, "clean", 500);
  copy("01D", 0, "clean", 500);
  auto s = stage();
  s->setFreeSpaceForTest([]() -> std::uint64_t { return 100; });  // never room
  test::LogCapture log("bccsink.retention");
  auto sweep = s->sweepOnce();
  EXPECT_EQ(sweep.expiredPressure, 2u);  // the first batch only
  EXPECT_EQ(expiredAt("01C"), "");
  EXPECT_EQ(expiredAt("01D"), "");
  EXPECT_EQ(log.count("freed nothing"), 1);
}

TEST_F(RetentionStageTest, PressureStopsOnceThereIsRoom) {
  settings_.minFreeSpace = 1000;
  copy("01A", 3, "clean");
  copy("01B", 2, "clean");
  copy("01C", 1, "clean");
  auto s = stage();
  int readings = 0;
  s->setFreeSpaceForTest([&]() -> std::uint64_t { return ++readings >= 3 ? 5000 : 100; });
  auto sweep = s->sweepOnce();
  EXPECT_EQ(sweep.expiredPressure, 2u);  // one batch of two, then room
  EXPECT_EQ(expiredAt("01C"), "");
}

TEST_F(RetentionStageTest, TheThreadSweepsAtStartAndStopsPromptly) {
  copy("01A", 10, "clean");
  settings_.idle = 1h;
  auto s = stage();
  s->start();
  for (int i = 0; i < 200 && s->counters().expiredAge == 0; ++i) std::this_thread::sleep_for(10ms);
  auto started = std::chrono::steady_clock::now();
  s->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(s->counters().expiredAge, 1u);
}

// A corrupt database (db/Health) must not decide what the spool loses: the thread expires
// nothing while it lasts, and stops promptly.
TEST_F(RetentionStageTest, TheThreadExpiresNothingWhileTheDatabaseIsCorrupt) {
  copy("01A", 10, "clean");
  settings_.idle = 1h;
  db::Health::process().setCorrupt("database disk image is malformed");
  auto s = stage();
  s->start();
  std::this_thread::sleep_for(300ms);
  auto started = std::chrono::steady_clock::now();
  s->stop();
  db::Health::process().resetForTest();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
  EXPECT_EQ(s->counters().expiredAge, 0u);
  EXPECT_EQ(expiredAt("01A"), "");
  EXPECT_FALSE(recordDead("01A"));
}

TEST_F(RetentionStageTest, ZeroKeepsEverything) {
  settings_.keepClean = 0s;
  settings_.keepFlagged = 0s;
  settings_.keepRows = 0s;
  copy("01A", 1000, "clean");
  auto sweep = stage()->sweepOnce();
  EXPECT_EQ(sweep.expiredAge + sweep.rowsDeleted, 0u);
  EXPECT_EQ(expiredAt("01A"), "");
}
