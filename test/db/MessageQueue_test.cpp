// The queue on both engines (test/db/Engines.h): intake rows, listing, claims with their
// leases, and what is left of SQLite's own settings.

#include "db/MessageQueue.h"

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <latch>
#include <mutex>
#include <set>
#include <thread>

#include "db/Database.h"
#include "db/Schema.h"
#include "test/TempDir.h"
#include "test/db/Engines.h"

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

// `count` rows of `sink`, ids PREFIX000, PREFIX001, ...
std::vector<db::MessageRecord> records(const std::string& prefix, int count,
                                       const std::string& sink = "sink-a") {
  std::vector<db::MessageRecord> rows;
  for (int i = 0; i < count; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "%s%03d", prefix.c_str(), i);
    rows.push_back(record(id));
    rows.back().sink = sink;
  }
  return rows;
}

}  // namespace

class MessageQueueTest : public test::EngineTest {
 protected:
  db::MessageQueue q{database()};
};

TEST_P(MessageQueueTest, InsertedRowsComeBackPendingWithEveryField) {
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
  EXPECT_EQ(q.countBacklog(), 2);
  EXPECT_EQ(q.find("01B")->spoolFile, "01B.eml");
  EXPECT_FALSE(q.find("nope").has_value());
  EXPECT_EQ(q.spoolFiles().size(), 2u);
}

TEST_P(MessageQueueTest, HostileTextFromTheEnvelopeIsStoredTheSameOnBothEngines) {
  // PostgreSQL refuses a byte that is not UTF-8 and would end the text at a NUL; SQLite
  // would keep both. Stored as db::storedText makes it, the rows read the same on both.
  using namespace std::string_literals;
  const std::string replacement = "\xEF\xBF\xBD";  // U+FFFD
  auto m = record("01H");
  m.sender = "al\xE9"s + "ce\0x@example.org"s;
  m.helo = "mta\xE9\0.test"s;
  m.headerMessageId = "<\xFF@x>"s;
  m.envid = "env\0id"s;
  m.recipients = {{"w\xE9@bcc.test"s, "rfc822;w\xE9\0@bcc.test"s, "NE\0VER"s}};
  m.sender += "\xC3\xA9";  // valid UTF-8 stays
  q.insertPending({m});
  auto back = q.find("01H");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->sender, "al" + replacement + "cex@example.org\xC3\xA9");
  EXPECT_EQ(back->helo, "mta" + replacement + ".test");
  EXPECT_EQ(back->headerMessageId, "<" + replacement + "@x>");
  EXPECT_EQ(back->envid, "envid");
  ASSERT_EQ(back->recipients.size(), 1u);
  EXPECT_EQ(back->recipients[0].address, "w" + replacement + "@bcc.test");
  EXPECT_EQ(back->recipients[0].orcpt, "rfc822;w" + replacement + "@bcc.test");
  EXPECT_EQ(back->recipients[0].notify, "NEVER");

  ASSERT_TRUE(q.claimNext("sink-a", 5000, 9000, "x"));
  EXPECT_TRUE(q.release("01H", "sink-a", "read \xE9\0rror"s));
  EXPECT_EQ(q.find("01H")->reason, "read " + replacement + "rror");
  q.markFailed("01H", "gave up on \xFF"s, "unscanned", "t");
  EXPECT_EQ(q.find("01H")->reason, "gave up on " + replacement);
}

TEST_P(MessageQueueTest, FindAllGivesTheRowsInTheOrderAskedWithoutTheMissingOnes) {
  q.insertPending({record("01A"), record("01B")});
  auto rows = q.findAll({"01B", "nope", "01A"});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, "01B");
  EXPECT_EQ(rows[1].id, "01A");
  EXPECT_EQ(rows[1].recipients.size(), 2u);
  EXPECT_TRUE(q.findAll({}).empty());
}

TEST_P(MessageQueueTest, FindAllOfMoreThanOneQueryHoldsEveryRowWithItsRecipients) {
  q.insertPending(records("M", 1203));
  std::vector<std::string> ids;
  for (const auto& r : records("M", 1203)) ids.push_back(r.id);
  std::reverse(ids.begin(), ids.end());
  auto rows = q.findAll(ids);
  ASSERT_EQ(rows.size(), 1203u);
  EXPECT_EQ(rows.front().id, "M1202");
  for (const auto& r : rows) ASSERT_EQ(r.recipients.size(), 2u) << r.id;
}

TEST_P(MessageQueueTest, ABatchIsAllOrNothing) {
  q.insertPending({record("01A")});
  // The second batch repeats 01A: the primary key refuses it and 01C must not stay. (On
  // PostgreSQL the statement failed after a row that succeeded: db::ReusedStatement.)
  EXPECT_ANY_THROW(q.insertPending({record("01C"), record("01A")}));
  EXPECT_EQ(q.list({}).size(), 1u);
  EXPECT_FALSE(q.find("01C").has_value());
}

TEST_P(MessageQueueTest, ListFiltersByStateAndLimit) {
  q.insertPending({record("01A"), record("01B"), record("01C")});
  database().session() << "UPDATE messages SET state = 'checked' WHERE id = '01B'", now;
  EXPECT_EQ(q.list({"pending", 0}).size(), 2u);
  EXPECT_EQ(q.list({"checked", 0}).at(0).id, "01B");
  EXPECT_EQ(q.list({"", 1}).size(), 1u);
  auto counts = q.countByState();
  EXPECT_EQ(counts["pending"], 2);
  EXPECT_EQ(counts["checked"], 1);
}

TEST_P(MessageQueueTest, ExpiredLeasesReturnToPending) {
  q.insertPending({record("01A"), record("01B")});
  database().session() << "UPDATE messages SET state = 'analyzing', lease_until = 1000"
                          " WHERE id = '01A'",
      now;
  database().session() << "UPDATE messages SET state = 'analyzing', lease_until = 9000"
                          " WHERE id = '01B'",
      now;
  EXPECT_EQ(q.releaseExpiredLeases(5000), 1);
  EXPECT_EQ(q.find("01A")->state, "pending");
  EXPECT_EQ(q.find("01B")->state, "analyzing");
}

TEST_P(MessageQueueTest, MigrationIsIdempotentAndRecordsItsVersion) {
  database().migrate();
  int version = 0;
  database().session() << "SELECT MAX(version) FROM schema_migrations", into(version), now;
  EXPECT_EQ(version, db::latestSchemaVersion());
}

TEST_P(MessageQueueTest, ClaimsOldestOfItsOwnSinkCountsAttemptsAndChecks) {
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
  EXPECT_EQ(first->recipients.size(), 2u);
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

TEST_P(MessageQueueTest, ABatchTakesTheOldestOfItsSinkInOneGoOldestFirst) {
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
    EXPECT_EQ(m.recipients[1].orcpt, "");
  }
  // Fewer left than asked: each row has its own recipients, none twice.
  auto rest = q.claim("sink-a", 3, 5000, 9000, "x");
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].id, "01D");
  EXPECT_EQ(rest[0].recipients.size(), 2u);
  EXPECT_EQ(rest[1].recipients.size(), 2u);
  EXPECT_TRUE(q.claim("sink-a", 3, 5000, 9000, "x").empty());
  EXPECT_EQ(q.find("01Z")->state, "pending");  // another sink's
}

TEST_P(MessageQueueTest, EachSinkClaimsOnlyItsOwnMessages) {
  auto rows = records("A", 20, "sink-a");
  for (auto& r : records("B", 20, "sink-b")) rows.push_back(r);
  q.insertPending(rows);
  auto otherDb = store_.open();
  db::MessageQueue other(*otherDb);
  std::set<std::string> a, b;
  // Interleaved, in batches of different sizes, until neither finds any.
  for (bool more = true; more;) {
    auto x = q.claim("sink-a", 3, 5000, 9000, "x");
    auto y = other.claim("sink-b", 4, 5000, 9000, "x");
    for (const auto& m : x) EXPECT_TRUE(a.insert(m.id).second) << m.id;
    for (const auto& m : y) EXPECT_TRUE(b.insert(m.id).second) << m.id;
    more = !x.empty() || !y.empty();
  }
  ASSERT_EQ(a.size(), 20u);
  ASSERT_EQ(b.size(), 20u);
  EXPECT_EQ(*a.begin(), "A000");
  EXPECT_EQ(*a.rbegin(), "A019");
  EXPECT_EQ(*b.begin(), "B000");
  EXPECT_EQ(*b.rbegin(), "B019");
  for (const auto& m : q.analyzingBy("sink-a")) EXPECT_EQ(m.sink, "sink-a");
}

// Each of `threads` claimers, with a connection of its own, claims `batch` at a time (1:
// claimNext) and works a moment on it, until none is left; what each got.
std::vector<std::vector<std::string>> claimConcurrently(const test::EngineStore& store, int threads,
                                                        std::size_t batch) {
  std::vector<std::vector<std::string>> got(threads);
  std::latch ready(threads);
  std::vector<std::thread> running;
  for (int t = 0; t < threads; ++t) {
    running.emplace_back([&, t] {
      db::Database own(store.url(), db::Durability::Deferred);  // as the workers' connections
      db::MessageQueue mine(own);
      ready.arrive_and_wait();
      while (true) {
        auto claimed =
            batch == 1 ? std::vector<db::MessageRecord>() : mine.claim("sink-a", batch, 1, 2, "x");
        if (batch == 1) {
          if (auto m = mine.claimNext("sink-a", 1, 2, "x")) claimed.push_back(*m);
        }
        if (claimed.empty()) break;
        for (const auto& m : claimed) got[t].push_back(m.id);
        std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    });
  }
  for (auto& t : running) t.join();
  return got;
}

void expectEachOnceAndWorkForAll(const std::vector<std::vector<std::string>>& got,
                                 std::size_t total) {
  std::vector<std::string> all;
  for (const auto& mine : got) {
    EXPECT_FALSE(mine.empty()) << "a claimer got no work";
    all.insert(all.end(), mine.begin(), mine.end());
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all.size(), total);
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
}

TEST_P(MessageQueueTest, ConcurrentClaimersEachGetDifferentMessages) {
  q.insertPending(records("M", 200));
  q.insertPending(records("X", 10, "sink-b"));  // never taken by sink-a's claimers
  auto got = claimConcurrently(store_, 4, 1);
  expectEachOnceAndWorkForAll(got, 200);
  EXPECT_EQ(q.countInState("pending"), 10);
}

TEST_P(MessageQueueTest, ConcurrentBatchClaimersEachGetDifferentMessages) {
  q.insertPending(records("M", 203));
  auto got = claimConcurrently(store_, 4, 8);
  expectEachOnceAndWorkForAll(got, 203);
  EXPECT_EQ(q.countInState("analyzing"), 203);
}

TEST_P(MessageQueueTest, UnclaimGivesBackOnlyWhatWasNeverBegunWithItsAttempt) {
  q.insertPending({record("01A"), record("01B"), record("01C")});
  ASSERT_EQ(q.claim("sink-a", 3, 5000, 9000, "x").size(), 3u);
  database().session() << "UPDATE messages SET extracted_at = 'x' WHERE id = '01A'", now;
  EXPECT_EQ(q.unclaim({"01A", "01B", "01C"}, "sink-b"), 0);  // not its claim
  EXPECT_EQ(q.unclaim({"01A", "01B", "01C"}, "sink-a"), 2);
  EXPECT_EQ(q.find("01A")->state, "analyzing");  // begun: stays with its worker
  auto back = q.find("01B");
  EXPECT_EQ(back->state, "pending");
  EXPECT_EQ(back->attempts, 0);
  EXPECT_EQ(back->leaseOwner, "");
  EXPECT_EQ(q.claimNext("sink-a", 5000, 9000, "x")->attempts, 1);
}

TEST_P(MessageQueueTest, MarkCheckedOfSeveralMarksWhatTheOwnerHoldsAndSaysWhich) {
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

BCCSINK_ON_BOTH_ENGINES(MessageQueueTest);

// The claim's statement is kept prepared on its connection. A connection the server
// dropped is opened again by the next use (Database::session()), and that one does not
// know the statement: the claim prepares it again instead of failing. (The kept one had
// succeeded before it failed: left behind, not freed twice; db::ReusedStatement.)
TEST(MessageQueuePostgres, AKeptClaimIsPreparedAgainOnAReopenedConnection) {
  test::EngineStore store(test::EngineKind::Postgres);
  auto db = store.open();
  db::MessageQueue q(*db);
  q.insertPending(records("M", 3));
  ASSERT_TRUE(q.claimNext("sink-a", 5000, 9000, "x"));
  int pid = 0;
  db->session() << "SELECT pg_backend_pid()", into(pid), now;
  auto admin = store.open();
  bool ended = false;
  admin->session() << "SELECT pg_terminate_backend(" + std::to_string(pid) + ")", into(ended), now;
  ASSERT_TRUE(ended);
  // Another statement finds the connection gone; the next use opens a new one.
  for (int i = 0; i < 50 && db->session().isConnected(); ++i) {
    try {
      q.countInState("pending");
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  auto next = q.claimNext("sink-a", 5000, 9000, "x");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, "M001");
  EXPECT_EQ(next->recipients.size(), 2u);
  EXPECT_EQ(q.claim("sink-a", 1, 5000, 9000, "x").at(0).id, "M002");
}

// SQLite's own settings: the file, its log and its waiting.
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
