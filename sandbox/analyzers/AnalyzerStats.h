#pragma once
// What an analyzer's runner did since it started, as a plain snapshot (/metrics,
// /api/overview). Header-only: the HTTP port and the metrics read it without linking the
// analyzers.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace bccsink::sandbox {

// Upper bounds (seconds) of the latency histogram of AnalyzerStats, from a hash look-up
// to a sandbox run; one more bucket holds everything slower.
inline constexpr std::array<double, 15> kLatencyBuckets = {
    0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900};

// Upper bounds (seconds) of the queue-wait histogram of AnalyzerStats: from submit() to
// the first attempt's start (a free slot); one more bucket holds longer waits.
inline constexpr std::array<double, 12> kQueueWaitBuckets = {0.01, 0.05, 0.1, 0.5, 1,   5,
                                                             15,   30,   60,  300, 900, 3600};

// A snapshot of what a runner did since it started (/metrics, /api/overview).
struct AnalyzerStats {
  std::string name;
  std::uint64_t submitted = 0;                 // submissions accepted
  std::array<std::uint64_t, 4> answered = {};  // final answers by VerdictKind (index = enum)
  std::uint64_t errors = 0;  // attempts that failed: transient answers, timeouts, exceptions
  std::size_t inFlight = 0;  // attempts running
  std::size_t queued = 0;    // waiting for a slot or a retry
  // Submission to final answer: per bucket of kLatencyBuckets (not cumulative), the last
  // entry for slower ones.
  std::array<std::uint64_t, kLatencyBuckets.size() + 1> latency = {};
  double latencySeconds = 0;  // their sum
  // Submission to the first attempt's start, per bucket of kQueueWaitBuckets (not
  // cumulative, the last entry for longer ones); a submission answered before it ever
  // started (its deadline passed in the queue) counts its whole wait.
  std::array<std::uint64_t, kQueueWaitBuckets.size() + 1> queueWait = {};
  double queueWaitSeconds = 0;  // their sum
  std::string lastError;        // the last failed attempt's reason, '' when none yet
  bool healthy = true;          // the last attempt that ended did not fail

  std::uint64_t answeredTotal() const;
  // The q-quantile (0..1) of the latency, interpolated inside its bucket; 0 without answers.
  double latencyQuantile(double q) const;
};

inline std::uint64_t AnalyzerStats::answeredTotal() const {
  std::uint64_t n = 0;
  for (auto a : answered) n += a;
  return n;
}

inline double AnalyzerStats::latencyQuantile(double q) const {
  std::uint64_t total = 0;
  for (auto n : latency) total += n;
  if (total == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(total);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < latency.size(); ++i) {
    if (latency[i] > 0 && static_cast<double>(below + latency[i]) >= rank) {
      const double low = i == 0 ? 0 : kLatencyBuckets[i - 1];
      // The open last bucket has no upper bound: its lower one is the best guess.
      if (i == kLatencyBuckets.size()) return low;
      const double within = (rank - static_cast<double>(below)) / static_cast<double>(latency[i]);
      return low + (kLatencyBuckets[i] - low) * within;
    }
    below += latency[i];
  }
  return kLatencyBuckets.back();
}

}  // namespace bccsink::sandbox
