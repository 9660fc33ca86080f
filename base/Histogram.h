#pragma once
// A histogram of observed values over fixed upper bounds, as Prometheus shows one: what a
// metric needs to count latencies without keeping them (time to verdict, an analyzer's
// queue wait). Thread-safe: stages observe from their threads, /metrics takes a snapshot.
// How the snapshot is written is report/http/PrometheusHistogram's business.

#include <cstdint>
#include <mutex>
#include <vector>

namespace bccsink {

// What a histogram holds at one moment.
struct HistogramSnapshot {
  std::vector<double> bounds;         // the buckets' upper bounds, ascending (+Inf follows)
  std::vector<std::uint64_t> counts;  // per bucket, not cumulative: bounds.size() + 1 (+Inf)
  double sum = 0;                     // of every observed value
  std::uint64_t count = 0;            // observations

  // The q-quantile (0..1), interpolated inside its bucket as Prometheus' histogram_quantile
  // does; the +Inf bucket answers its lower bound; 0 without observations.
  double quantile(double q) const;
};

class Histogram {
 public:
  // `bounds`: ascending upper bounds; values above the last fall in +Inf.
  explicit Histogram(std::vector<double> bounds);
  // Counts `value` in the first bucket whose bound is >= value (Prometheus' `le`).
  void observe(double value);
  HistogramSnapshot snapshot() const;

 private:
  mutable std::mutex mutex_;
  HistogramSnapshot data_;
};

}  // namespace bccsink
