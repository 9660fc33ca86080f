// The intake's refusals through a real session, Intake, spool and group committer: 451
// 4.3.0 to MAIL while the database is corrupt (db/Health.h); free space read fresh at DATA,
// during it and before the durable write (the probe injected as BCCSINK_TEST_INTAKE_FREE_SPACE
// does), with BccMinFreeSpace plus the WAL allowance kept: 452 4.3.1 until there is room.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "db/Database.h"
#include "db/Health.h"
#include "db/MessageQueue.h"
#include "sink/smtp/GroupCommitter.h"
#include "sink/smtp/Intake.h"
#include "sink/smtp/SmtpSession.h"
#include "sink/smtp/Spool.h"
#include "test/TempDir.h"

using namespace bccsink;

namespace {

constexpr std::uint64_t kMinFree = 100u << 20;
constexpr std::uint64_t kWal = 8u << 20;
constexpr std::uint64_t kPlenty = 1ull << 40;

class IntakeHealthTest : public ::testing::Test {
 protected:
  IntakeHealthTest() {
    db::Health::process().resetForTest();
    {
      db::Database database(url());
      database.migrate();
    }
    spool = std::make_unique<Spool>(dir / "spool", 8 << 20);
    committer = std::make_unique<GroupCommitter>(url(), *spool);
    IntakeLimits limits{kMinFree, 0, "s"};
    limits.walAllowance = kWal;
    limits.freeSpace = [this] { return free.load(); };
    intake = std::make_unique<Intake>(*spool, *committer, limits);
    settings.hostname = "sink.test";
    settings.domains = {"bcc.test"};
    settings.maxMessageSize = 10u << 20;
    settings.maxLineLength = 2000;
  }
  ~IntakeHealthTest() override {
    session.reset();
    committer->stop();
    db::Health::process().resetForTest();
  }

  std::string url() const { return "sqlite:" + (dir / "q.db"); }

  std::string send(const std::string& bytes) {
    if (!session) session = std::make_unique<SmtpSession>(settings, *intake, "192.0.2.1", true);
    session->feed(bytes);
    // The group committer answers on its own thread: wait for the reply of a commit.
    for (int i = 0; i < 500 && session->committing(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::string out = session->output();
    session->output().clear();
    return out;
  }
  std::string toData() {
    send("EHLO client.test\r\n");
    std::string out = send("MAIL FROM:<a@client.test>\r\n");
    out += send("RCPT TO:<watch@bcc.test>\r\n");
    return out + send("DATA\r\n");
  }
  std::int64_t rows() {
    db::Database database(url());
    return db::MessageQueue(database).countBacklog();
  }
  // Files in the spool folder (not its segments): unfinished or finished large messages.
  std::size_t spoolFiles() {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir / "spool"))
      n += e.is_regular_file() && e.path().string().find(".eml") != std::string::npos;
    return n;
  }
  static std::string lines(std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += std::string(998, 'x') + "\r\n";
    return out;
  }

  test::TempDir dir;
  std::atomic<std::uint64_t> free{kPlenty};
  std::unique_ptr<Spool> spool;
  std::unique_ptr<GroupCommitter> committer;
  std::unique_ptr<Intake> intake;
  SessionSettings settings;
  std::unique_ptr<SmtpSession> session;
};

}  // namespace

TEST_F(IntakeHealthTest, MailIs451WhileTheDatabaseIsCorruptAnd250Otherwise) {
  send("EHLO client.test\r\n");
  db::Health::process().setCorrupt("database disk image is malformed");
  EXPECT_EQ(send("MAIL FROM:<a@client.test>\r\n"),
            "451 4.3.0 Local error in processing: the database is corrupt (see the daemon's "
            "log)\r\n");
  db::Health::process().resetForTest();
  EXPECT_EQ(send("MAIL FROM:<a@client.test>\r\n"), "250 2.1.0 Ok\r\n");
}

TEST_F(IntakeHealthTest, CorruptionFoundDuringATransferIs451AtTheDotAndNothingIsQueued) {
  EXPECT_EQ(toData(), "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  db::Health::process().setCorrupt("database disk image is malformed");
  EXPECT_EQ(send("Subject: x\r\n\r\n" + lines(1100) + ".\r\n").substr(0, 10), "451 4.3.0 ");
  EXPECT_EQ(rows(), 0);
}

TEST_F(IntakeHealthTest, DataIs452WhenTheDiskFilledSinceMail) {
  send("EHLO client.test\r\n");
  EXPECT_EQ(send("MAIL FROM:<a@client.test> SIZE=5000\r\n"), "250 2.1.0 Ok\r\n");
  send("RCPT TO:<watch@bcc.test>\r\n");
  // MAIL's look is cached for 250 ms; DATA's is fresh. BccMinFreeSpace, the WAL allowance
  // and the declared size must all fit.
  free = kMinFree + kWal + 4999;
  EXPECT_EQ(send("DATA\r\n"), "452 4.3.1 Insufficient system storage: spool disk nearly full\r\n");
  EXPECT_EQ(rows(), 0);
  EXPECT_EQ(send("MAIL FROM:<a@client.test> SIZE=5000\r\n").substr(0, 10), "452 4.3.1 ");
}

TEST_F(IntakeHealthTest, TheDiskFillingDuringDataIs452AtTheDotAndUntilThereIsRoom) {
  EXPECT_EQ(toData().substr(28), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(send("Subject: big\r\n\r\n" + lines(1000)), "");
  free = kMinFree + 1000;  // under the minimum and the WAL allowance
  EXPECT_EQ(send(lines(1200) + ".\r\n"),
            "452 4.3.1 Insufficient system storage: spool disk nearly full\r\n");
  EXPECT_EQ(rows(), 0);
  EXPECT_EQ(spoolFiles(), 0u);  // the spilled ID.eml.tmp is gone
  EXPECT_EQ(send("MAIL FROM:<a@client.test>\r\n").substr(0, 10), "452 4.3.1 ");
  free = kPlenty;
  // Room again: MAIL's cached look expires within 250 ms.
  std::string reply;
  for (int i = 0; i < 100 && reply != "250 2.1.0 Ok\r\n"; ++i) {
    reply = send("MAIL FROM:<a@client.test>\r\n");
    if (reply != "250 2.1.0 Ok\r\n") std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(reply, "250 2.1.0 Ok\r\n");
  send("RCPT TO:<watch@bcc.test>\r\n");
  EXPECT_EQ(send("DATA\r\n").substr(0, 4), "354 ");
  EXPECT_EQ(send("Subject: small\r\n\r\nhello\r\n.\r\n").substr(0, 24), "250 2.0.0 Ok: queued as ");
  EXPECT_EQ(rows(), 1);
}

TEST_F(IntakeHealthTest, TheDurableWriteNeedsTheMessagesRoomToo) {
  EXPECT_EQ(toData().substr(28), "354 End data with <CR><LF>.<CR><LF>\r\n");
  // Room for the WAL and the minimum, not for the 3 KB to be written.
  free = kMinFree + kWal + 100;
  EXPECT_EQ(send("Subject: x\r\n\r\n" + lines(3) + ".\r\n"),
            "452 4.3.1 Insufficient system storage: spool disk nearly full\r\n");
  EXPECT_EQ(rows(), 0);
}

TEST_F(IntakeHealthTest, ALargeMessageWhoseDiskFilledBeforeItsRowIs452AndLeavesNoFile) {
  EXPECT_EQ(toData().substr(28), "354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(send("Subject: big\r\n\r\n" + lines(1100)), "");  // spilled to ID.eml.tmp
  EXPECT_EQ(spoolFiles(), 1u);
  free = kMinFree;  // the row's WAL allowance no longer fits
  EXPECT_EQ(send(".\r\n"), "452 4.3.1 Insufficient system storage: spool disk nearly full\r\n");
  EXPECT_EQ(rows(), 0);
  EXPECT_EQ(spoolFiles(), 0u);
}

TEST(IntakeHealth, AnInsertMeetingCorruptionIs451AndEveryLaterMailToo) {
  db::Health::process().resetForTest();
  test::TempDir dir;
  const std::string url = "sqlite:" + (dir / "q.db");
  std::vector<int> roots;
  {
    db::Database made(url);
    made.migrate();
    made.session() << "PRAGMA wal_checkpoint(TRUNCATE)", Poco::Data::Keywords::now;
    made.session() << "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'messages' AND "
                      "rootpage > 1",
        Poco::Data::Keywords::into(roots), Poco::Data::Keywords::now;
  }
  {
    // Garbage over the queue table's and its indexes' root pages.
    std::fstream f(dir / "q.db", std::ios::in | std::ios::out | std::ios::binary);
    for (int root : roots) {
      f.seekp(static_cast<std::streamoff>(root - 1) * 4096);
      f << std::string(4096, 'g');
    }
  }
  Spool spool(dir / "spool", 8 << 20);
  spool.recover(nullptr);
  // It starts (the backlog count meets the damage and leaves it to Health)...
  GroupCommitter committer(url, spool);
  EXPECT_TRUE(db::Health::process().corrupt());
  db::Health::process().resetForTest();
  Intake intake(spool, committer, {0, 0, "s"});
  ASSERT_EQ(intake.admit(0).outcome, Outcome::Ok);
  // ...and the first insert meets it again: 451, the record marked dead, the state set.
  StoreResult r;
  auto writer = intake.open(r);
  ASSERT_TRUE(writer->write("Subject: x\r\n\r\nhello\r\n"));
  Envelope env;
  env.sender = "a@client.test";
  env.recipients = {db::Recipient("watch@bcc.test")};
  auto result = commitAndWait(*writer, env, "");
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_FALSE(result.noRoom);
  EXPECT_TRUE(db::Health::process().corrupt());
  auto later = intake.admit(0);
  EXPECT_EQ(later.outcome, Outcome::TempFail);
  EXPECT_FALSE(later.noRoom);  // 451 4.3.0, not 452
  committer.stop();
  db::Health::process().resetForTest();
}
