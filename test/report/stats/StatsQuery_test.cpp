// Statistics of several sinks in one database (issue 15): each stores its own intervals;
// the site's view sums them interval by interval and keeps each sink's totals; one sink's
// view is that sink's alone. Three sinks' rows in one SQLite file; the sink look-up also
// on PostgreSQL.

#include "report/stats/StatsQuery.h"

#include <Poco/Data/Statement.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "base/JsonText.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/StatsRepository.h"
#include "report/stats/StatsCounters.h"
#include "test/TempDir.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

namespace {

constexpr std::int64_t kMinute = 60 * 1000;
const std::int64_t kT0 = report::msFromIso("2026-11-30T04:00:00Z");
const std::int64_t kSince = kT0 - 10 * kMinute;  // 03:50
const std::int64_t kNow = kT0 + 12 * kMinute;    // in the interval 04:10 .. 04:15

// Three sinks sharing a database, 5-minute intervals:
//   sink-a  stored 04:00 (2 messages); received one at 04:11 (not stored: the current one)
//   sink-b  stored 04:00 (3) and 04:05 (1); received one at 04:12
//   sink-c  nothing stored (its collector never ran); received one at 04:07
//   sink-old stored 03:00 (7), before the window: not among the sinks shown
class StatsQueryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database.migrate();
    store("sink-a", kT0, 2);
    store("sink-b", kT0, 3);
    store("sink-b", kT0 + 5 * kMinute, 1);
    store("sink-old", kT0 - 60 * kMinute, 7);
    receive("A1", kT0 + 11 * kMinute, "sink-a");
    receive("B1", kT0 + 12 * kMinute, "sink-b");
    receive("C1", kT0 + 7 * kMinute, "sink-c");
  }

  void store(const std::string& sink, std::int64_t startMs, std::int64_t messages) {
    report::IntervalStats s;
    s.startMs = startMs;
    s.endMs = startMs + 5 * kMinute;
    s.messages = messages;
    s.recipients = messages;
    db::StatsRow row;
    row.sink = sink;
    row.startMs = s.startMs;
    row.endMs = s.endMs;
    row.computedAt = report::isoMillis(s.endMs);
    row.counters = jsonText(report::toJson(s));
    ASSERT_TRUE(db::StatsRepository(database).save(row));
  }
  void receive(const std::string& id, std::int64_t atMs, const std::string& sink) {
    db::MessageQueue(database).insertPending(
        {test::sampleRecord(id, report::isoMillis(atMs), sink)});
  }

  static std::vector<std::int64_t> starts(const report::StatsView& v) {
    std::vector<std::int64_t> out;
    for (const auto& s : v.intervals) out.push_back((s.startMs - kT0) / kMinute);
    return out;
  }
  static std::vector<std::int64_t> messages(const report::StatsView& v) {
    std::vector<std::int64_t> out;
    for (const auto& s : v.intervals) out.push_back(s.messages);
    return out;
  }

  test::TempDir dir;
  db::Database database{"sqlite:" + (dir / "stats.db")};
};

using Numbers = std::vector<std::int64_t>;

}  // namespace

TEST_F(StatsQueryTest, TheSinksAreThoseWithIntervalsOrMessagesInTheWindow) {
  EXPECT_EQ(report::sinksSince(database, kSince),
            (std::vector<std::string>{"sink-a", "sink-b", "sink-c"}));
  EXPECT_EQ(report::sinksSince(database, kT0 - 61 * kMinute),
            (std::vector<std::string>{"sink-a", "sink-b", "sink-c", "sink-old"}));
  // After sink-b's last interval and before its message: only what was received since.
  EXPECT_EQ(report::sinksSince(database, kT0 + 11 * kMinute + 1),
            (std::vector<std::string>{"sink-b"}));
  EXPECT_TRUE(report::sinksSince(database, kNow + 1).empty());
}

TEST_F(StatsQueryTest, EverySinksIntervalsAreSummedByStartWithEachSinksTotals) {
  auto v = report::querySiteStats(database, "sink-a", kSince, kNow, std::chrono::seconds(0));
  EXPECT_EQ(v.sink, "");
  EXPECT_EQ(v.intervalSeconds, 300);
  // 03:50 and 03:55 are sink-c's alone (nothing stored: counted now, empty).
  EXPECT_EQ(starts(v), (Numbers{-10, -5, 0, 5, 10}));
  EXPECT_EQ(messages(v), (Numbers{0, 0, 2 + 3, 1 + 1, 1 + 1}));
  EXPECT_TRUE(v.intervals[2].partial);  // sink-c's share of it was counted now
  EXPECT_EQ(v.intervals[2].endMs, kT0 + 5 * kMinute);
  EXPECT_EQ(v.totals.messages, 9);
  EXPECT_EQ(v.totals.startMs, kSince);
  EXPECT_EQ(v.totals.endMs, kT0 + 15 * kMinute);
  ASSERT_EQ(v.sinks.size(), 3u);
  EXPECT_EQ(v.sinks[0].sink, "sink-a");
  EXPECT_EQ(v.sinks[0].totals.messages, 3);
  EXPECT_EQ(v.sinks[1].sink, "sink-b");
  EXPECT_EQ(v.sinks[1].totals.messages, 5);
  EXPECT_EQ(v.sinks[2].sink, "sink-c");
  EXPECT_EQ(v.sinks[2].totals.messages, 1);
}

TEST_F(StatsQueryTest, OneSinksViewIsItsOwn) {
  auto b = report::queryStats(database, "sink-b", kSince, kNow, std::chrono::seconds(0));
  EXPECT_EQ(b.sink, "sink-b");
  EXPECT_EQ(starts(b), (Numbers{0, 5, 10}));
  EXPECT_EQ(messages(b), (Numbers{3, 1, 1}));
  EXPECT_FALSE(b.intervals[0].partial);
  EXPECT_TRUE(b.intervals[2].partial);
  ASSERT_EQ(b.sinks.size(), 1u);
  EXPECT_EQ(b.sinks[0].sink, "sink-b");
  EXPECT_EQ(b.sinks[0].totals.messages, 5);
}

TEST_F(StatsQueryTest, ThisSinkIsShownOnlyWhenNoSinkHasAnythingInTheWindow) {
  auto others = report::querySiteStats(database, "sink-new", kSince, kNow, std::chrono::seconds(0));
  ASSERT_EQ(others.sinks.size(), 3u);
  EXPECT_EQ(others.sinks[0].sink, "sink-a");
  EXPECT_EQ(others.intervalSeconds, 300);

  auto v = report::querySiteStats(database, "sink-new", kNow + kMinute, kNow + 2 * kMinute,
                                  std::chrono::seconds(60));
  ASSERT_EQ(v.sinks.size(), 1u);
  EXPECT_EQ(v.sinks[0].sink, "sink-new");
  EXPECT_EQ(v.intervalSeconds, 60);  // its StatsInterval: it has stored none
  ASSERT_FALSE(v.intervals.empty());
  EXPECT_EQ(v.totals.messages, 0);
}

TEST_F(StatsQueryTest, TheJsonNamesTheSinkShownAndBreaksTheTotalsDownBySink) {
  auto j = report::toJson(
      report::querySiteStats(database, "sink-a", kSince, kNow, std::chrono::seconds(0)));
  EXPECT_TRUE(j->isNull("sink"));
  EXPECT_EQ(j->getObject("totals")->getValue<int>("messages"), 9);
  auto sinks = j->getArray("sinks");
  ASSERT_EQ(sinks->size(), 3u);
  EXPECT_EQ(sinks->getObject(1)->getValue<std::string>("sink"), "sink-b");
  EXPECT_EQ(sinks->getObject(1)->getObject("totals")->getValue<int>("messages"), 5);

  // What `stats --json --sink sink-b` and /api/stats?sink=sink-b print.
  report::StatsRequest r;
  r.self = "sink-a";
  r.sink = "sink-b";
  r.sinceIso = "2026-11-30T03:50:00Z";
  r.nowMs = kNow;
  auto one =
      Poco::JSON::Parser().parse(report::statsJson(database, r)).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(one->getValue<std::string>("sink"), "sink-b");
  EXPECT_EQ(one->getObject("totals")->getValue<int>("messages"), 5);
  EXPECT_EQ(one->getArray("sinks")->size(), 1u);
  r.sink = "";
  auto all =
      Poco::JSON::Parser().parse(report::statsJson(database, r)).extract<Poco::JSON::Object::Ptr>();
  EXPECT_TRUE(all->isNull("sink"));
  EXPECT_EQ(all->getObject("totals")->getValue<int>("messages"), 9);
  EXPECT_EQ(all->getArray("sinks")->size(), 3u);
}

// The sink look-up is a statement of its own (a recursive one): both engines take it.
class StatsQuerySinksTest : public test::EngineTest {};

TEST_P(StatsQuerySinksTest, FindsEachSinkOnceThroughTheIndex) {
  db::Database& d = database();
  using namespace Poco::Data::Keywords;
  int n = 0;
  for (const char* sink : {"b", "a", "b", "c", "a"}) {
    std::string id = "M" + std::to_string(n), s = sink;
    std::string at = report::isoMillis(kT0 + (n++) * kMinute);
    Poco::Data::Statement stmt(d.session());
    stmt << d.sql(
        "INSERT INTO messages (id, sink, state, received_at, updated_at, sender,"
        " client_ip, helo, tls, size, sha256, spool_file)"
        " VALUES (?, ?, 'pending', ?, ?, '', '', '', 0, 0, '', '')"),
        use(id), use(s), use(at), use(at);
    stmt.execute();
  }
  EXPECT_EQ(report::sinksSince(d, kT0), (std::vector<std::string>{"a", "b", "c"}));
  // From 04:03 on: c (04:03) and a (04:04).
  EXPECT_EQ(report::sinksSince(d, kT0 + 3 * kMinute), (std::vector<std::string>{"a", "c"}));
  EXPECT_TRUE(report::sinksSince(d, kT0 + 5 * kMinute).empty());
}

BCCSINK_ON_BOTH_ENGINES(StatsQuerySinksTest);
