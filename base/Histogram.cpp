#include "base/Histogram.h"

#include <algorithm>

namespace bccsink {

double HistogramSnapshot::quantile(double q) const {
  if (count == 0) return 0;
  const double rank = std::clamp(q, 0.0, 1.0) * static_cast<double>(count);
  std::uint64_t below = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] > 0 && static_cast<double>(below + counts[i]) >= rank) {
      const double low = i == 0 ? 0 : bounds[i - 1];
      if (i == bounds.size()) return low;  // +Inf has no upper bound: its lower is the guess
      const double within = (rank - static_cast<double>(below)) / static_cast<double>(counts[i]);
      return low + (bounds[i] - low) * within;
    }
    below += counts[i];
  }
  return bounds.empty() ? 0 : bounds.back();
}

Histogram::Histogram(std::vector<double> bounds) {
  std::sort(bounds.begin(), bounds.end());
  data_.counts.assign(bounds.size() + 1, 0);
  data_.bounds = std::move(bounds);
}

void Histogram::observe(double value) {
  const auto bucket = static_cast<std::size_t>(
      std::lower_bound(data_.bounds.begin(), data_.bounds.end(), value) - data_.bounds.begin());
  std::lock_guard lock(mutex_);
  ++data_.counts[bucket];
  data_.sum += value;
  ++data_.count;
}

HistogramSnapshot Histogram::snapshot() const {
  std::lock_guard lock(mutex_);
  return data_;
}

}  // namespace bccsink
