// `bccsink db check` and `db rebuild` underneath: SQLite's integrity_check finds garbage
// written over pages of a real database (made by the schema, holding the intake's rows),
// and a rebuild from the spool gives every live message its pending row again: the small
// ones from their records' envelopes, a large one (ID.eml) from its file.

#include "sink/DbRebuild.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "db/Database.h"
#include "db/IntegrityCheck.h"
#include "db/MessageQueue.h"
#include "db/MessageSearch.h"
#include "sink/smtp/GroupCommitter.h"
#include "sink/smtp/Intake.h"
#include "sink/smtp/Spool.h"
#include "test/TempDir.h"

using namespace bccsink;

namespace {

namespace fs = std::filesystem;

// Takes `message` as the intake does (record or standalone file, row committed).
std::string receive(Intake& intake, const std::string& message, const std::string& rcpt) {
  StoreResult r;
  auto writer = intake.open(r);
  EXPECT_TRUE(writer->write(message));
  Envelope env;
  env.clientIp = "192.0.2.1";
  env.helo = "client.test";
  env.sender = "alice@example.org";
  env.recipients = {db::Recipient(rcpt)};
  const auto id = writer->id();
  EXPECT_EQ(commitAndWait(*writer, env, "<m@x>").outcome, Outcome::Ok);
  return id;
}

// Garbage over `count` pages from the middle of the file (page 1, the header, is left:
// SQLite would then call it "not a database", the other case).
void damage(const std::string& path, int count) {
  {
    db::Database database("sqlite:" + path);
    database.session() << "PRAGMA wal_checkpoint(TRUNCATE)", Poco::Data::Keywords::now;
  }
  const auto pages = static_cast<long>(fs::file_size(path) / 4096);
  ASSERT_GE(pages, count + 4);
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  std::mt19937 random(18);
  f.seekp((pages / 2 - count / 2) * 4096);
  for (int i = 0; i < count * 4096; ++i) f.put(static_cast<char>(random()));
}

class DbRebuildTest : public ::testing::Test {
 protected:
  std::string dbPath() const { return dir / "bccsink.db"; }
  // Three messages: two records and one standalone file (over 1 MiB).
  void fill() {
    {
      db::Database database("sqlite:" + dbPath());
      database.migrate();
    }
    Spool spool(dir / "spool", 8 << 20);
    spool.recover(nullptr);
    GroupCommitter committer("sqlite:" + dbPath(), spool);
    Intake intake(spool, committer, {0, 0, "sink-a"});
    ids.push_back(receive(intake, "Subject: one\r\n\r\nfirst\r\n", "watch@bcc.test"));
    ids.push_back(receive(intake, "Subject: two\r\n\r\nsecond\r\n", "watch@bcc.test"));
    ids.push_back(receive(
        intake,
        "Received: from c (unknown [192.0.2.1])\r\n\tby sink.test (bccsink) with ESMTP id X\r\n"
        "\tfor <big@bcc.test>; Sun, 6 Dec 2026 10:00:00 +0000\r\nSubject: big\r\n\r\n" +
            std::string(1500000, 'b') + "\r\n",
        "big@bcc.test"));
    committer.stop();
  }

  test::TempDir dir;
  std::vector<std::string> ids;
};

}  // namespace

TEST_F(DbRebuildTest, IntegrityCheckFindsGarbageOverPagesOfARealDatabase) {
  fill();
  {
    db::Database database("sqlite:" + dbPath());
    EXPECT_TRUE(db::checkIntegrity(database, db::IntegrityDepth::Full).ok);
  }
  damage(dbPath(), 6);
  db::Database database("sqlite:" + dbPath());
  auto r = db::checkIntegrity(database, db::IntegrityDepth::Full, 5);
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.corrupt);
  ASSERT_FALSE(r.problems.empty());
  EXPECT_LE(r.problems.size(), 5u);
  auto quick = db::checkIntegrity(database, db::IntegrityDepth::Quick, 5);
  EXPECT_TRUE(quick.corrupt);
}

TEST_F(DbRebuildTest, ARebuildGivesEveryLiveMessageOfTheSpoolItsPendingRowAgain) {
  fill();
  damage(dbPath(), 6);
  std::ostringstream progress;
  auto result = rebuildDatabase(dbPath(), dir / "spool", "sink-a", &progress);
  EXPECT_EQ(result.fromRecords, 2u);
  EXPECT_EQ(result.withoutEnvelope, 1u);
  EXPECT_TRUE(result.problems.empty());
  ASSERT_FALSE(result.movedTo.empty());
  EXPECT_TRUE(fs::exists(result.movedTo));
  EXPECT_NE(progress.str().find("moved the damaged database to"), std::string::npos);

  db::Database database("sqlite:" + dbPath());
  EXPECT_TRUE(db::checkIntegrity(database, db::IntegrityDepth::Full).ok);
  db::MessageQueue queue(database);
  EXPECT_EQ(queue.countBacklog(), 3);
  for (const auto& id : ids) {
    auto row = queue.find(id);
    ASSERT_TRUE(row) << id;
    EXPECT_EQ(row->state, "pending");
    EXPECT_EQ(row->sink, "sink-a");
    ASSERT_EQ(row->recipients.size(), 1u) << id;
  }
  auto small = queue.find(ids[0]);
  EXPECT_EQ(small->sender, "alice@example.org");
  EXPECT_EQ(small->recipients[0].address, "watch@bcc.test");
  EXPECT_EQ(small->clientIp, "192.0.2.1");
  auto big = queue.find(ids[2]);
  EXPECT_EQ(big->spoolFile, ids[2] + ".eml");
  EXPECT_EQ(big->sender, "");  // the spool holds no envelope for a standalone file
  EXPECT_EQ(big->recipients[0].address, "big@bcc.test");
  EXPECT_GT(big->size, 1500000);
  EXPECT_EQ(big->sha256.size(), 64u);
}

TEST_F(DbRebuildTest, DeadRecordsAreNotRestored) {
  fill();
  Spool spool(dir / "spool", 8 << 20);
  spool.recover(nullptr);
  auto row = [&] {
    db::Database database("sqlite:" + dbPath());
    return *db::MessageQueue(database).find(ids[1]);
  }();
  std::string error;
  ASSERT_TRUE(spool.markDead({row.spoolFile}, error)) << error;
  auto result = rebuildDatabase(dbPath(), dir / "spool", "sink-a");
  EXPECT_EQ(result.fromRecords, 1u);
  EXPECT_EQ(result.deadRecords, 1u);
  db::Database database("sqlite:" + dbPath());
  EXPECT_FALSE(db::MessageQueue(database).find(ids[1]));
}

// A copy without an envelope (over 1 MiB, no `for` in bccsink's own Received header: it
// had several recipients) gets none from a "for <" the sender wrote further down.
TEST_F(DbRebuildTest, ARecipientIsReadOnlyFromBccsinksOwnReceivedHeader) {
  {
    db::Database database("sqlite:" + dbPath());
    database.migrate();
  }
  {
    Spool spool(dir / "spool", 8 << 20);
    spool.recover(nullptr);
    GroupCommitter committer("sqlite:" + dbPath(), spool);
    Intake intake(spool, committer, {0, 0, "sink-a"});
    ids.push_back(receive(
        intake,
        "Received: from c (unknown [192.0.2.1])\r\n\tby sink.test (bccsink) with ESMTP id X\r\n"
        "\t; Sun, 6 Dec 2026 10:00:00 +0000\r\nX-Note: y\r\n\tfor <victim@corp.example>\r\n"
        "Subject: big\r\n\r\n" +
            std::string(1500000, 'b') + "\r\n",
        "a@bcc.test"));
    committer.stop();
  }
  damage(dbPath(), 6);
  auto result = rebuildDatabase(dbPath(), dir / "spool", "sink-a", nullptr);
  EXPECT_EQ(result.withoutEnvelope, 1u);
  db::Database database("sqlite:" + dbPath());
  auto row = db::MessageQueue(database).find(ids[0]);
  ASSERT_TRUE(row.has_value());
  EXPECT_TRUE(row->recipients.empty());
}
