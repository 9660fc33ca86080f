#include "sandbox/slo/SloWarning.h"

#include <cstdio>
#include <string>

#include "base/Clock.h"

namespace bccsink::sandbox {
namespace {

std::string percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", share * 100.0);
  return buf;
}

}  // namespace

SloWarning::SloWarning(Poco::Logger& log, double threshold, std::chrono::seconds repeat)
    : log_(log), threshold_(threshold), repeat_(repeat) {}

SloWarning::Said SloWarning::check(const SloReading& r, Clock::time_point now) {
  const auto target = secondsText(std::chrono::duration_cast<std::chrono::milliseconds>(r.target));
  if (r.ratio < threshold_) {
    if (lastWarned_ && now - *lastWarned_ < repeat_) return Said::Nothing;
    const bool again = lastWarned_.has_value();
    lastWarned_ = now;
    log_.warning(
        "verdict SLO %s: %s of the copies due in the last hour were checked within %s (%s "
        "within, %s late or failed, %s still waiting past it; oldest waiting %s s), under %s",
        std::string(again ? "still missed" : "missed"), percent(r.ratio), target,
        std::to_string(r.within), std::to_string(r.late), std::to_string(r.overdue),
        std::to_string(static_cast<long long>(r.oldestWaitingSeconds)), percent(threshold_));
    return Said::Warned;
  }
  if (!lastWarned_) return Said::Nothing;
  lastWarned_.reset();
  log_.notice("verdict SLO met again: %s of the copies due in the last hour were checked within %s",
              percent(r.ratio), target);
  return Said::Recovered;
}

}  // namespace bccsink::sandbox
