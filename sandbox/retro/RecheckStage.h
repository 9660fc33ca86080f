#pragma once
// Re-checks (issue 17): when what an analyzer's answers depend on changes (its
// "generation": the YARA rules' digest after a SIGHUP, clamd's VERSION answer after a
// signature update, the hash list's digest), the files of this sink's messages of the
// retro window are scanned again by that analyzer alone, in the background, newest first,
// at most `rate` files a second. Each answer that differs from the cached one replaces only
// that analyzer's verdict (the others' stay) and goes to RetroJudge, so the messages that
// carried a file now found bad are judged again and reported.
//
// Where a re-check stands is kept in analyzer_generations (db/RetroAlerts): a restart goes
// on from the cursor, and a restart with an unchanged generation does not re-check. The
// first generation a sink ever sees is only stored: there is nothing to compare it with.
//
// One thread, at nice 10 (intake and analysis come first on a busy machine); its own connection
// (Deferred: a cursor lost to power loss means some files are scanned twice). A database that is
// away pauses it; clamd unreachable pauses it on the same file.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "sandbox/ContentStore.h"
#include "sandbox/analyzers/BlockingAnalyzer.h"
#include "sandbox/retro/RetroJudge.h"

namespace bccsink::db {
class Database;
struct RecheckFile;
}  // namespace bccsink::db

namespace bccsink::sandbox {

// One analyzer the stage re-checks with.
struct RecheckAnalyzer {
  std::string name;  // its cache key: yara, clamd, hashlist
  RetroCause cause = RetroCause::RulesReload;
  std::shared_ptr<BlockingAnalyzer> analyzer;
  // What its answers depend on now; '' when unknown at the moment (clamd away): no change.
  std::function<std::string()> generation;
  bool keptOnly = true;  // false: it needs only the digest (the hash list), every file goes
  bool polled = false;   // generation() is asked every pollInterval (clamd), not only on wake()
};

struct RecheckSettings {
  std::string databaseUrl;
  std::string sink;
  std::chrono::seconds window{0};                 // BccRetroWindow; 0 = off
  double rate = 50;                               // BccRecheckRate, files/s; 0 = off
  std::chrono::milliseconds pollInterval{60000};  // clamd's VERSION
  std::chrono::milliseconds retryPause{10000};    // after clamd or the database failed
  std::size_t batch = 500;                        // messages read from the database at once
  std::chrono::milliseconds saveEvery{1000};      // the cursor is stored this often
};

class RecheckStage {
 public:
  // `store` and `judge` must outlive the stage.
  RecheckStage(RecheckSettings settings, const ContentStore& store, RetroJudge& judge,
               std::vector<RecheckAnalyzer> analyzers);
  ~RecheckStage();  // stop()
  RecheckStage(const RecheckStage&) = delete;
  RecheckStage& operator=(const RecheckStage&) = delete;

  bool enabled() const;
  // Starts the thread (nothing when not enabled).
  void start();
  // Ends within a file's scan; the cursor is stored. Idempotent.
  void stop();
  // A generation may have changed (SIGHUP): look at them now.
  void wake();

  // Files re-checked since start, per analyzer, in the order given.
  std::vector<std::pair<std::string, std::uint64_t>> filesRechecked() const;
  // Files the running re-checks have still to go through (0 when none runs).
  std::int64_t pendingFiles() const { return pending_.load(); }

  // One round of the thread's work, on the caller's thread (tests): the generations
  // looked at, then up to `maxFiles` distinct files re-checked. False when nothing was left to do.
  bool runOnceForTest(db::Database& db, std::size_t maxFiles);

 private:
  void loop();
  // Stores changed generations; `all`: the polled ones too.
  void lookAtGenerations(db::Database& db, bool all);
  // Re-checks up to `maxFiles` files of the first analyzer with a cursor; false when none
  // has one.
  bool work(db::Database& db, std::size_t maxFiles);
  // Scans one file; false when the analyzer could not be reached (try it again later).
  bool recheck(db::Database& db, const RecheckAnalyzer& a, const std::string& sha256);
  // Waits for the next token; false when stopping.
  bool takeToken();

  RecheckSettings settings_;
  const ContentStore& store_;
  RetroJudge& judge_;
  std::vector<RecheckAnalyzer> analyzers_;
  std::vector<std::unique_ptr<std::atomic<std::uint64_t>>> files_;  // per analyzer
  std::vector<bool> counted_;  // pending_ computed for the analyzer's running re-check
  // The files the running re-check did (first 8 bytes of each digest): a file carried by
  // many messages is scanned once. Lost at a restart, which scans some files twice.
  std::vector<std::unordered_set<std::uint64_t>> seen_;  // per analyzer
  std::atomic<std::int64_t> pending_{0};
  std::chrono::steady_clock::time_point nextToken_{};

  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = true;  // the generations are looked at once at start
  std::stop_source stopSource_;
  std::thread thread_;
};

}  // namespace bccsink::sandbox
