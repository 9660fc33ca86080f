#include "sandbox/slo/VerdictSlo.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include "base/Clock.h"
#include "db/QueueAge.h"

namespace bccsink::sandbox {
namespace {

constexpr std::int64_t kWindowSeconds = VerdictSlo::kWindowMs / 1000;

std::int64_t floorSecond(std::int64_t ms) {
  return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

}  // namespace

VerdictSlo::VerdictSlo(std::chrono::seconds target) : target_(target) {}

double VerdictSlo::ratio(std::uint64_t within, std::uint64_t late, std::int64_t overdue) {
  const double total = static_cast<double>(within) + static_cast<double>(late) +
                       static_cast<double>(overdue < 0 ? 0 : overdue);
  return total == 0 ? 1.0 : static_cast<double>(within) / total;
}

void VerdictSlo::record(std::int64_t receivedMs, std::int64_t doneMs, bool checked) {
  const std::int64_t deadline = receivedMs + target_.count() * 1000;
  const std::int64_t second = -floorSecond(-deadline);  // rounded up
  std::lock_guard lock(mutex_);
  auto& c = byDeadline_[second];
  if (checked && doneMs <= deadline) {
    ++c.within;
  } else {
    ++c.late;
  }
  prune(floorSecond(doneMs));
}

void VerdictSlo::prune(std::int64_t nowSecond) {
  // Deadlines at or before the window's start are gone for good.
  byDeadline_.erase(byDeadline_.begin(), byDeadline_.upper_bound(nowSecond - kWindowSeconds));
}

SloReading VerdictSlo::completions(std::int64_t nowMs) {
  SloReading r;
  r.target = target_;
  const std::int64_t nowSecond = floorSecond(nowMs);
  std::lock_guard lock(mutex_);
  prune(nowSecond);
  for (auto it = byDeadline_.begin(); it != byDeadline_.end() && it->first <= nowSecond; ++it) {
    r.within += it->second.within;
    r.late += it->second.late;
  }
  r.ratio = ratio(r.within, r.late, 0);
  return r;
}

SloReading VerdictSlo::read(db::Database& db, const std::string& sink, std::int64_t nowMs) {
  SloReading r = completions(nowMs);
  db::QueueAge age(db);
  // Waiting copies whose deadline is in [now - 1 h, now): received target earlier.
  const std::int64_t targetMs = target_.count() * 1000;
  r.overdue =
      age.countWaiting(sink, isoOfMs(nowMs - kWindowMs - targetMs), isoOfMs(nowMs - targetMs));
  r.ratio = ratio(r.within, r.late, r.overdue);
  const auto oldest = age.oldestWaiting(sink);
  if (!oldest.empty()) {
    const auto receivedMs = msOfIso(oldest);
    if (receivedMs > 0 && nowMs > receivedMs)
      r.oldestWaitingSeconds = static_cast<double>(nowMs - receivedMs) / 1000.0;
  }
  return r;
}

}  // namespace bccsink::sandbox
