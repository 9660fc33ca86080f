// When the collector computes an interval (ended, settled, its messages judged, or the
// grace passed), what a restart fills in, and what `bccsink stats` shows on top of the
// stored intervals. A fake clock drives every round.

#include "report/stats/StatsCollector.h"

#include <Poco/Data/Statement.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "db/StatsRepository.h"
#include "report/stats/StatsCounters.h"
#include "report/stats/StatsQuery.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using std::chrono::milliseconds;

namespace {

constexpr std::int64_t kMinute = 60 * 1000;
const std::int64_t kT0 = report::msFromIso("2026-11-30T04:00:00Z");

}  // namespace

class StatsCollectorTest : public test::EngineTest {
 protected:
  void receive(const std::string& id, std::int64_t atMs, const std::string& sink = "sink-a") {
    db::MessageQueue(database).insertPending(
        {test::sampleRecord(id, report::isoMillis(atMs), sink)});
  }
  void checkAndJudge(const std::string& id, const std::string& verdict) {
    std::string v = verdict, key = id;
    using namespace Poco::Data::Keywords;
    database.session() << database.sql(
        "UPDATE messages SET state = 'checked', verdict = ?"
        " WHERE id = ?"),
        use(v), use(key), now;
    db::ReportQueue(database).judge(id, false, "", false, "192.0.2.7");
  }

  report::StatsSettings settings() {
    report::StatsSettings s;
    s.databaseUrl = store_.url();
    s.owner = "sink-a";
    s.interval = std::chrono::minutes(5);
    s.settle = std::chrono::seconds(10);
    s.grace = std::chrono::minutes(30);
    s.now = [this] { return clock.load(); };
    return s;
  }

  std::vector<db::StatsRow> stored() { return db::StatsRepository(database).since("sink-a", 0); }

  db::Database& database = *db_;
  std::atomic<std::int64_t> clock{kT0 + kMinute};
};

TEST_P(StatsCollectorTest, AnIntervalIsStoredOnceEndedSettledAndJudged) {
  report::StatsCollector c(settings());
  receive("A", kT0 + 2 * kMinute);
  EXPECT_EQ(c.runOnce(), 0u);
  clock = kT0 + 5 * kMinute + 9999;  // ended, not settled
  EXPECT_EQ(c.runOnce(), 0u);
  clock = kT0 + 5 * kMinute + 10000;  // settled, but A is still in analysis
  EXPECT_EQ(c.runOnce(), 0u);
  checkAndJudge("A", "dangerous");
  EXPECT_EQ(c.runOnce(), 1u);
  auto rows = stored();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].startMs, kT0);
  EXPECT_EQ(rows[0].endMs, kT0 + 5 * kMinute);
  auto s = report::fromJsonText(rows[0].counters);
  EXPECT_EQ(s.messages, 1);
  EXPECT_EQ(s.verdicts["dangerous"], 1);
  EXPECT_EQ(s.byIp["192.0.2.7"].messages, 1);
  EXPECT_EQ(c.runOnce(), 0u);  // once
}

TEST_P(StatsCollectorTest, AfterTheGraceAStillPendingMessageIsCountedAsPending) {
  report::StatsCollector c(settings());
  receive("A", kT0 + kMinute);
  receive("B", kT0 + 2 * kMinute);
  checkAndJudge("B", "clean");
  receive("C", kT0 + 6 * kMinute);  // the next interval, judged: still waits behind the first
  checkAndJudge("C", "clean");
  clock = kT0 + 35 * kMinute - 1;
  EXPECT_EQ(c.runOnce(), 0u);
  clock = kT0 + 35 * kMinute;
  EXPECT_EQ(c.runOnce(), 6u);  // 04:00 with A pending, then 04:05 ... 04:25 in order
  auto rows = stored();
  ASSERT_EQ(rows.size(), 6u);
  auto first = report::fromJsonText(rows[0].counters);
  EXPECT_EQ(first.messages, 2);
  EXPECT_EQ(first.verdicts["pending"], 1);
  EXPECT_EQ(first.verdicts["clean"], 1);
  EXPECT_EQ(report::fromJsonText(rows[1].counters).messages, 1);
  EXPECT_EQ(rows[5].startMs, kT0 + 25 * kMinute);
}

TEST_P(StatsCollectorTest, ARestartComputesTheIntervalsMissedWithinTheBackfill) {
  {
    report::StatsCollector c(settings());
    receive("A", kT0 + kMinute);
    checkAndJudge("A", "clean");
    clock = kT0 + 6 * kMinute;
    EXPECT_EQ(c.runOnce(), 1u);
  }
  // Down for two hours; mail arrived meanwhile (another instance's intake, say).
  receive("B", kT0 + 61 * kMinute);
  checkAndJudge("B", "suspicious");
  clock = kT0 + 2 * 60 * kMinute + 30000;
  report::StatsCollector again(settings());
  EXPECT_EQ(again.runOnce(), 23u);  // 04:05 .. 05:55; 06:00 is still open
  auto rows = stored();
  ASSERT_EQ(rows.size(), 24u);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].startMs, kT0 + static_cast<std::int64_t>(i) * 5 * kMinute);
  }
  EXPECT_EQ(report::fromJsonText(rows[12].counters).verdicts["suspicious"], 1);
  // After a day away only the last 24 hours are filled in.
  clock = kT0 + 3 * 24 * 60 * kMinute + 30000;
  report::StatsCollector late(settings());
  EXPECT_EQ(late.runOnce(), 100u);  // a round stores at most 100
  EXPECT_EQ(late.runOnce(), 100u);
  EXPECT_EQ(late.runOnce(), 24u * 12 - 200);
  EXPECT_EQ(stored().size(), 24u + 24 * 12);
  EXPECT_EQ(stored()[24].startMs, kT0 + 2 * 24 * 60 * kMinute);
}

TEST_P(StatsCollectorTest, AFirstStartBeginsAtTheOldestRecentMessageOrNow) {
  receive("OLD", kT0 - 3 * 24 * 60 * kMinute);  // beyond the backfill
  receive("A", kT0 + 11 * kMinute);
  checkAndJudge("A", "clean");
  clock = kT0 + 21 * kMinute;
  report::StatsCollector c(settings());
  EXPECT_EQ(c.runOnce(), 2u);  // 04:10 and 04:15
  EXPECT_EQ(stored().front().startMs, kT0 + 10 * kMinute);
}

TEST_P(StatsCollectorTest, StatsShowsStoredIntervalsThenTheUnstoredOnesAsPartial) {
  receive("A", kT0 + kMinute);
  checkAndJudge("A", "clean");
  receive("B", kT0 + 6 * kMinute);
  checkAndJudge("B", "dangerous");
  receive("X", kT0 + 6 * kMinute, "sink-b");
  report::StatsCollector c(settings());
  clock = kT0 + 5 * kMinute + 20000;
  EXPECT_EQ(c.runOnce(), 1u);

  auto view = report::queryStats(database, "sink-a", kT0 - 10 * kMinute, kT0 + 7 * kMinute,
                                 std::chrono::seconds(0));
  EXPECT_EQ(view.intervalSeconds, 300);
  ASSERT_EQ(view.intervals.size(), 2u);
  EXPECT_FALSE(view.intervals[0].partial);
  EXPECT_EQ(view.intervals[0].messages, 1);
  EXPECT_TRUE(view.intervals[1].partial);  // the current one, counted now
  EXPECT_EQ(view.intervals[1].startMs, kT0 + 5 * kMinute);
  EXPECT_EQ(view.intervals[1].messages, 1);
  EXPECT_EQ(view.totals.messages, 2);
  EXPECT_EQ(view.totals.verdicts["dangerous"], 1);

  auto j = report::toJson(view);
  for (const char* key : {"since", "until", "interval_seconds", "intervals", "totals"}) {
    EXPECT_TRUE(j->has(key)) << key;
  }
  auto totals = j->getObject("totals");
  for (const char* key :
       {"start", "end", "messages", "recipients", "size_histogram", "by_ip", "by_extension",
        "by_true_type", "mismatches", "in_archive", "size_by_type", "verdicts",
        "verdicts_by_analyzer", "cache_hits", "names"}) {
    EXPECT_TRUE(totals->has(key)) << key;
  }
}

TEST_P(StatsCollectorTest, StatsJsonParsesItsSinceAndRefusesAWrongOne) {
  auto text = report::statsJson(database, "sink-a", "2026-11-30T04:00:00Z");
  auto j = Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(j->getValue<std::string>("since"), "2026-11-30T04:00:00Z");
  EXPECT_EQ(j->getValue<std::int64_t>("interval_seconds"), 300);
  EXPECT_LE(j->getArray("intervals")->size(), report::kMaxPartialIntervals);
  EXPECT_THROW(report::statsJson(database, "sink-a", "yesterday"), std::invalid_argument);
  auto recent = report::statsJson(database, "sink-a", "", std::chrono::seconds(60));
  j = Poco::JSON::Parser().parse(recent).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(j->getValue<std::int64_t>("interval_seconds"), 60);  // nothing stored yet
}

BCCSINK_ON_BOTH_ENGINES(StatsCollectorTest);
