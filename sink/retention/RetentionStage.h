#pragma once
// Retention (issue 17): one thread per sink that deletes what this sink keeps past its
// time, in small batches, so that the intake (which shares the database's write lock and
// the disk) is never held up for long.
//
// A sweep runs at start and then every `idle` (a minute); each batch of up to `batch`
// copies (db/Retention decides which):
//   1. their spool content goes (sink/smtp/SpoolExpiry): records marked dead and synced,
//      then their bytes punched out; standalone files unlinked;
//   2. one transaction marks their content expired (content_expired_at);
//   3. the files/ entries none of this sink's kept copies refers to any more are removed.
// Then the rows past BccKeepRows: their records dead first (a restart must not restore
// them), then the rows deleted in one transaction, then their files/ entries.
// Disk pressure: when the spool's file system has less than twice BccMinFreeSpace free
// (looked at every `pressureCheck`, and in every sweep), the oldest clean content goes
// first whatever its age, batch after batch until there is room again or no clean content
// is left; logged (notice, with the bytes freed) and counted. Between batches a short pause; a
// database that is away fails the sweep (backs off, logged once: db/Outage).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace bccsink::db {
class Database;
}

namespace bccsink {

class Sweeper;

struct RetentionSettings {
  std::string databaseUrl;
  std::string spoolDir;
  std::string filesDir;                   // DataDir/files (sandbox/ContentStore)
  std::string sink;                       // SinkName: only this sink's copies and spool
  std::chrono::seconds keepClean{0};      // BccKeepClean, 0 = forever
  std::chrono::seconds keepFlagged{0};    // BccKeepFlagged
  std::chrono::seconds keepRows{0};       // BccKeepRows
  std::uint64_t minFreeSpace = 0;         // BccMinFreeSpace: pressure under twice this; 0 = off
  std::size_t batch = 200;                // copies per transaction
  std::chrono::milliseconds pause{20};    // between batches
  std::chrono::milliseconds idle{60000};  // between sweeps
  std::chrono::milliseconds pressureCheck{2000};  // between looks at the free space
  // A stored file seen by the extraction this recently is kept: a copy being extracted may
  // use it before its row refers to it.
  std::chrono::seconds fileGrace{600};
};

// /metrics (bccsink_retention_*); written by the stage's thread, read by /metrics.
struct RetentionCounters {
  std::atomic<std::uint64_t> expiredAge{0};
  std::atomic<std::uint64_t> expiredPressure{0};
  std::atomic<std::uint64_t> rowsDeleted{0};
  std::atomic<std::uint64_t> filesDeleted{0};
  std::atomic<std::uint64_t> bytesFreed{0};
  std::atomic<std::uint64_t> pressureSweeps{0};  // sweeps that found the disk short
};

// What one sweep did.
struct RetentionSweep {
  std::uint64_t expiredAge = 0, expiredPressure = 0, rowsDeleted = 0, filesDeleted = 0;
  std::uint64_t bytesFreed = 0;
  bool pressure = false;
};

class RetentionStage {
 public:
  explicit RetentionStage(RetentionSettings settings);
  ~RetentionStage();  // stop()
  RetentionStage(const RetentionStage&) = delete;
  RetentionStage& operator=(const RetentionStage&) = delete;

  void start();
  void stop();
  // One whole sweep on the caller's thread (what the thread runs every `idle`). Throws
  // what the database threw.
  RetentionSweep sweepOnce();
  // Only the disk pressure part (what the thread does between sweeps).
  RetentionSweep relievePressure();

  const RetentionCounters& counters() const { return counters_; }

  // Test hooks: the wall clock (ms since the epoch) and the free space reading.
  void setClockForTest(std::function<std::int64_t()> clock) { clock_ = std::move(clock); }
  void setFreeSpaceForTest(std::function<std::uint64_t()> free) { freeSpace_ = std::move(free); }

 private:
  void run();
  void relieve(Sweeper& sweeper, RetentionSweep& out);
  bool pauseBetweenBatches();  // false when stopping
  std::uint64_t freeBytes() const;
  db::Database& database();

  RetentionSettings settings_;
  RetentionCounters counters_;
  std::function<std::int64_t()> clock_;
  std::function<std::uint64_t()> freeSpace_;
  std::unique_ptr<db::Database> db_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool short_ = false;  // the last look found too little free space and nothing to free
  std::thread thread_;
};

}  // namespace bccsink
