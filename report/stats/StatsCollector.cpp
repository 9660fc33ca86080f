#include "report/stats/StatsCollector.h"

#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>

#include <algorithm>

#include "base/Backoff.h"
#include "base/Clock.h"
#include "base/JsonText.h"
#include "db/Database.h"
#include "db/Outage.h"
#include "db/StatsRepository.h"
#include "report/stats/StatsAggregator.h"
#include "report/stats/StatsCounters.h"

namespace bccsink::report {
namespace {

using std::chrono::milliseconds;

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.stats");
}

// The export's batch: a JSON array of the stored intervals, each with the sink's name
// first (a collector may hear from several sinks).
std::string batchJson(const std::string& sink, const std::vector<db::StatsRow>& rows) {
  Poco::JSON::Object name;
  name.set("sink", sink);
  std::string prefix = jsonText(name);  // {"sink":"..."}
  prefix.pop_back();
  std::string out = "[";
  for (const auto& r : rows) {
    if (out.size() > 1) out += ",";
    // counters is an object with keys: splice the sink in as its first key.
    out += prefix + "," + r.counters.substr(1);
  }
  // Rows stored before jsonText repaired invalid UTF-8 may still hold raw bytes.
  return validJsonText(out + "]");
}

}  // namespace

StatsCollector::StatsCollector(StatsSettings settings) : settings_(std::move(settings)) {
  if (settings_.interval.count() <= 0) throw std::invalid_argument("StatsInterval: must be > 0");
  if (settings_.settle.count() == 0) {
    settings_.settle = std::min<milliseconds>(settings_.interval, std::chrono::minutes(1));
  }
  if (settings_.poll.count() == 0) {
    settings_.poll = std::clamp<milliseconds>(settings_.interval / 4, milliseconds(200),
                                              std::chrono::seconds(5));
  }
  if (settings_.exportTo && !settings_.exportTo->url.empty()) {
    exporter_ = std::make_unique<StatsExporter>(*settings_.exportTo);
  }
}

StatsCollector::~StatsCollector() {
  stop();
}

std::int64_t StatsCollector::clock() const {
  return settings_.now ? settings_.now() : nowMs();
}

void StatsCollector::start() {
  thread_ = std::thread([this] { loop(); });
}

void StatsCollector::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  if (exporter_) exporter_->cancel();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int StatsCollector::exportFailures() const {
  std::lock_guard lock(mutex_);
  return exportFailures_;
}

std::int64_t StatsCollector::nextExportMs() const {
  std::lock_guard lock(mutex_);
  return nextExportMs_;
}

void StatsCollector::loop() {
  db::Outage outage(log(), "stats");
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    auto pause = settings_.poll;
    try {
      runOnce();
      outage.succeeded();
    } catch (const std::exception& e) {
      // The database was busy or gone (a PostgreSQL restart): the next round tries again
      // with a new connection; an interval is stored whole or not at all.
      pause = std::max(pause, outage.failed(e));
      db_.reset();
    }
    lock.lock();
    cv_.wait_for(lock, pause, [this] { return stopping_; });
  }
}

std::size_t StatsCollector::runOnce() {
  if (!db_) db_ = std::make_unique<db::Database>(settings_.databaseUrl);
  auto now = clock();
  auto stored = computeReady(*db_, now);
  if (exporter_) exportDue(*db_, now);
  return stored;
}

std::size_t StatsCollector::computeReady(db::Database& db, std::int64_t now) {
  const auto interval = settings_.interval.count();
  if (!next_) {
    next_ = firstUnstoredInterval(db, settings_.owner, now, interval, settings_.backfill.count());
  }
  db::StatsRepository repo(db);
  std::size_t stored = 0;
  // A round stores at most this many (a long backfill of short intervals goes on in the
  // next rounds), and a stop ends it between two intervals.
  constexpr std::size_t kMaxPerRound = 100;
  while (*next_ + interval + settings_.settle.count() <= now && stored < kMaxPerRound) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    const auto start = *next_, end = start + interval;
    auto unjudged = repo.unjudgedIn(settings_.owner, isoMillis(start), isoMillis(end));
    if (unjudged > 0 && now < end + settings_.grace.count()) break;  // wait for the reporter
    auto s = computeInterval(db, settings_.owner, start, end);
    if (!repo.save({settings_.owner, start, end, isoNow(), toJsonText(s), ""})) {
      log().warning("stats interval %s: stored already (another process with BccHostname %s?)",
                    isoSeconds(start), settings_.owner);
    }
    if (unjudged > 0) {
      log().warning("stats interval %s: %s messages still in analysis, counted as pending",
                    isoSeconds(start), std::to_string(unjudged));
    }
    log().debug("stats interval %s: %s messages", isoSeconds(start), std::to_string(s.messages));
    next_ = end;
    ++stored;
  }
  return stored;
}

void StatsCollector::exportDue(db::Database& db, std::int64_t now) {
  {
    std::lock_guard lock(mutex_);
    if (now < nextExportMs_) return;
  }
  db::StatsRepository repo(db);
  const auto from = now - settings_.backfill.count();
  for (;;) {
    auto rows = repo.unexported(settings_.owner, from, settings_.exportBatch);
    if (rows.empty()) return;
    auto result = exporter_->post(batchJson(settings_.owner, rows));
    if (!result.ok) {
      std::lock_guard lock(mutex_);
      ++exportFailures_;
      auto delay = retryDelay(exportFailures_, settings_.retryBase, settings_.retryCap);
      nextExportMs_ = clock() + delay.count();
      log().warning("stats export of %z intervals failed (try %d, again in %s s): %s", rows.size(),
                    exportFailures_, std::to_string(delay.count() / 1000), result.reason);
      return;
    }
    std::vector<std::int64_t> starts;
    for (const auto& r : rows) starts.push_back(r.startMs);
    repo.markExported(settings_.owner, starts, isoNow());
    log().information("stats: exported %z intervals (%s to %s)", rows.size(),
                      isoSeconds(rows.front().startMs), isoSeconds(rows.back().endMs));
    std::lock_guard lock(mutex_);
    exportFailures_ = 0;
    nextExportMs_ = 0;
    if (stopping_) return;
  }
}

}  // namespace bccsink::report
