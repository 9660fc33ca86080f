// The spool record as the write-ahead log of its row: the intake commits rows without
// SQLite's fsync, so power loss may take the last commits; the next start restores them
// from the records, identical, and never restores a message that was answered 451.

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <sstream>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/SegmentReader.h"
#include "db/SpoolRows.h"
#include "db/SpooledMessage.h"
#include "sink/SpoolCheck.h"
#include "sink/smtp/GroupCommitter.h"
#include "sink/smtp/Intake.h"
#include "sink/smtp/Spool.h"
#include "test/TempDir.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;

namespace {

constexpr std::uint64_t kSegment = 64 * 1024;  // small: the lost commits span rotations

struct DataDir {
  test::TempDir dir;
  std::string url = "sqlite:" + (dir / "bccsink.db");
  DataDir() {
    db::Database database(url);
    database.migrate();
  }
  std::string spoolDir() const { return dir / "spool"; }
};

// An envelope with what a client may send in its fields: bytes above 0x7f, CR LF, quotes.
Envelope hostileEnvelope(int n) {
  Envelope env;
  env.sender = "s\xff" + std::to_string(n) + "\"q\r\n'@exa\x80mple.org";
  for (int k = 0; k <= n % 4; ++k) {
    env.recipients.push_back({"r" + std::to_string(k) + "\xfe@bcc.test",
                              k % 2 ? "rfc822;x\r\n+2B" : "", k % 3 ? "SUCCESS,DELAY" : ""});
  }
  // One that encodes an original recipient (recipient_bcc_maps): decoded when its row is
  // inserted, at intake and at recovery alike; never for an SMTP-mode message.
  env.recipients.push_back({"watch+u" + std::to_string(n) + "=Example.org@bcc.test", "", ""});
  env.clientIp = "192.0.2." + std::to_string(n % 250);
  env.helo = "helo\r\n\xff" + std::to_string(n);
  env.tls = n % 2 == 0;
  env.envid = n % 3 ? "env\xfe" + std::to_string(n) : "";
  env.ret = n % 3 ? "HDRS" : "";
  env.body = n % 2 ? "8BITMIME" : "";
  // Every third an SMTP-mode message: its hold row comes back with it.
  env.hold = n % 3 == 0;
  env.smtputf8 = env.hold && n % 2 == 0;
  env.xforward = env.hold ? "NAME=mx\xff" + std::to_string(n) + "\nADDR=192.0.2.9\n" : "";
  return env;
}

// Every column of every row of a table, in the order given, as text ('<null>' for NULL).
std::vector<std::string> dump(db::Database& database, const std::string& select) {
  Poco::Data::Statement stmt(database.session());
  stmt << select;
  stmt.execute();
  Poco::Data::RecordSet rs(stmt);
  std::vector<std::string> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    std::string row;
    for (std::size_t c = 0; c < rs.columnCount(); ++c) {
      row += rs.columnName(c) + "=" +
             (rs.value(c).isEmpty() ? std::string("<null>") : rs.value(c).convert<std::string>()) +
             "|";
    }
    out.push_back(row);
  }
  return out;
}

const char* kMessages = "SELECT * FROM messages ORDER BY id";
const char* kRecipients = "SELECT * FROM message_recipients ORDER BY msg_id, position";
const char* kHeld = "SELECT * FROM held ORDER BY msg_id";

// What a start does: recovery with the rows as the database has them, then the committer
// (which restores the missing rows before it takes new messages).
SpoolRecovery recoverWithRows(Spool& spool, const std::string& url) {
  db::Database database(url);
  db::SpoolRows rows(database);
  return spool.recover(
      [&rows](const std::vector<std::string>& ids) { return rows.locatorsOf(ids); });
}

std::string messageBytes(int n) {
  return "Subject: " + std::to_string(n) + "\r\n\r\n" + std::string(500 + 797 * (n % 9), 'm') +
         "\r\n";
}

}  // namespace

TEST(GroupCommitterRecovery, RowsLostWithTheMachineComeBackIdenticalFromTheirRecords) {
  DataDir data;
  constexpr int kCount = 60, kLost = 25;
  std::map<std::string, std::string> sent;  // id -> bytes
  {
    Spool spool(data.spoolDir(), kSegment);
    recoverWithRows(spool, data.url);
    GroupCommitter committer(data.url, spool);
    Intake intake(spool, committer, {0, 0, "sink-a"});
    for (int n = 0; n < kCount; ++n) {
      StoreResult r;
      auto w = intake.open(r);
      sent[w->id()] = messageBytes(n);
      w->write(sent[w->id()]);
      ASSERT_EQ(commitAndWait(*w, hostileEnvelope(n), "<m" + std::to_string(n) + "@x>").outcome,
                Outcome::Ok);
    }
  }
  std::vector<std::string> messagesBefore, recipientsBefore, heldBefore;
  {
    db::Database database(data.url);
    messagesBefore = dump(database, kMessages);
    recipientsBefore = dump(database, kRecipients);
    heldBefore = dump(database, kHeld);
    ASSERT_EQ(heldBefore.size(), static_cast<std::size_t>(kCount / 3));
    ASSERT_EQ(messagesBefore.size(), static_cast<std::size_t>(kCount));
    int originals = 0;
    for (const auto& row : recipientsBefore) {
      if (row.find("|original=<null>|") != std::string::npos) continue;
      ++originals;
      EXPECT_NE(row.find("|original=u"), std::string::npos) << row;
      EXPECT_NE(row.find("@example.org|"), std::string::npos) << row;  // lower-cased
    }
    EXPECT_EQ(originals, kCount - kCount / 3);  // the BCC copies', not SMTP mode's
    // What power loss does to commits that SQLite did not fsync: the last ones are gone.
    const std::string last =
        "(SELECT rowid FROM messages ORDER BY rowid DESC LIMIT " + std::to_string(kLost) + ")";
    database.session() << "DELETE FROM message_recipients WHERE msg_id IN"
                          " (SELECT id FROM messages WHERE rowid IN " +
                              last + ")",
        now;
    database.session() << "DELETE FROM held WHERE msg_id IN"
                          " (SELECT id FROM messages WHERE rowid IN " +
                              last + ")",
        now;
    database.session() << "DELETE FROM messages WHERE rowid IN " + last, now;
    ASSERT_EQ(dump(database, kMessages).size(), static_cast<std::size_t>(kCount - kLost));
  }
  Spool spool(data.spoolDir(), kSegment);
  auto r = recoverWithRows(spool, data.url);
  EXPECT_EQ(r.restorable.size(), static_cast<std::size_t>(kLost));
  EXPECT_TRUE(r.markedDead.empty());
  EXPECT_TRUE(r.problems.empty()) << r.problems.front();
  EXPECT_TRUE(r.droppedTail.empty()) << r.droppedTail;
  {
    GroupCommitter committer(data.url, spool);
    Intake intake(spool, committer, {0, 0, "sink-a"});
    db::Database database(data.url);
    EXPECT_EQ(dump(database, kMessages), messagesBefore);
    EXPECT_EQ(dump(database, kRecipients), recipientsBefore);
    EXPECT_EQ(dump(database, kHeld), heldBefore);
    EXPECT_EQ(committer.pendingCount(), kCount);
    // Appends go on after the restored records.
    StoreResult sr;
    auto w = intake.open(sr);
    sent[w->id()] = "after\r\n";
    w->write("after\r\n");
    EXPECT_EQ(commitAndWait(*w, hostileEnvelope(1), "").outcome, Outcome::Ok);
  }
  db::Database database(data.url);
  auto rows = db::MessageQueue(database).list({});
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kCount + 1));
  for (const auto& m : rows) {
    db::SpooledMessage message(data.spoolDir(), m.spoolFile);
    EXPECT_EQ(message.bytes(), sent[m.id]) << m.id;
    EXPECT_EQ(message.recordId(), m.id);
  }
  std::ostringstream out;
  EXPECT_EQ(checkSpool(database, data.spoolDir(), out), 0) << out.str();
  // A second start finds nothing to restore.
  Spool again(data.spoolDir(), kSegment);
  auto r2 = recoverWithRows(again, data.url);
  EXPECT_TRUE(r2.restorable.empty());
  EXPECT_TRUE(r2.markedDead.empty());
}

TEST(GroupCommitterRecovery, AFailedBatchIsDeadOnDiskBeforeItsAnswerAndIsNeverRestored) {
  DataDir data;
  std::map<std::string, std::string> sent;
  auto commitOne = [&](Intake& intake, int n) {
    StoreResult r;
    auto w = intake.open(r);
    auto bytes = messageBytes(n);
    w->write(bytes);
    auto result = commitAndWait(*w, hostileEnvelope(n), "");
    if (result.outcome == Outcome::Ok) sent[w->id()] = bytes;
    return result.outcome;
  };
  {
    Spool spool(data.spoolDir(), kSegment);
    recoverWithRows(spool, data.url);
    GroupCommitter committer(data.url, spool);
    Intake intake(spool, committer, {0, 0, "sink-a"});
    for (int n = 0; n < 3; ++n) ASSERT_EQ(commitOne(intake, n), Outcome::Ok);
    db::Database database(data.url);
    database.session() << "CREATE TRIGGER broken BEFORE INSERT ON messages"
                          " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
        now;
    for (int n = 3; n < 6; ++n) {
      ASSERT_EQ(commitOne(intake, n), Outcome::TempFail);
      // Answered 451: its record is already dead on disk.
      int dead = 0;
      for (const auto& segment : spool.segments()) {
        db::SegmentReader reader(data.spoolDir() + "/" + segment,
                                 db::SegmentReader::Verify::Messages);
        for (db::RecordHeader h; reader.next(h);) dead += h.dead ? 1 : 0;
      }
      EXPECT_EQ(dead, n - 2);
    }
    database.session() << "DROP TRIGGER broken", now;
  }
  Spool spool(data.spoolDir(), kSegment);
  auto r = recoverWithRows(spool, data.url);
  EXPECT_TRUE(r.restorable.empty()) << r.restorable.front();
  EXPECT_TRUE(r.markedDead.empty());
  GroupCommitter committer(data.url, spool);
  db::Database database(data.url);
  auto rows = db::MessageQueue(database).list({});
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& m : rows) EXPECT_EQ(sent.count(m.id), 1u) << m.id;
  std::ostringstream out;
  EXPECT_EQ(checkSpool(database, data.spoolDir(), out), 0) << out.str();
  EXPECT_NE(out.str().find("3 marked dead"), std::string::npos) << out.str();
}
