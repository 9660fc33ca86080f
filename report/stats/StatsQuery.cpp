#include "report/stats/StatsQuery.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/Logger.h>

#include <algorithm>
#include <map>

#include "base/Clock.h"
#include "base/JsonText.h"
#include "db/Columns.h"
#include "db/Database.h"
#include "db/StatsRepository.h"
#include "report/stats/StatsAggregator.h"

namespace bccsink::report {
namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::int64_t kDefaultIntervalMs = 5LL * 60 * 1000;

// Every sink with messages since a time, or intervals stored since: the messages' sinks
// are found by skipping through the (sink, received_at) index, one look-up per sink (a
// loose index scan; DISTINCT would read every message ever received, every time the
// dashboard refreshes).
const char* kSinksSince =
    "WITH RECURSIVE s(sink) AS ("
    " SELECT MIN(sink) FROM messages"
    " UNION ALL"
    " SELECT (SELECT MIN(m.sink) FROM messages m WHERE m.sink > s.sink) FROM s"
    " WHERE s.sink IS NOT NULL)"
    " SELECT sink FROM s WHERE sink IS NOT NULL AND EXISTS (SELECT 1 FROM messages m"
    " WHERE m.sink = s.sink AND m.received_at >= ?)"
    " UNION SELECT sink FROM stats_intervals WHERE end_ms > ?"
    " ORDER BY 1";

std::int64_t sinceOf(const std::string& sinceIso, std::int64_t now) {
  return sinceIso.empty() ? now - kDayMs : msFromIso(sinceIso);
}

}  // namespace

StatsView queryStats(db::Database& db, const std::string& owner, std::int64_t sinceMs,
                     std::int64_t nowMs, std::chrono::seconds interval) {
  db::StatsRepository repo(db);
  auto latest = repo.latest(owner);
  std::int64_t intervalMs = latest ? latest->endMs - latest->startMs : interval.count() * 1000;
  if (intervalMs <= 0) intervalMs = kDefaultIntervalMs;

  StatsView view;
  view.sinceMs = sinceMs;
  view.untilMs = nowMs;
  view.intervalSeconds = intervalMs / 1000;
  view.sink = owner;
  for (const auto& row : repo.since(owner, sinceMs)) {
    if (row.startMs >= nowMs) continue;
    try {
      auto s = fromJsonText(row.counters);
      s.partial = false;
      view.intervals.push_back(std::move(s));
    } catch (const Poco::Exception& e) {
      Poco::Logger::get("bccsink.stats")
          .warning("stats interval %s: unreadable row: %s", isoSeconds(row.startMs),
                   e.displayText());
    } catch (const std::exception& e) {
      Poco::Logger::get("bccsink.stats")
          .warning("stats interval %s: unreadable row: %s", isoSeconds(row.startMs),
                   std::string(e.what()));
    }
  }
  // What the collector has not stored yet, counted now.
  auto first = latest ? alignUp(latest->endMs, intervalMs) : alignDown(sinceMs, intervalMs);
  first = std::max(first, alignDown(sinceMs, intervalMs));
  const auto current = alignDown(nowMs, intervalMs);
  const auto most = static_cast<std::int64_t>(kMaxPartialIntervals) - 1;
  first = std::max(first, current - most * intervalMs);
  for (auto start = first; start <= current; start += intervalMs) {
    auto s = computeInterval(db, owner, start, start + intervalMs);
    s.partial = true;
    view.intervals.push_back(std::move(s));
  }
  for (const auto& s : view.intervals) merge(view.totals, s);
  view.totals.startMs = view.intervals.empty() ? sinceMs : view.intervals.front().startMs;
  view.totals.endMs = view.intervals.empty() ? nowMs : view.intervals.back().endMs;
  view.sinks.push_back({owner, view.totals});
  return view;
}

std::vector<std::string> sinksSince(db::Database& db, std::int64_t sinceMs) {
  std::string sinceIso = isoMillis(sinceMs);
  std::int64_t since = sinceMs;
  Poco::Data::Statement stmt(db.session());
  stmt << db.sql(kSinksSince), Poco::Data::Keywords::use(sinceIso),
      Poco::Data::Keywords::use(since);
  stmt.execute();
  Poco::Data::RecordSet rs(stmt);
  std::vector<std::string> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    out.push_back(db::text(rs, std::size_t{0}));
  }
  return out;
}

StatsView querySiteStats(db::Database& db, const std::string& self, std::int64_t sinceMs,
                         std::int64_t nowMs, std::chrono::seconds interval) {
  auto names = sinksSince(db, sinceMs);
  // Nothing anywhere in the window: this sink's empty intervals, up to now.
  if (names.empty() && !self.empty()) names.push_back(self);
  StatsView view;
  view.sinceMs = sinceMs;
  view.untilMs = nowMs;
  std::map<std::int64_t, IntervalStats> byStart;
  for (const auto& name : names) {
    auto one = queryStats(db, name, sinceMs, nowMs, interval);
    if (name == self || view.intervalSeconds == 0) view.intervalSeconds = one.intervalSeconds;
    for (const auto& s : one.intervals) merge(byStart[s.startMs], s);
    view.sinks.push_back({name, one.totals});
  }
  for (auto& [start, s] : byStart) view.intervals.push_back(std::move(s));
  for (const auto& s : view.intervals) merge(view.totals, s);
  view.totals.startMs = view.intervals.empty() ? sinceMs : view.intervals.front().startMs;
  view.totals.endMs = view.intervals.empty() ? nowMs : view.intervals.back().endMs;
  if (view.intervalSeconds == 0) view.intervalSeconds = kDefaultIntervalMs / 1000;
  return view;
}

StatsView queryStats(db::Database& db, const StatsRequest& r) {
  const auto now = r.nowMs != 0 ? r.nowMs : nowMs();
  const auto since = sinceOf(r.sinceIso, now);
  return r.sink.empty() ? querySiteStats(db, r.self, since, now, r.interval)
                        : queryStats(db, r.sink, since, now, r.interval);
}

std::string statsJson(db::Database& db, const StatsRequest& r) {
  return jsonText(toJson(queryStats(db, r)));
}

Poco::JSON::Object::Ptr toJson(const StatsView& view) {
  Poco::JSON::Object::Ptr j = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  j->set("since", isoSeconds(view.sinceMs));
  j->set("until", isoSeconds(view.untilMs));
  j->set("interval_seconds", view.intervalSeconds);
  j->set("sink", view.sink.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(view.sink));
  Poco::JSON::Array::Ptr intervals = new Poco::JSON::Array;
  for (const auto& s : view.intervals) intervals->add(toJson(s));
  j->set("intervals", intervals);
  j->set("totals", toJson(view.totals));
  Poco::JSON::Array::Ptr sinks = new Poco::JSON::Array;
  for (const auto& s : view.sinks) {
    Poco::JSON::Object::Ptr one = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    one->set("sink", s.sink);
    one->set("totals", toJson(s.totals));
    sinks->add(one);
  }
  j->set("sinks", sinks);
  return j;
}

std::string statsJson(db::Database& db, const std::string& owner, const std::string& sinceIso,
                      std::chrono::seconds interval) {
  const auto now = nowMs();
  const auto since = sinceOf(sinceIso, now);
  return jsonText(toJson(queryStats(db, owner, since, now, interval)));
}

std::string statsJson(db::Database& db, const std::string& owner, const std::string& sinceIso) {
  return statsJson(db, owner, sinceIso, std::chrono::seconds(0));
}

}  // namespace bccsink::report
