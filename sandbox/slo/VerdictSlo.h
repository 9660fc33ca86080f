#pragma once
// The verdict service level (BccVerdictSlo, README "Time to verdict"): of this sink's
// copies whose deadline (received + BccVerdictSlo) fell within the last hour, the share
// that were checked by their deadline. A copy still pending or analyzing past its deadline
// is a miss too, so that a stuck pipeline shows before anything completes; a failed copy
// is a miss (it never got an analysis); no copies at all reads as 1.
//
// Cheap at 100+ copies/s and a scrape every 15 s: the completions are counted in memory by
// the second of their deadline (rounded up, so a copy counts only once its deadline has
// passed), fed by the pipeline's completion observer (sandbox/slo/TimeToVerdict), and
// pruned past the hour; the copies still waiting are one indexed count
// (db/QueueAge::countWaiting over received_at). Completions before this process started
// are not counted (the waiting ones are: they are in the database). Memory: one map entry
// per second of deadline from an hour ago to BccVerdictSlo ahead (about 4,500 for 15m).

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace bccsink::db {
class Database;
}

namespace bccsink::sandbox {

// The SLO at one moment, as /metrics, the API and the warning read it.
struct SloReading {
  std::chrono::seconds target{0};   // BccVerdictSlo
  std::uint64_t within = 0;         // checked by their deadline
  std::uint64_t late = 0;           // checked or failed after it, or failed
  std::int64_t overdue = 0;         // still pending or analyzing past it
  double ratio = 1;                 // within / (within + late + overdue); 1 when none
  double oldestWaitingSeconds = 0;  // age of the oldest pending or analyzing copy; 0: none
};

class VerdictSlo {
 public:
  static constexpr std::int64_t kWindowMs = 3'600'000;  // "the last hour"

  explicit VerdictSlo(std::chrono::seconds target);

  // A copy received at `receivedMs` (ms since the epoch) reached its last state at
  // `doneMs`: checked (`checked`) or failed.
  void record(std::int64_t receivedMs, std::int64_t doneMs, bool checked);
  // The completions counted now (within, late; overdue left 0), their deadlines in the
  // hour before `nowMs`.
  SloReading completions(std::int64_t nowMs);
  // The reading with `sink`'s waiting copies from the database: two indexed queries.
  SloReading read(db::Database& db, const std::string& sink, std::int64_t nowMs);

  std::chrono::seconds target() const { return target_; }

  // within / (within + late + overdue), 1 when all are 0.
  static double ratio(std::uint64_t within, std::uint64_t late, std::int64_t overdue);

 private:
  struct Counts {
    std::uint64_t within = 0, late = 0;
  };
  void prune(std::int64_t nowSecond);  // under mutex_

  const std::chrono::seconds target_;
  std::mutex mutex_;
  std::map<std::int64_t, Counts> byDeadline_;  // second of the deadline (rounded up) -> counts
};

}  // namespace bccsink::sandbox
