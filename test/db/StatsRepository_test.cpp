#include "db/StatsRepository.h"

#include <gtest/gtest.h>

#include "db/Database.h"
#include "db/HoldQueue.h"
#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "db/Schema.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

namespace {

db::MessageRecord record(const std::string& id, const std::string& receivedAt,
                         const std::string& sink = "sink-a") {
  auto r = test::sampleRecord(id, receivedAt, sink);
  r.recipients.push_back({"audit@bcc.test", "", ""});
  return r;
}

db::StatsRow row(std::int64_t start, std::int64_t end, const std::string& sink = "sink-a") {
  return {sink, start, end, "2026-11-30T04:10:00.000Z", "{\"start\":" + std::to_string(start) + "}",
          ""};
}

}  // namespace

class StatsRepositoryTest : public test::EngineTest {
 protected:
  db::Database& database = *db_;
  db::StatsRepository repo{database};
};

TEST(StatsSchema, SchemaFiveIsTheNewest) {
  EXPECT_EQ(db::latestSchemaVersion(), 9);
}

TEST_P(StatsRepositoryTest, AnIntervalIsStoredOncePerSinkAndStart) {
  EXPECT_FALSE(repo.latest("sink-a"));
  EXPECT_TRUE(repo.save(row(0, 300000)));
  EXPECT_TRUE(repo.save(row(300000, 600000)));
  auto again = row(300000, 600000);
  again.counters = "{\"changed\":true}";
  EXPECT_FALSE(repo.save(again));  // the first one stays
  EXPECT_TRUE(repo.save(row(300000, 600000, "sink-b")));
  auto latest = repo.latest("sink-a");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->startMs, 300000);
  EXPECT_EQ(latest->endMs, 600000);
  EXPECT_EQ(latest->counters, "{\"start\":300000}");
  EXPECT_EQ(latest->computedAt, "2026-11-30T04:10:00.000Z");
  EXPECT_EQ(latest->exportedAt, "");
}

TEST_P(StatsRepositoryTest, SinceListsTheIntervalsEndingAfterATimeOldestFirst) {
  for (std::int64_t s = 0; s < 4; ++s) repo.save(row(s * 1000, s * 1000 + 1000));
  repo.save(row(5000, 6000, "sink-b"));
  auto rows = repo.since("sink-a", 1500);  // the one [1000, 2000) overlaps: included
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].startMs, 1000);
  EXPECT_EQ(rows[2].startMs, 3000);
  EXPECT_TRUE(repo.since("sink-a", 4000).empty());
}

TEST_P(StatsRepositoryTest, ExportedIntervalsAreNotOfferedAgain) {
  for (std::int64_t s = 0; s < 5; ++s) repo.save(row(s * 1000, s * 1000 + 1000));
  auto batch = repo.unexported("sink-a", 1000, 2);  // from 1000 on, two at a time
  ASSERT_EQ(batch.size(), 2u);
  EXPECT_EQ(batch[0].startMs, 1000);
  EXPECT_EQ(batch[1].startMs, 2000);
  repo.markExported("sink-a", {1000, 2000}, "2026-11-30T04:11:00.000Z");
  batch = repo.unexported("sink-a", 0, 10);
  ASSERT_EQ(batch.size(), 3u);
  EXPECT_EQ(batch[0].startMs, 0);
  EXPECT_EQ(batch[1].startMs, 3000);
  EXPECT_EQ(repo.since("sink-a", 0)[1].exportedAt, "2026-11-30T04:11:00.000Z");
  EXPECT_TRUE(repo.unexported("sink-b", 0, 10).empty());
}

TEST_P(StatsRepositoryTest, UnjudgedCountsTheIntervalsMessagesTheReporterHasNotSeen) {
  db::MessageQueue queue(database);
  queue.insertPending(
      {record("A", "2026-11-30T04:00:00.000Z"), record("B", "2026-11-30T04:04:59.999Z"),
       record("C", "2026-11-30T04:05:00.000Z"), record("D", "2026-11-30T04:01:00.000Z", "sink-b")});
  const std::string from = "2026-11-30T04:00:00.000Z", to = "2026-11-30T04:05:00.000Z";
  EXPECT_EQ(repo.unjudgedIn("sink-a", from, to), 2);
  db::ReportQueue(database).judge("A", false, "", false, "203.0.113.9");
  EXPECT_EQ(repo.unjudgedIn("sink-a", from, to), 1);
  EXPECT_EQ(repo.oldestReceivedSince("sink-a", "2026-11-30T04:00:00.001Z"),
            "2026-11-30T04:04:59.999Z");
  EXPECT_EQ(repo.oldestReceivedSince("sink-a", "2026-11-30T05:00:00.000Z"), "");

  // The rows of the interval: A's origin hop, B's client (not judged yet), 2 recipients.
  auto rows = repo.rowsIn("sink-a", from, to);
  ASSERT_EQ(rows.messages.size(), 2u);
  EXPECT_EQ(rows.messages[0].id, "A");
  EXPECT_EQ(rows.messages[0].ip, "203.0.113.9");
  EXPECT_EQ(rows.messages[0].recipients, 2);
  EXPECT_EQ(rows.messages[1].id, "B");
  EXPECT_EQ(rows.messages[1].ip, "127.0.0.1");
  EXPECT_EQ(rows.messages[1].state, "pending");
  EXPECT_TRUE(rows.files.empty());
  EXPECT_TRUE(rows.verdicts.empty());
}

TEST_P(StatsRepositoryTest, JudgingWithoutAnOriginKeepsTheOldCallWorking) {
  db::MessageQueue(database).insertPending({record("A", "2026-11-30T04:00:00.000Z")});
  db::ReportQueue(database).judge("A", true, "hop from 203.0.113.9", true);
  auto rows = repo.rowsIn("sink-a", "2026-11-30T04:00:00.000Z", "2026-11-30T04:05:00.000Z");
  ASSERT_EQ(rows.messages.size(), 1u);
  EXPECT_EQ(rows.messages[0].ip, "127.0.0.1");  // no origin recorded: the copy's client
  auto m = db::MessageQueue(database).find("A");
  EXPECT_TRUE(m->spoofed);
  EXPECT_EQ(m->reportStatus, "due");
}

// Several sinks on one database: each stores its own intervals; the API and CLI read every
// sink's in a range (to sum them, or show them per sink) and the list of sinks.
TEST_P(StatsRepositoryTest, EverySinksIntervalsInARangeComeWithTheSinksName) {
  for (std::int64_t s = 0; s < 4; ++s) repo.save(row(s * 1000, s * 1000 + 1000, "sink-b"));
  for (std::int64_t s = 1; s < 3; ++s) repo.save(row(s * 1000, s * 1000 + 1000, "sink-a"));
  repo.save(row(500, 1500, "sink-c"));  // another interval length, overlapping 1000
  auto rows = repo.everySinkIn(1000, 3000);
  std::vector<std::pair<std::int64_t, std::string>> got;
  for (const auto& r : rows) got.emplace_back(r.startMs, r.sink);
  EXPECT_EQ(got, (std::vector<std::pair<std::int64_t, std::string>>{{500, "sink-c"},
                                                                    {1000, "sink-a"},
                                                                    {1000, "sink-b"},
                                                                    {2000, "sink-a"},
                                                                    {2000, "sink-b"}}));
  EXPECT_EQ(rows[1].counters, "{\"start\":1000}");
  EXPECT_EQ(rows[1].endMs, 2000);
  EXPECT_TRUE(repo.everySinkIn(4000, 9000).empty());
}

TEST_P(StatsRepositoryTest, SinksSinceAreTheSinksWithMessagesOrIntervalsInTheWindow) {
  const std::string from = "2026-11-30T04:00:00.000Z";
  const std::int64_t fromMs = 5000;
  EXPECT_TRUE(repo.sinksSince(from, fromMs).empty());
  db::MessageQueue(database).insertPending(
      {record("A", "2026-11-30T03:59:59.999Z", "sink-old"),  // before the window
       record("B", "2026-11-30T04:00:00.000Z", "sink-b"),
       record("C", "2026-11-30T04:00:02.000Z", "sink-b"),
       record("D", "2026-11-30T05:00:00.000Z", "mx2.example")});
  repo.save(row(4000, 5000, "sink-gone"));  // ended at the window's start: out
  repo.save(row(4000, 6000, "sink-a"));     // its messages purged since
  repo.save(row(5000, 6000, "sink-b"));
  EXPECT_EQ(repo.sinksSince(from, fromMs),
            (std::vector<std::string>{"mx2.example", "sink-a", "sink-b"}));
  EXPECT_EQ(repo.sinksSince("2026-11-30T00:00:00.000Z", 0),
            (std::vector<std::string>{"mx2.example", "sink-a", "sink-b", "sink-gone", "sink-old"}));
}

TEST_P(StatsRepositoryTest, CountersAreStoredAsValidUtf8WithoutNul) {
  auto r = row(0, 1000);
  r.counters = std::string("{\"shape\":\"a\xff\0b\"}", 16);
  EXPECT_TRUE(repo.save(r));
  EXPECT_EQ(repo.latest("sink-a")->counters,
            "{\"shape\":\"a\xef\xbf\xbd"
            "b\"}");
}

TEST_P(StatsRepositoryTest, AnSmtpModeMessageIsUnjudgedUntilItsActionIsDecided) {
  auto held = record("H", "2026-11-30T04:02:00.000Z");
  held.hold = true;
  db::MessageQueue(database).insertPending({held});
  const std::string from = "2026-11-30T04:00:00.000Z", to = "2026-11-30T04:05:00.000Z";
  EXPECT_EQ(repo.unjudgedIn("sink-a", from, to), 1);
  db::HoldQueue(database).decide("H", db::hold_state::kDeliver, db::hold_action::kPass, "clean", 1);
  EXPECT_EQ(repo.unjudgedIn("sink-a", from, to), 1);  // now the reporter's to judge
  db::ReportQueue(database).judge("H", false, "", false, "203.0.113.9");
  EXPECT_EQ(repo.unjudgedIn("sink-a", from, to), 0);
}

BCCSINK_ON_BOTH_ENGINES(StatsRepositoryTest);
