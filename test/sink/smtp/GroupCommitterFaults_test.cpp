// The group committer while its database fails and comes back: each batch tried meanwhile
// is answered 451 4.3.0 (TempFail) with its records marked dead, the outage is logged once,
// and the first batch after the database is back commits, on the same committer. On SQLite
// the fault is a trigger; on PostgreSQL a private server stopped and started again.

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/SegmentReader.h"
#include "sink/smtp/GroupCommitter.h"
#include "sink/smtp/Intake.h"
#include "sink/smtp/Spool.h"
#include "test/LogCapture.h"
#include "test/PostgresServer.h"
#include "test/TempDir.h"
#include "test/sink/smtp/SpoolTesting.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;
using Clock = std::chrono::steady_clock;

namespace {

// One message through the intake, as a session hands it over; its answer.
StoreResult send(Intake& intake, const std::string& text) {
  StoreResult r;
  auto w = intake.open(r);
  w->write("Subject: " + text + "\r\n\r\n" + text + "\r\n");
  return commitAndWait(*w, test::sampleEnvelope(), "<" + text + "@example.org>");
}

int deadRecords(const std::string& spoolDir) {
  db::SegmentReader r(spoolDir + "/segments/000000000001.seg", db::SegmentReader::Verify::Messages);
  int dead = 0;
  for (db::RecordHeader h; r.next(h);) dead += h.dead;
  return dead;
}

}  // namespace

TEST(GroupCommitterFaults, AFailingDatabaseIsA451UntilItWorksAgainWithoutARestart) {
  test::TempDir dir;
  const std::string url = "sqlite:" + (dir / "bccsink.db");
  db::Database admin(url);
  admin.migrate();
  test::LogCapture log("bccsink.intake");
  Spool spool(dir / "spool", 1 << 20);
  spool.recover(nullptr);
  GroupCommitter committer(url, spool);
  Intake intake(spool, committer, {0, 0, "sink-a"});
  EXPECT_EQ(send(intake, "before").outcome, Outcome::Ok);

  admin.session() << "CREATE TRIGGER broken BEFORE INSERT ON messages"
                     " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
      now;
  for (int i = 0; i < 3; ++i) {
    auto r = send(intake, "during" + std::to_string(i));
    EXPECT_EQ(r.outcome, Outcome::TempFail);
    EXPECT_EQ(r.detail, "database error");
  }
  EXPECT_EQ(log.count("intake: the database failed"), 1) << log.all();
  EXPECT_EQ(log.count("disk I/O error"), 1) << log.all();

  admin.session() << "DROP TRIGGER broken", now;
  EXPECT_EQ(send(intake, "after").outcome, Outcome::Ok);
  EXPECT_EQ(log.count("intake: the database works again after"), 1) << log.all();
  committer.stop();
  EXPECT_EQ(db::MessageQueue(admin).list({}).size(), 2u);
  EXPECT_EQ(deadRecords(dir / "spool"), 3);
}

// The restart: a private PostgreSQL stopped under the committer, then started.
TEST(GroupCommitterFaults, PostgresStoppedIsA451WithinSecondsAndTheNextCommitAfterItsStartWorks) {
  auto server = test::PostgresServer::startPrivate();
  server->session("postgres") << "CREATE DATABASE intake", now;
  const auto url = server->url("intake");
  db::Database(url).migrate();
  test::TempDir dir;
  test::LogCapture log("bccsink.intake");
  Spool spool(dir / "spool", 1 << 20);
  spool.recover(nullptr);
  GroupCommitter committer(url, spool);
  Intake intake(spool, committer, {0, 0, "sink-a"});
  EXPECT_EQ(send(intake, "before").outcome, Outcome::Ok);

  server->ctl("stop -m fast");
  for (int i = 0; i < 2; ++i) {
    const auto start = Clock::now();
    auto r = send(intake, "down" + std::to_string(i));
    EXPECT_EQ(r.outcome, Outcome::TempFail);
    EXPECT_LT(Clock::now() - start, std::chrono::seconds(10)) << "a 451 in bounded time";
  }
  EXPECT_EQ(log.count("intake: the database failed"), 1) << log.all();

  server->ctl("start");
  EXPECT_EQ(send(intake, "after").outcome, Outcome::Ok);
  EXPECT_EQ(log.count("intake: the database works again after"), 1) << log.all();
  committer.stop();
  db::Database check(url);
  auto rows = db::MessageQueue(check).list({});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(deadRecords(dir / "spool"), 2);
}
