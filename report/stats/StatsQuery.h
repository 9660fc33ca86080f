#pragma once
// What `bccsink stats` and /api/stats show: this sink's stored intervals since a time,
// plus the ones not stored yet (the current, unfinished interval, and any the daemon has
// not computed) counted on the fly and marked "partial": true, and their totals.
//
// statsJson's shape (the issue-6 contract):
//   {"since","until","interval_seconds","intervals":[{StatsCounters' keys}],
//    "totals":{the same keys summed over the intervals}}

#include <Poco/JSON/Object.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "report/stats/StatsCounters.h"

namespace bccsink::db {
class Database;
}

namespace bccsink::report {

struct StatsView {
  std::int64_t sinceMs = 0, untilMs = 0;
  std::int64_t intervalSeconds = 0;
  std::vector<IntervalStats> intervals;  // oldest first
  IntervalStats totals;
};

// Intervals counted on the fly are at most this many (the newest).
inline constexpr std::size_t kMaxPartialIntervals = 288;

// The on-the-fly intervals have the length of the newest stored one (what the daemon
// uses), else `interval` (StatsInterval), else 5 minutes.
StatsView queryStats(db::Database& db, const std::string& owner, std::int64_t sinceMs,
                     std::int64_t nowMs, std::chrono::seconds interval);

Poco::JSON::Object::Ptr toJson(const StatsView& view);

// Exactly what `bccsink stats --json` prints: `sinceIso` an ISO 8601 time
// (2026-11-30T00:00:00Z), '' = the last 24 hours; until now. Throws std::invalid_argument
// when sinceIso is not a time. The interval is the stored intervals' length (else 5 min).
std::string statsJson(db::Database& db, const std::string& owner, const std::string& sinceIso);
// The same with the configured StatsInterval for when no interval is stored yet.
std::string statsJson(db::Database& db, const std::string& owner, const std::string& sinceIso,
                      std::chrono::seconds interval);

}  // namespace bccsink::report
