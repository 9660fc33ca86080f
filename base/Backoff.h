#pragma once
// The wait before trying again after failures: doubling from a base up to a cap. One rule
// for every stage that retries on a clock of its own (report delivery, statistics export).

#include <algorithm>
#include <chrono>

namespace bccsink {

// base, 2 x base, 4 x base... up to cap: the wait after the n-th failed try (n >= 1).
inline std::chrono::milliseconds retryDelay(int attempts, std::chrono::milliseconds base,
                                            std::chrono::milliseconds cap) {
  auto d = base;
  for (int i = 1; i < attempts && d < cap; ++i) d *= 2;
  return std::min(d, cap);
}

}  // namespace bccsink
