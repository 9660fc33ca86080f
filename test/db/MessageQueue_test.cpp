#include "db/MessageQueue.h"

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <thread>

#include "db/Database.h"
#include "db/Schema.h"
#include "test/TempDir.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;

namespace {

db::MessageRecord record(const std::string& id) {
  db::MessageRecord r;
  r.id = id;
  r.sink = "sink-a";
  r.receivedAt = "2026-11-25T04:00:00.000Z";
  r.sender = "alice@example.org";
  r.recipients = {{"watch@bcc.test", "rfc822;watch@bcc.test", "NEVER"}, {"w2@bcc.test", "", ""}};
  r.clientIp = "127.0.0.1";
  r.helo = "mta.test";
  r.tls = true;
  r.headerMessageId = "<m1@example.org>";
  r.size = 1234;
  r.sha256 = std::string(64, 'a');
  r.spoolFile = id + ".eml";
  r.body = "8BITMIME";
  return r;
}

}  // namespace

TEST(MessageQueue, InsertedRowsComeBackPendingWithEveryField) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  db::MessageQueue q(database);
  q.insertPending({record("01A"), record("01B")});
  auto rows = q.list({});
  ASSERT_EQ(rows.size(), 2u);
  const auto& m = rows[0];
  EXPECT_EQ(m.id, "01A");
  EXPECT_EQ(m.state, "pending");
  EXPECT_EQ(m.sender, "alice@example.org");
  ASSERT_EQ(m.recipients.size(), 2u);
  EXPECT_EQ(m.recipients[0].address, "watch@bcc.test");
  EXPECT_EQ(m.recipients[0].orcpt, "rfc822;watch@bcc.test");
  EXPECT_EQ(m.recipients[0].notify, "NEVER");
  EXPECT_EQ(m.recipients[1].notify, "");
  EXPECT_EQ(m.clientIp, "127.0.0.1");
  EXPECT_EQ(m.helo, "mta.test");
  EXPECT_TRUE(m.tls);
  EXPECT_EQ(m.headerMessageId, "<m1@example.org>");
  EXPECT_EQ(m.size, 1234);
  EXPECT_EQ(m.sha256, std::string(64, 'a'));
  EXPECT_EQ(m.body, "8BITMIME");
  EXPECT_EQ(m.envid, "");
  EXPECT_EQ(q.countInState("pending"), 2);
  EXPECT_EQ(q.find("01B")->spoolFile, "01B.eml");
  EXPECT_FALSE(q.find("nope").has_value());
}

TEST(MessageQueue, FindAllGivesTheRowsInTheOrderAskedWithoutTheMissingOnes) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  db::MessageQueue q(database);
  q.insertPending({record("01A"), record("01B")});
  auto rows = q.findAll({"01B", "nope", "01A"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, "01B");
  EXPECT_EQ(rows[1].id, "01A");
  EXPECT_EQ(rows[1].recipients.size(), 2u);
  EXPECT_TRUE(q.findAll({}).empty());
}

TEST(MessageQueue, ABatchIsAllOrNothing) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  db::MessageQueue q(database);
  q.insertPending({record("01A")});
  // The second batch repeats 01A: the primary key refuses it and 01C must not stay.
  EXPECT_ANY_THROW(q.insertPending({record("01C"), record("01A")}));
  EXPECT_EQ(q.list({}).size(), 1u);
  EXPECT_FALSE(q.find("01C").has_value());
}

TEST(MessageQueue, ListFiltersByStateAndLimit) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  db::MessageQueue q(database);
  q.insertPending({record("01A"), record("01B"), record("01C")});
  database.session() << "UPDATE messages SET state = 'checked' WHERE id = '01B'", now;
  EXPECT_EQ(q.list({"pending", 0}).size(), 2u);
  EXPECT_EQ(q.list({"checked", 0}).at(0).id, "01B");
  EXPECT_EQ(q.list({"", 1}).size(), 1u);
  auto counts = q.countByState();
  EXPECT_EQ(counts["pending"], 2);
  EXPECT_EQ(counts["checked"], 1);
}

TEST(MessageQueue, ExpiredLeasesReturnToPending) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  db::MessageQueue q(database);
  q.insertPending({record("01A"), record("01B")});
  database.session() << "UPDATE messages SET state = 'analyzing', lease_until = 1000"
                        " WHERE id = '01A'",
      now;
  database.session() << "UPDATE messages SET state = 'analyzing', lease_until = 9000"
                        " WHERE id = '01B'",
      now;
  EXPECT_EQ(q.releaseExpiredLeases(5000), 1);
  EXPECT_EQ(q.find("01A")->state, "pending");
  EXPECT_EQ(q.find("01B")->state, "analyzing");
}

TEST(Schema, MigrationIsIdempotentAndRecordsItsVersion) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  database.migrate();
  int version = 0;
  database.session() << "SELECT MAX(version) FROM schema_migrations", into(version), now;
  EXPECT_EQ(version, db::latestSchemaVersion());
}

TEST(Database, SqliteRunsInWalWithFullSync) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  std::string mode;
  int sync = 0, busy = 0;
  database.session() << "PRAGMA journal_mode", into(mode), now;
  database.session() << "PRAGMA synchronous", into(sync), now;
  database.session() << "PRAGMA busy_timeout", into(busy), now;
  EXPECT_EQ(mode, "wal");
  EXPECT_EQ(sync, 2);  // FULL
  EXPECT_GT(busy, 0);
}

TEST(Database, UnopenablePathIsAReadableError) {
  try {
    db::Database database("sqlite:/nonexistent/dir/q.db");
    FAIL() << "opened";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/q.db"), std::string::npos);
  }
}

TEST(MessageQueueClaim, ClaimsOldestOfItsOwnSinkCountsAttemptsAndChecks) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  db::MessageQueue q(database);
  auto a = record("01A"), b = record("01B"), other = record("01C");
  a.receivedAt = "2026-11-25T04:00:02.000Z";
  b.receivedAt = "2026-11-25T04:00:01.000Z";
  other.sink = "sink-b";
  other.receivedAt = "2026-11-25T04:00:00.000Z";
  q.insertPending({a, b, other});
  auto first = q.claimNext("sink-a", 5000, 9000, "2026-11-25T04:01:00.000Z");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, "01B");  // oldest of sink-a; sink-b's is not ours
  EXPECT_EQ(first->state, "analyzing");
  EXPECT_EQ(first->attempts, 1);
  EXPECT_EQ(first->leaseOwner, "sink-a");
  EXPECT_EQ(first->deadlineMs, 9000);
  EXPECT_EQ(q.claimNext("sink-a", 5000, 9000, "x")->id, "01A");
  EXPECT_FALSE(q.claimNext("sink-a", 5000, 9000, "x"));
  EXPECT_EQ(q.analyzingBy("sink-a").size(), 2u);
  EXPECT_EQ(q.renewLeases("sink-a", 7000), 2);

  EXPECT_FALSE(q.markChecked("01B", "sink-b", "clean", "t"));  // not its lease
  EXPECT_TRUE(q.markChecked("01B", "sink-a", "dangerous", "2026-11-25T04:02:00.000Z"));
  EXPECT_FALSE(q.markChecked("01B", "sink-a", "clean", "t"));  // once
  auto checked = q.find("01B");
  EXPECT_EQ(checked->state, "checked");
  EXPECT_EQ(checked->verdict, "dangerous");
  EXPECT_EQ(checked->checkedAt, "2026-11-25T04:02:00.000Z");
  EXPECT_EQ(checked->leaseOwner, "");

  // A restart returns what the previous run held; the next claim counts attempt 2.
  EXPECT_EQ(q.releaseLeasesOf("sink-a"), 1);
  auto again = q.claimNext("sink-a", 5000, 9000, "x");
  EXPECT_EQ(again->id, "01A");
  EXPECT_EQ(again->attempts, 2);
  q.markFailed("01A", "gave up after 2 attempts", "unscanned", "2026-11-25T04:03:00.000Z");
  EXPECT_EQ(q.find("01A")->state, "failed");
  EXPECT_EQ(q.find("01A")->reason, "gave up after 2 attempts");
  EXPECT_EQ(q.find("01A")->verdict, "unscanned");
}

TEST(MessageQueueClaim, ConcurrentClaimersEachGetDifferentMessages) {
  test::TempDir dir;
  const std::string url = "sqlite:" + (dir / "q.db");
  db::Database database(url);
  database.migrate();
  db::MessageQueue q(database);
  std::vector<db::MessageRecord> rows;
  for (int i = 0; i < 200; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "M%03d", i);
    rows.push_back(record(id));
  }
  q.insertPending(rows);
  std::mutex mutex;
  std::vector<std::string> claimed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      db::Database own(url);
      db::MessageQueue mine(own);
      while (auto m = mine.claimNext("sink-a", 1, 2, "x")) {
        std::lock_guard lock(mutex);
        claimed.push_back(m->id);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed.size(), 200u);
  EXPECT_EQ(std::adjacent_find(claimed.begin(), claimed.end()), claimed.end());
}

TEST(MessageQueueClaim, ABatchTakesTheOldestOfItsSinkInOneGoOldestFirst) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  db::MessageQueue q(database);
  std::vector<db::MessageRecord> rows;
  for (const char* id : {"01E", "01D", "01C", "01B", "01A"}) {
    rows.push_back(record(id));
    rows.back().receivedAt = std::string("2026-11-25T04:00:0") + id[2] + ".000Z";
  }
  rows.push_back(record("01Z"));
  rows.back().sink = "sink-b";
  rows.back().receivedAt = "2026-11-25T03:00:00.000Z";
  q.insertPending(rows);
  auto first = q.claim("sink-a", 3, 5000, 9000, "2026-11-25T04:01:00.000Z");
  ASSERT_EQ(first.size(), 3u);
  EXPECT_EQ(first[0].id, "01A");
  EXPECT_EQ(first[1].id, "01B");
  EXPECT_EQ(first[2].id, "01C");
  for (const auto& m : first) {
    EXPECT_EQ(m.state, "analyzing");
    EXPECT_EQ(m.attempts, 1);
    EXPECT_EQ(m.leaseOwner, "sink-a");
    EXPECT_EQ(m.deadlineMs, 9000);
    EXPECT_EQ(m.updatedAt, "2026-11-25T04:01:00.000Z");
    ASSERT_EQ(m.recipients.size(), 2u);  // whole records, as find() gives them
    EXPECT_EQ(m.recipients[0].orcpt, "rfc822;watch@bcc.test");
  }
  auto rest = q.claim("sink-a", 3, 5000, 9000, "x");
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].id, "01D");
  EXPECT_TRUE(q.claim("sink-a", 3, 5000, 9000, "x").empty());
  EXPECT_EQ(q.find("01Z")->state, "pending");  // another sink's
}

TEST(MessageQueueClaim, ConcurrentBatchClaimersEachGetDifferentMessages) {
  test::TempDir dir;
  const std::string url = "sqlite:" + (dir / "q.db");
  db::Database database(url);
  database.migrate();
  db::MessageQueue q(database);
  std::vector<db::MessageRecord> rows;
  for (int i = 0; i < 203; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "M%03d", i);
    rows.push_back(record(id));
  }
  q.insertPending(rows);
  std::mutex mutex;
  std::vector<std::string> claimed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      db::Database own(url, db::Durability::Deferred);  // as the workers' connections
      db::MessageQueue mine(own);
      for (auto batch = mine.claim("sink-a", 8, 1, 2, "x"); !batch.empty();
           batch = mine.claim("sink-a", 8, 1, 2, "x")) {
        std::lock_guard lock(mutex);
        for (const auto& m : batch) claimed.push_back(m.id);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::sort(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed.size(), 203u);
  EXPECT_EQ(std::adjacent_find(claimed.begin(), claimed.end()), claimed.end());
}

TEST(MessageQueueClaim, UnclaimGivesBackOnlyWhatWasNeverBegunWithItsAttempt) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  db::MessageQueue q(database);
  q.insertPending({record("01A"), record("01B"), record("01C")});
  ASSERT_EQ(q.claim("sink-a", 3, 5000, 9000, "x").size(), 3u);
  database.session() << "UPDATE messages SET extracted_at = 'x' WHERE id = '01A'", now;
  EXPECT_EQ(q.unclaim({"01A", "01B", "01C"}, "sink-b"), 0);  // not its claim
  EXPECT_EQ(q.unclaim({"01A", "01B", "01C"}, "sink-a"), 2);
  EXPECT_EQ(q.find("01A")->state, "analyzing");  // begun: stays with its worker
  auto back = q.find("01B");
  EXPECT_EQ(back->state, "pending");
  EXPECT_EQ(back->attempts, 0);
  EXPECT_EQ(back->leaseOwner, "");
  EXPECT_EQ(q.claimNext("sink-a", 5000, 9000, "x")->attempts, 1);
}

TEST(MessageQueueClaim, MarkCheckedOfSeveralMarksWhatTheOwnerHoldsAndSaysWhich) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  db::MessageQueue q(database);
  q.insertPending({record("01A"), record("01B"), record("01C")});
  ASSERT_EQ(q.claim("sink-a", 2, 5000, 9000, "x").size(), 2u);  // 01C stays pending
  auto marked =
      q.markChecked({{"01A", "clean"}, {"01C", "clean"}, {"01B", "dangerous"}}, "sink-a", "t1");
  EXPECT_EQ(marked, (std::vector<std::string>{"01A", "01B"}));
  EXPECT_EQ(q.find("01B")->verdict, "dangerous");
  EXPECT_EQ(q.find("01B")->checkedAt, "t1");
  EXPECT_EQ(q.find("01C")->state, "pending");
  EXPECT_TRUE(q.markChecked({{"01A", "clean"}}, "sink-a", "t2").empty());  // once
}
