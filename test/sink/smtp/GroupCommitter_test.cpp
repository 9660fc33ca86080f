#include "sink/smtp/GroupCommitter.h"

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/SegmentReader.h"
#include "db/SpooledMessage.h"
#include "sink/SpoolCheck.h"
#include "sink/smtp/Intake.h"
#include "sink/smtp/Spool.h"
#include "test/TempDir.h"
#include "test/sink/smtp/SpoolTesting.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;

namespace {

// Counts done() calls and waits for the expected number.
class Answers {
 public:
  MessageWriter::Done add() {
    return [this](StoreResult r) {
      std::lock_guard lock(mutex_);
      results_.push_back(r.outcome);
      cv_.notify_all();
    };
  }
  std::vector<Outcome> waitFor(std::size_t n) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return results_.size() >= n; });
    return results_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Outcome> results_;
};

// A data folder with a migrated database, its spool recovered.
struct DataDir {
  test::TempDir dir;
  std::string url = "sqlite:" + (dir / "bccsink.db");
  DataDir() {
    db::Database database(url);
    database.migrate();
  }
  std::string spoolDir() const { return dir / "spool"; }
};

}  // namespace

// The intake's promise, without sockets: sessions on 8 threads hand over 50 messages each
// without waiting; each one acknowledged has its row, and its bytes read back with the
// row's SHA-256. The committer grouped them: fewer disk syncs than messages.
TEST(GroupCommitter, ConcurrentMessagesLandReadableAndGroupIntoBatches) {
  DataDir data;
  Spool spool(data.spoolDir(), 1 << 20);
  spool.recover(nullptr);
  GroupCommitter committer(data.url, spool);
  Intake intake(spool, committer, {0, 0, "sink-a"});
  Answers answers;
  std::mutex sentMutex;
  std::map<std::string, std::string> sent;  // id -> bytes
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        StoreResult r;
        auto w = intake.open(r);
        std::string bytes = "Subject: " + std::to_string(t) + "/" + std::to_string(i) + "\r\n\r\n" +
                            std::string(100 + 397 * (i % 40), 'x') + "\r\n";
        {
          std::lock_guard lock(sentMutex);
          sent[w->id()] = bytes;
        }
        w->write(bytes.substr(0, 10));
        w->write(bytes.substr(10));
        w->commit(test::sampleEnvelope(), "<id>", answers.add());
        // The writer is gone before its commit is done.
      }
    });
  }
  for (auto& th : threads) th.join();
  auto results = answers.waitFor(400);
  EXPECT_EQ(std::count(results.begin(), results.end(), Outcome::Ok), 400);
  auto stats = committer.stats();
  committer.stop();
  EXPECT_EQ(stats.messages, 400u);
  EXPECT_LT(stats.syncs, 400u);
  EXPECT_LT(stats.batches, 400u);
  EXPECT_LT(stats.flushes, 400u);
  EXPECT_GT(stats.maxBatch, 1u);

  db::Database database(data.url);
  auto rows = db::MessageQueue(database).list({});
  ASSERT_EQ(rows.size(), 400u);
  for (const auto& m : rows) {
    db::SpooledMessage message(data.spoolDir(), m.spoolFile);
    EXPECT_EQ(message.bytes(), sent[m.id]) << m.id;
    EXPECT_EQ(message.recordId(), m.id);
    EXPECT_EQ(db::hex(db::sha256Of(message.bytes())), m.sha256) << m.id;
    EXPECT_EQ(m.size, static_cast<std::int64_t>(sent[m.id].size()));
    EXPECT_EQ(m.headerMessageId, "<id>");
  }
  std::ostringstream out;
  EXPECT_EQ(checkSpool(database, data.spoolDir(), out), 0) << out.str();
  EXPECT_NE(out.str().find("check: 400 rows, 400 spool files, 0 problems"), std::string::npos)
      << out.str();
}

TEST(GroupCommitter, ADatabaseFailureIsTemporaryAndLeavesOnlyDeadRecords) {
  DataDir data;
  {
    // Every insert fails as a broken database would; reading still works.
    db::Database database(data.url);
    database.session() << "CREATE TRIGGER broken BEFORE INSERT ON messages"
                          " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END",
        now;
  }
  Spool spool(data.spoolDir(), 1 << 20);
  spool.recover(nullptr);
  GroupCommitter committer(data.url, spool);
  Intake intake(spool, committer, {0, 0, "sink-a"});
  Answers answers;
  for (int i = 0; i < 5; ++i) {
    StoreResult r;
    auto w = intake.open(r);
    // The last one is large: its own file, removed again.
    w->write(i < 4 ? std::string("small\r\n") : std::string(3 << 20, 'L'));
    w->commit(test::sampleEnvelope(), "", answers.add());
  }
  auto results = answers.waitFor(5);
  EXPECT_EQ(std::count(results.begin(), results.end(), Outcome::TempFail), 5);
  committer.stop();
  EXPECT_TRUE(spool.files().empty());
  db::SegmentReader r(data.spoolDir() + "/segments/000000000001.seg",
                      db::SegmentReader::Verify::Messages);
  int dead = 0;
  for (db::RecordHeader h; r.next(h);) {
    EXPECT_TRUE(h.dead) << h.id;
    ++dead;
  }
  EXPECT_EQ(dead, 4);
  db::Database database(data.url);
  std::ostringstream out;
  EXPECT_EQ(checkSpool(database, data.spoolDir(), out), 0) << out.str();
  EXPECT_NE(out.str().find("4 marked dead"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("check: 0 rows, 0 spool files, 0 problems"), std::string::npos);
}

TEST(GroupCommitter, ALargeMessageGetsItsOwnFileAndReadsBackIdentically) {
  DataDir data;
  Spool spool(data.spoolDir(), 1 << 20);
  spool.recover(nullptr);
  GroupCommitter committer(data.url, spool);
  Intake intake(spool, committer, {0, 0, "sink-a"});
  std::string large;
  for (int i = 0; large.size() <= Spool::kMaxRecordMessage + 1000; ++i) {
    large += "line " + std::to_string(i) + " of a large message\r\n";
  }
  std::string exact(Spool::kMaxRecordMessage, 'e');
  std::map<std::string, std::string> sent;
  for (const auto* bytes : {&large, &exact}) {
    StoreResult r;
    auto w = intake.open(r);
    for (std::size_t at = 0; at < bytes->size(); at += 4000) w->write(bytes->substr(at, 4000));
    sent[w->id()] = *bytes;
    ASSERT_EQ(commitAndWait(*w, test::sampleEnvelope(), "").outcome, Outcome::Ok);
  }
  committer.stop();
  db::Database database(data.url);
  for (const auto& m : db::MessageQueue(database).list({})) {
    bool isLarge = sent[m.id].size() > Spool::kMaxRecordMessage;
    EXPECT_EQ(m.spoolFile, isLarge ? m.id + ".eml" : "segments/000000000001.seg#0");
    db::SpooledMessage message(data.spoolDir(), m.spoolFile);
    EXPECT_TRUE(message.bytes() == sent[m.id]) << m.spoolFile;
    EXPECT_EQ(db::hex(db::sha256Of(message.bytes())), m.sha256);
  }
  EXPECT_EQ(spool.files().size(), 1u);
  EXPECT_FALSE(std::filesystem::exists(data.spoolDir() + "/" + spool.files()[0] + ".tmp"));
}

TEST(GroupCommitter, AfterStopACommitIsAnsweredAtOnceWithATemporaryFailure) {
  DataDir data;
  Spool spool(data.spoolDir(), 1 << 20);
  GroupCommitter committer(data.url, spool);
  Intake intake(spool, committer, {0, 0, "sink-a"});
  committer.stop();
  StoreResult r;
  auto w = intake.open(r);
  w->write("x\r\n");
  auto result = commitAndWait(*w, test::sampleEnvelope(), "");
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_EQ(result.detail, "shutting down");
}
