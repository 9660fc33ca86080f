#pragma once
// The verdict SLO's log lines (README "Time to verdict"): a warning when the share of
// copies checked within BccVerdictSlo falls under 99 %, again at most every 10 minutes
// while it stays under, and a notice when it is back. Fed a reading and the time by a
// periodic check (SloWatch); the time is a parameter so that the hysteresis is tested
// without waiting.

#include <Poco/Logger.h>

#include <chrono>
#include <optional>

#include "sandbox/slo/VerdictSlo.h"

namespace bccsink::sandbox {

class SloWarning {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Said { Nothing, Warned, Recovered };

  explicit SloWarning(Poco::Logger& log, double threshold = 0.99,
                      std::chrono::seconds repeat = std::chrono::minutes(10));

  // Logs what `r` calls for at `now` and says what it logged.
  Said check(const SloReading& r, Clock::time_point now);

  bool under() const { return lastWarned_.has_value(); }

 private:
  Poco::Logger& log_;
  const double threshold_;
  const std::chrono::seconds repeat_;
  std::optional<Clock::time_point> lastWarned_;  // set while under the threshold
};

}  // namespace bccsink::sandbox
