// /metrics' time-to-verdict families (issue 17): the histogram by verdict, the oldest
// waiting copy's age, the analyzers' queue wait, and the verdict SLO; from plain numbers
// and collected from a TimeToVerdict and the queue.

#include <gtest/gtest.h>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "sandbox/slo/TimeToVerdict.h"
#include "sink/Metrics.h"
#include "test/TempDir.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using namespace std::chrono_literals;

namespace {

bool has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST(MetricsTimeToVerdict, FamiliesFromPlainNumbers) {
  MetricsSnapshot s;
  Histogram clean(sandbox::kTimeToVerdictBuckets);
  clean.observe(2);
  clean.observe(4000);
  s.timeToVerdict["clean"] = clean.snapshot();
  s.timeToVerdict["failed"] = Histogram(sandbox::kTimeToVerdictBuckets).snapshot();
  sandbox::AnalyzerStats a;
  a.name = "vxcube";
  a.queueWait[0] = 3;
  a.queueWait.back() = 1;
  a.queueWaitSeconds = 4000.25;
  s.analyzers.push_back(a);
  s.slo.target = 900s;
  s.slo.within = 99;
  s.slo.late = 1;
  s.slo.overdue = 2;
  s.slo.ratio = 99.0 / 102.0;
  s.slo.oldestWaitingSeconds = 12.5;
  const auto text = formatMetrics(s);
  EXPECT_TRUE(has(text, "# TYPE bccsink_time_to_verdict_seconds histogram"));
  EXPECT_TRUE(has(text, "bccsink_time_to_verdict_seconds_bucket{verdict=\"clean\",le=\"1\"} 0"));
  EXPECT_TRUE(has(text, "bccsink_time_to_verdict_seconds_bucket{verdict=\"clean\",le=\"5\"} 1"));
  EXPECT_TRUE(has(text, "bccsink_time_to_verdict_seconds_bucket{verdict=\"clean\",le=\"3600\"} 1"));
  EXPECT_TRUE(has(text, "bccsink_time_to_verdict_seconds_bucket{verdict=\"clean\",le=\"+Inf\"} 2"));
  EXPECT_TRUE(has(text, "bccsink_time_to_verdict_seconds_sum{verdict=\"clean\"} 4002"));
  EXPECT_TRUE(has(text, "bccsink_time_to_verdict_seconds_count{verdict=\"clean\"} 2"));
  EXPECT_TRUE(has(text, "bccsink_time_to_verdict_seconds_count{verdict=\"failed\"} 0"));
  EXPECT_TRUE(has(text, "bccsink_oldest_pending_age_seconds 12.5"));
  EXPECT_TRUE(
      has(text, "bccsink_analyzer_queue_wait_seconds_bucket{analyzer=\"vxcube\",le=\"0.01\"} 3"));
  EXPECT_TRUE(
      has(text, "bccsink_analyzer_queue_wait_seconds_bucket{analyzer=\"vxcube\",le=\"+Inf\"} 4"));
  EXPECT_TRUE(has(text, "bccsink_analyzer_queue_wait_seconds_sum{analyzer=\"vxcube\"} 4000.25"));
  EXPECT_TRUE(has(text, "bccsink_verdict_slo_seconds 900"));
  EXPECT_TRUE(has(text, "bccsink_verdict_slo_copies{result=\"within\"} 99"));
  EXPECT_TRUE(has(text, "bccsink_verdict_slo_copies{result=\"late\"} 1"));
  EXPECT_TRUE(has(text, "bccsink_verdict_slo_copies{result=\"overdue\"} 2"));
  EXPECT_NE(text.find("\nbccsink_verdict_slo_ratio 0.97058"), std::string::npos);
}

TEST(MetricsTimeToVerdict, CollectedFromTheObserverAndThisSinksQueue) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  const auto now = nowMs();
  // Waiting for 30 s (deadline 1 s: overdue); another sink's older one does not count.
  db::MessageQueue(database).insertPending(
      {test::sampleRecord("01A",
                          Poco::DateTimeFormatter::format(Poco::Timestamp((now - 30'000) * 1000),
                                                          "%Y-%m-%dT%H:%M:%S.%iZ")),
       test::sampleRecord("01B", "2026-01-01T00:00:00.000Z", "sink-b")});
  sandbox::TimeToVerdict ttv(1s);
  ttv.observe(now - 10'000, now - 9'500, "clean", false);  // within, deadline 9 s ago
  MetricsSources src;
  src.sink = "sink-a";
  src.timeToVerdict = &ttv;
  const auto text = formatMetrics(collectMetrics(src, database));
  EXPECT_TRUE(has(text, "bccsink_time_to_verdict_seconds_count{verdict=\"clean\"} 1"));
  EXPECT_TRUE(has(text, "bccsink_time_to_verdict_seconds_sum{verdict=\"clean\"} 0.5"));
  EXPECT_TRUE(has(text, "bccsink_verdict_slo_seconds 1"));
  EXPECT_TRUE(has(text, "bccsink_verdict_slo_copies{result=\"within\"} 1"));
  EXPECT_TRUE(has(text, "bccsink_verdict_slo_copies{result=\"overdue\"} 1"));
  EXPECT_TRUE(has(text, "bccsink_verdict_slo_ratio 0.5"));
  EXPECT_NE(text.find("\nbccsink_oldest_pending_age_seconds 30"), std::string::npos);

  // Without the observer the age is still read; the SLO reads 1.
  MetricsSources bare;
  bare.sink = "sink-a";
  const auto plain = formatMetrics(collectMetrics(bare, database));
  EXPECT_NE(plain.find("\nbccsink_oldest_pending_age_seconds 30"), std::string::npos);
  EXPECT_TRUE(has(plain, "bccsink_verdict_slo_ratio 1"));
}
