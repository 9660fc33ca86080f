// The reporter while its database fails (SQLite, and a private PostgreSQL stopped and
// started): a report is not set aside as undeliverable because the database failed while
// it was being built, the reporter's thread logs the outage once, pauses, and reports
// once the database works again, without a restart.

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "report/Reporter.h"
#include "test/LogCapture.h"
#include "test/PostgresServer.h"
#include "test/TempDir.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using namespace bccsink::report;
using namespace Poco::Data::Keywords;

namespace {

class ReporterFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database.migrate();
    std::filesystem::create_directories(spool);
  }

  // A dangerous message the workers checked: its report is due.
  void add(const std::string& id) {
    std::ofstream(spool + "/" + id + ".eml")
        << "From: alice@example.org\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
    queue.insertPending({test::sampleRecord(id)});
    ASSERT_TRUE(queue.claimNext("sink-a", nowMs() + 60000, nowMs() + 60000, isoNow()));
    ASSERT_TRUE(queue.markChecked(id, "sink-a", "dangerous", isoNow()));
  }

  // The reads that build a report fail as those of a database gone away would.
  void breakReads() { database.session() << "ALTER TABLE message_files RENAME TO away", now; }
  void mendReads() { database.session() << "ALTER TABLE away RENAME TO message_files", now; }

  ReporterSettings settings() {
    ReporterSettings s;
    s.databaseUrl = url;
    s.spoolDir = spool;
    s.owner = "sink-a";
    s.mail = {"bccsink@example.com", {"admin@example.com"}, "sink.test"};
    return s;
  }

  // Delivers and counts.
  Deliver deliver() {
    return [this](const std::string&) {
      std::lock_guard lock(mutex);
      ++delivered;
      DeliveryResult r;
      r.receipt = "250 2.0.0 queued";
      return r;
    };
  }
  int deliveredNow() {
    std::lock_guard lock(mutex);
    return delivered;
  }

  test::TempDir dir;
  std::string url = "sqlite:" + (dir / "q.db");
  std::string spool = dir / "spool";
  db::Database database{url};
  db::MessageQueue queue{database};
  std::mutex mutex;
  int delivered = 0;
};

}  // namespace

TEST_F(ReporterFaultsTest, ADatabaseErrorWhileBuildingAReportFailsTheRoundAndLeavesItDue) {
  add("01A");
  breakReads();
  Reporter reporter(settings(), Templates::builtIn(), deliver());
  EXPECT_ANY_THROW(reporter.runOnce());
  EXPECT_EQ(queue.find("01A")->reportStatus, "due") << "not undeliverable";
  EXPECT_EQ(deliveredNow(), 0);
  mendReads();
  EXPECT_EQ(reporter.runOnce(), 1u);
  EXPECT_EQ(queue.find("01A")->reportStatus, "sent");
}

TEST_F(ReporterFaultsTest, ItsThreadLogsTheOutageOnceAndReportsWhenTheDatabaseWorksAgain) {
  test::LogCapture log("bccsink.report");
  add("01A");
  breakReads();
  auto s = settings();
  s.sweep = std::chrono::milliseconds(50);  // many rounds while it fails
  Reporter reporter(s, Templates::builtIn(), deliver());
  reporter.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // rounds at 0 s and 1 s
  EXPECT_EQ(log.count("report: the database failed"), 1) << log.all();
  EXPECT_EQ(deliveredNow(), 0);
  mendReads();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (deliveredNow() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  reporter.stop();
  EXPECT_EQ(deliveredNow(), 1);
  EXPECT_EQ(queue.find("01A")->reportStatus, "sent");
  EXPECT_EQ(log.count("report: the database works again after"), 1) << log.all();
  EXPECT_EQ(log.count("(2 failed rounds)"), 1) << log.all();
}

// The restart under the reporter: a private PostgreSQL stopped while a report is
// due, then started; the reporter thread reports it without a restart.
TEST(ReporterFaults, PostgresStoppedThenStartedTheDueReportGoesOutWithoutARestart) {
  auto server = test::PostgresServer::startPrivate();
  server->session("postgres") << "CREATE DATABASE reports", now;
  const auto url = server->url("reports");
  test::TempDir dir;
  const std::string spool = dir / "spool";
  std::filesystem::create_directories(spool);
  {
    db::Database database(url);
    database.migrate();
    db::MessageQueue queue(database);
    std::ofstream(spool + "/01A.eml")
        << "From: alice@example.org\r\nTo: bob@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
    queue.insertPending({test::sampleRecord("01A")});
    ASSERT_TRUE(queue.claimNext("sink-a", nowMs() + 60000, nowMs() + 60000, isoNow()));
    ASSERT_TRUE(queue.markChecked("01A", "sink-a", "dangerous", isoNow()));
  }
  test::LogCapture log("bccsink.report");
  std::mutex mutex;
  int delivered = 0;
  ReporterSettings s;
  s.databaseUrl = url;
  s.spoolDir = spool;
  s.owner = "sink-a";
  s.mail = {"bccsink@example.com", {"admin@example.com"}, "sink.test"};
  s.sweep = std::chrono::milliseconds(50);
  Reporter reporter(s, Templates::builtIn(), [&](const std::string&) {
    std::lock_guard lock(mutex);
    ++delivered;
    DeliveryResult r;
    r.receipt = "250 2.0.0 queued";
    return r;
  });
  server->ctl("stop -m fast");
  reporter.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(log.count("report: the database failed"), 1) << log.all();
  server->ctl("start");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  auto sent = [&] {
    std::lock_guard lock(mutex);
    return delivered;
  };
  while (sent() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  reporter.stop();
  EXPECT_EQ(sent(), 1);
  EXPECT_EQ(log.count("report: the database works again after"), 1) << log.all();
  db::Database database(url);
  EXPECT_EQ(db::MessageQueue(database).find("01A")->reportStatus, "sent");
}
