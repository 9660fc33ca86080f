#include "report/stats/StatsQuery.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/Logger.h>

#include "base/Clock.h"
#include "base/JsonText.h"
#include "db/StatsRepository.h"
#include "report/stats/StatsAggregator.h"

namespace bccsink::report {
namespace {

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::int64_t kDefaultIntervalMs = 5LL * 60 * 1000;

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
  return view;
}

Poco::JSON::Object::Ptr toJson(const StatsView& view) {
  Poco::JSON::Object::Ptr j = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  j->set("since", isoSeconds(view.sinceMs));
  j->set("until", isoSeconds(view.untilMs));
  j->set("interval_seconds", view.intervalSeconds);
  Poco::JSON::Array::Ptr intervals = new Poco::JSON::Array;
  for (const auto& s : view.intervals) intervals->add(toJson(s));
  j->set("intervals", intervals);
  j->set("totals", toJson(view.totals));
  return j;
}

std::string statsJson(db::Database& db, const std::string& owner, const std::string& sinceIso,
                      std::chrono::seconds interval) {
  const auto now = nowMs();
  const auto since = sinceIso.empty() ? now - kDayMs : msFromIso(sinceIso);
  return jsonText(toJson(queryStats(db, owner, since, now, interval)));
}

std::string statsJson(db::Database& db, const std::string& owner, const std::string& sinceIso) {
  return statsJson(db, owner, sinceIso, std::chrono::seconds(0));
}

}  // namespace bccsink::report
