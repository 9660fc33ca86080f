#pragma once
// Time to verdict (issue 17): from the 250 that took a copy to the commit that made it
// `checked` or `failed`, as the histogram bccsink_time_to_verdict_seconds{verdict} and the
// verdict SLO's window (VerdictSlo). The pipeline calls finished() after each such commit
// (Pipeline::onVerdict); /metrics reads histograms() and slo().
//
// The received time is read from the copy's id: the listener makes the ULID from the very
// instant it writes as received_at (sink/smtp/Intake.cpp, newUlid(now) and isoTime(now)),
// so no query is needed per copy. An id that is not a ULID is not observed.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/Histogram.h"
#include "sandbox/slo/VerdictSlo.h"

namespace bccsink::sandbox {

// The histogram's upper bounds (seconds): 1 s to the hour.
inline const std::vector<double> kTimeToVerdictBuckets = {1,   5,   15,  30,   60,  120,
                                                          300, 600, 900, 1800, 3600};
// The verdict label of a failed copy (its stored verdict is at least unscanned, but it was
// never fully analysed).
inline constexpr const char* kFailedLabel = "failed";

class TimeToVerdict {
 public:
  explicit TimeToVerdict(std::chrono::seconds verdictSlo);
  TimeToVerdict(const TimeToVerdict&) = delete;
  TimeToVerdict& operator=(const TimeToVerdict&) = delete;

  // Copy `msgId` was committed `checked` with `verdict`, or `failed`, at `doneMs`.
  void finished(const std::string& msgId, const std::string& verdict, bool failed,
                std::int64_t doneMs);
  // The same with the received time known.
  void observe(std::int64_t receivedMs, std::int64_t doneMs, const std::string& verdict,
               bool failed);

  // By verdict label: clean, suspicious, dangerous, unscanned, failed (always present),
  // and any other verdict seen.
  std::map<std::string, HistogramSnapshot> histograms() const;
  VerdictSlo& slo() { return slo_; }

  // The ms timestamp of a ULID (its first 10 Crockford base32 characters); 0 when `id` is
  // not one.
  static std::int64_t ulidTimeMs(const std::string& id);

 private:
  Histogram& of(const std::string& label);

  mutable std::mutex mutex_;  // the map; each histogram locks itself
  std::map<std::string, std::unique_ptr<Histogram>> byVerdict_;
  VerdictSlo slo_;
};

}  // namespace bccsink::sandbox
