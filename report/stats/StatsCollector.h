#pragma once
// The daemon's statistics stage. One thread with its own database session computes each
// closed interval of this sink from the database (StatsAggregator) and stores it once
// (StatsRepository); with StatsExportUrl, it also POSTs the stored intervals not exported
// yet (StatsExporter), retried with back-off. It reads the queue and writes only its own
// table, so intake never waits for it.
//
// Intervals are [k*StatsInterval, (k+1)*StatsInterval) since the epoch. One is computed
// once it has ended, `settle` has passed (a copy's received_at is when its DATA began,
// and its row commits when DATA ends), and every message received in it is judged by the
// reporter (checked or failed, origin hop recorded), or else once `grace` has passed
// since its end, still-pending messages then counted as "pending". At start, the
// intervals missed while the daemon was down (since the last stored one, at most
// `backfill` ago) are computed first. A database that is away fails the round; the next
// one (after `poll`, at least 1 s and up to 5 s while it lasts) connects again; the outage
// is logged once as it starts and once as it ends (db/Outage.h).

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "report/stats/StatsExporter.h"

namespace bccsink::db {
class Database;
}

namespace bccsink::report {

struct StatsSettings {
  std::string databaseUrl;
  std::string owner;                                            // this sink (BccHostname)
  std::chrono::milliseconds interval{std::chrono::minutes(5)};  // StatsInterval
  // 0 = min(interval, 1 min): how long after an interval's end late commits may come in.
  std::chrono::milliseconds settle{0};
  std::chrono::milliseconds grace{std::chrono::minutes(30)};  // BccAnalysisTimeout
  std::chrono::milliseconds backfill{std::chrono::hours(24)};
  std::chrono::milliseconds poll{0};       // 0 = interval / 4, within 200 ms .. 5 s
  std::optional<ExportSettings> exportTo;  // StatsExportUrl; none = no export
  std::chrono::milliseconds retryBase{std::chrono::seconds(30)};  // then doubling
  std::chrono::milliseconds retryCap{std::chrono::hours(1)};
  std::size_t exportBatch = 50;       // intervals per POST
  std::function<std::int64_t()> now;  // ms since the epoch; '' = the system clock (tests)
};

class StatsCollector {
 public:
  explicit StatsCollector(StatsSettings settings);  // throws std::invalid_argument (export)
  ~StatsCollector();                                // stop()
  StatsCollector(const StatsCollector&) = delete;
  StatsCollector& operator=(const StatsCollector&) = delete;

  void start();
  void stop();
  // One round on the caller's thread (tests, and the thread's own loop): stores the
  // intervals that are ready (at most 100 a round), then exports what is due. Returns the
  // intervals stored.
  std::size_t runOnce();

  // Export state, for tests and logs.
  int exportFailures() const;
  std::int64_t nextExportMs() const;

 private:
  void loop();
  std::size_t computeReady(db::Database& db, std::int64_t now);
  void exportDue(db::Database& db, std::int64_t now);
  std::int64_t clock() const;

  StatsSettings settings_;
  std::unique_ptr<StatsExporter> exporter_;
  std::unique_ptr<db::Database> db_;  // the thread's own session
  std::optional<std::int64_t> next_;  // start of the next interval to compute
  int exportFailures_ = 0;
  std::int64_t nextExportMs_ = 0;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bccsink::report
