// sandbox/slo/VerdictSlo: the share of copies checked within BccVerdictSlo over the hour
// of deadlines before now: within, late, failed, still waiting past the deadline (from
// the database), the window's edges, and 1 when there were none.

#include "sandbox/slo/VerdictSlo.h"

#include <gtest/gtest.h>

#include "base/Clock.h"
#include "db/MessageQueue.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

namespace bccsink::sandbox {
namespace {

using namespace std::chrono_literals;

// 2026-11-30T04:00:00.000Z
constexpr std::int64_t kT0 = 1'796'011'200'000;
constexpr std::int64_t kMin = 60'000;

TEST(VerdictSlo, NoCopiesReadsOne) {
  VerdictSlo slo(15min);
  auto r = slo.completions(kT0);
  EXPECT_EQ(r.within + r.late, 0u);
  EXPECT_DOUBLE_EQ(r.ratio, 1.0);
  EXPECT_EQ(r.target, 15min);
  EXPECT_DOUBLE_EQ(VerdictSlo::ratio(0, 0, 0), 1.0);
}

TEST(VerdictSlo, CheckedByTheDeadlineIsWithinAfterItLateAndFailedLate) {
  VerdictSlo slo(15min);
  slo.record(kT0, kT0 + 2 * kMin, true);       // 2 min: within
  slo.record(kT0, kT0 + 15 * kMin, true);      // at the deadline exactly: within
  slo.record(kT0, kT0 + 15 * kMin + 1, true);  // 1 ms after it: late
  slo.record(kT0, kT0 + 1 * kMin, false);      // failed, however soon: late
  auto r = slo.completions(kT0 + 20 * kMin);
  EXPECT_EQ(r.within, 2u);
  EXPECT_EQ(r.late, 2u);
  EXPECT_DOUBLE_EQ(r.ratio, 0.5);
  EXPECT_DOUBLE_EQ(VerdictSlo::ratio(2, 1, 1), 0.5);
}

TEST(VerdictSlo, ACopyCountsOnlyOnceItsDeadlineHasPassedAndForAnHourAfter) {
  VerdictSlo slo(15min);
  slo.record(kT0, kT0 + 1000, true);                  // checked in 1 s; deadline kT0 + 15 min
  EXPECT_EQ(slo.completions(kT0 + 2000).within, 0u);  // its deadline is still ahead
  EXPECT_EQ(slo.completions(kT0 + 15 * kMin - 1000).within, 0u);
  EXPECT_EQ(slo.completions(kT0 + 15 * kMin).within, 1u);         // the deadline is now
  EXPECT_EQ(slo.completions(kT0 + 75 * kMin - 1000).within, 1u);  // 59 min after it
  EXPECT_EQ(slo.completions(kT0 + 75 * kMin).within, 0u);         // an hour after: out
  EXPECT_EQ(slo.completions(kT0 + 20 * kMin).within, 0u);         // pruned for good
}

TEST(VerdictSlo, ADeadlineInsideASecondCountsFromTheNextSecond) {
  VerdictSlo slo(1s);
  slo.record(kT0 + 400, kT0 + 500, true);  // deadline kT0 + 1.4 s
  EXPECT_EQ(slo.completions(kT0 + 1900).within, 0u);
  EXPECT_EQ(slo.completions(kT0 + 2000).within, 1u);
}

class VerdictSloDbTest : public test::EngineTest {};

TEST_P(VerdictSloDbTest, CopiesStillWaitingPastTheirDeadlineAreMisses) {
  const auto now = nowMs();
  auto iso = [](std::int64_t ms) {
    return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000), "%Y-%m-%dT%H:%M:%S.%iZ");
  };
  db::MessageQueue q(database());
  // Received 20 min ago (deadline 5 min ago: overdue), 10 min ago (deadline ahead), 80 min
  // ago (deadline 65 min ago: before the window), and another sink's 20 min ago.
  q.insertPending({test::sampleRecord("01A", iso(now - 20 * kMin)),
                   test::sampleRecord("01B", iso(now - 10 * kMin)),
                   test::sampleRecord("01C", iso(now - 80 * kMin)),
                   test::sampleRecord("01D", iso(now - 20 * kMin), "sink-b")});
  VerdictSlo slo(15min);
  slo.record(now - 30 * kMin, now - 29 * kMin, true);  // within, deadline 15 min ago
  auto r = slo.read(database(), "sink-a", now);
  EXPECT_EQ(r.within, 1u);
  EXPECT_EQ(r.late, 0u);
  EXPECT_EQ(r.overdue, 1);
  EXPECT_DOUBLE_EQ(r.ratio, 0.5);
  EXPECT_NEAR(r.oldestWaitingSeconds, 80 * 60, 1);  // the oldest waiting, in or out of window
  auto other = slo.read(database(), "sink-c", now);
  EXPECT_EQ(other.overdue, 0);
  EXPECT_DOUBLE_EQ(other.oldestWaitingSeconds, 0);
}

BCCSINK_ON_BOTH_ENGINES(VerdictSloDbTest);

}  // namespace
}  // namespace bccsink::sandbox
