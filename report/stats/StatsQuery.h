#pragma once
// What `bccsink stats` and /api/stats show: a sink's stored intervals since a time, plus
// the ones not stored yet (the current, unfinished interval, and any the daemon has not
// computed) counted on the fly and marked "partial": true, and their totals. Each sink
// stores its own intervals (several sinks may share one database, issue 15); the site's
// view sums every sink's, interval by interval, and keeps each sink's totals beside.
//
// statsJson's shape (the issue-6 contract, and the sinks since issue 15):
//   {"since","until","interval_seconds","sink" (the one sink shown, null for every sink),
//    "intervals":[{StatsCounters' keys}], "totals":{the same keys summed over the
//    intervals}, "sinks":[{"sink","totals"}] (each sink's share, by name)}

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

// One sink's share of a view.
struct SinkTotals {
  std::string sink;
  IntervalStats totals;
};

struct StatsView {
  std::int64_t sinceMs = 0, untilMs = 0;
  std::int64_t intervalSeconds = 0;
  std::string sink;                      // the one sink shown; '' = every sink's, summed
  std::vector<IntervalStats> intervals;  // oldest first
  IntervalStats totals;
  std::vector<SinkTotals> sinks;  // by name
};

// Intervals counted on the fly are at most this many (the newest).
inline constexpr std::size_t kMaxPartialIntervals = 288;

// The on-the-fly intervals have the length of the newest stored one (what the daemon
// uses), else `interval` (StatsInterval), else 5 minutes.
StatsView queryStats(db::Database& db, const std::string& owner, std::int64_t sinceMs,
                     std::int64_t nowMs, std::chrono::seconds interval);

// The sinks with an interval stored that ends after `sinceMs` or a message received since
// then, by name.
std::vector<std::string> sinksSince(db::Database& db, std::int64_t sinceMs);

// Every sink's view (sinksSince; when there is none, `self`'s, this daemon's empty
// intervals up to now) summed: intervals with the same start are merged; the interval
// length is self's when it is among them.
StatsView querySiteStats(db::Database& db, const std::string& self, std::int64_t sinceMs,
                         std::int64_t nowMs, std::chrono::seconds interval);

Poco::JSON::Object::Ptr toJson(const StatsView& view);

// Exactly what `bccsink stats --json` prints: `sinceIso` an ISO 8601 time
// (2026-11-30T00:00:00Z), '' = the last 24 hours; until now. Throws std::invalid_argument
// when sinceIso is not a time. The interval is the stored intervals' length (else 5 min).
std::string statsJson(db::Database& db, const std::string& owner, const std::string& sinceIso);
// The same with the configured StatsInterval for when no interval is stored yet.
std::string statsJson(db::Database& db, const std::string& owner, const std::string& sinceIso,
                      std::chrono::seconds interval);

// What `bccsink stats --json [--sink SINK]` and /api/stats[?sink=SINK] print.
struct StatsRequest {
  std::string self;                  // this daemon's SinkName
  std::string sink;                  // '' = every sink's, summed; else this one's alone
  std::string sinceIso;              // '' = the last 24 hours
  std::chrono::seconds interval{0};  // StatsInterval, for when none is stored yet
  std::int64_t nowMs = 0;            // the view's end; 0 = the clock's now
};
StatsView queryStats(db::Database& db, const StatsRequest& request);
std::string statsJson(db::Database& db, const StatsRequest& request);

}  // namespace bccsink::report
