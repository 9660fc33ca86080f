// sandbox/slo/SloWarning: the warning when the verdict SLO falls under 99 %, its repeat at
// most every 10 minutes while it stays under, and the notice when it recovers; the clock
// is the test's.

#include "sandbox/slo/SloWarning.h"

#include <gtest/gtest.h>

#include "test/LogCapture.h"

namespace bccsink::sandbox {
namespace {

using namespace std::chrono_literals;
using Said = SloWarning::Said;

SloReading reading(double ratio) {
  SloReading r;
  r.target = 15min;
  r.ratio = ratio;
  r.within = static_cast<std::uint64_t>(ratio * 100);
  r.late = 100 - r.within;
  return r;
}

TEST(SloWarning, WarnsOnceWhenItCrossesThenEveryTenMinutesThenSaysItRecovered) {
  test::LogCapture logs("bccsink.slo.test");
  SloWarning w(Poco::Logger::get("bccsink.slo.test"));
  const SloWarning::Clock::time_point t0{};
  EXPECT_EQ(w.check(reading(1.0), t0), Said::Nothing);
  EXPECT_EQ(w.check(reading(0.995), t0 + 5s), Said::Nothing);  // 99.5 %: met
  EXPECT_EQ(w.check(reading(0.97), t0 + 10s), Said::Warned);
  EXPECT_TRUE(w.under());
  EXPECT_EQ(w.check(reading(0.96), t0 + 20s), Said::Nothing);
  EXPECT_EQ(w.check(reading(0.90), t0 + 10s + 10min - 1s), Said::Nothing);
  EXPECT_EQ(w.check(reading(0.90), t0 + 10s + 10min), Said::Warned);  // still under
  EXPECT_EQ(w.check(reading(0.99), t0 + 11min), Said::Recovered);     // 99 % is met
  EXPECT_FALSE(w.under());
  EXPECT_EQ(w.check(reading(1.0), t0 + 12min), Said::Nothing);
  // Under again soon after: a new crossing, said at once.
  EXPECT_EQ(w.check(reading(0.5), t0 + 12min + 5s), Said::Warned);
  ASSERT_EQ(logs.lines().size(), 4u);
  EXPECT_EQ(logs.count("verdict SLO missed: 97.0% of the copies due in the last hour were "
                       "checked within 900s (97 within, 3 late or failed, 0 still waiting "
                       "past it; oldest waiting 0 s), under 99.0%"),
            1);
  EXPECT_EQ(logs.count("verdict SLO still missed: 90.0%"), 1);
  EXPECT_EQ(logs.count("verdict SLO met again: 99.0%"), 1);
  EXPECT_EQ(logs.count("verdict SLO missed: 50.0%"), 1);
}

TEST(SloWarning, NoCopiesIsNotAMiss) {
  test::LogCapture logs("bccsink.slo.test");
  SloWarning w(Poco::Logger::get("bccsink.slo.test"));
  SloReading none;
  none.target = 15min;
  EXPECT_EQ(w.check(none, {}), Said::Nothing);
  EXPECT_TRUE(logs.lines().empty());
}

}  // namespace
}  // namespace bccsink::sandbox
