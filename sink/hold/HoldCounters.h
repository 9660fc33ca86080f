#pragma once
// What SMTP mode's hold stage counts for /metrics: actions by verdict, how long messages
// were held (from the 250 to the relay's 250, a histogram), and re-injection tries by
// outcome. Atomics only: the stage counts, /metrics reads. How many are held now comes
// from the database (db/HoldQueue::countByState).

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bccsink {

// What decided a message's action: its verdict, or SmtpMaxHold running out (timeout), or
// an administrator's release from quarantine.
inline constexpr std::array<std::string_view, 6> kHoldCauses = {
    "clean", "suspicious", "dangerous", "unscanned", "timeout", "released"};
inline constexpr std::array<std::string_view, 4> kHoldActions = {"pass", "tag", "quarantine",
                                                                 "discard"};
// Upper bounds (seconds) of the hold-time histogram's buckets; +Inf follows.
inline constexpr std::array<double, 10> kHoldSecondsBuckets = {0.1, 0.25, 0.5, 1,   5,
                                                               30,  60,   300, 900, 3600};

// Index of `name` in `list`, or list.size() when absent.
template <std::size_t N>
constexpr std::size_t holdIndex(const std::array<std::string_view, N>& list,
                                std::string_view name) {
  for (std::size_t i = 0; i < N; ++i)
    if (list[i] == name) return i;
  return N;
}

struct HoldCounters {
  // actions[cause][action]
  std::array<std::array<std::atomic<std::uint64_t>, kHoldActions.size()>, kHoldCauses.size()>
      actions{};
  // The histogram of hold times of delivered messages: cumulative bucket counts are made
  // when formatted; here each message counts in the first bucket it fits (the last slot
  // is +Inf).
  std::array<std::atomic<std::uint64_t>, kHoldSecondsBuckets.size() + 1> holdBuckets{};
  std::atomic<std::uint64_t> holdMillisSum{0};
  std::atomic<std::uint64_t> holdCount{0};
  // Re-injection tries: delivered (the relay's 250), deferred (4xx, down, timeout: tried
  // again), rejected (5xx: the administrator is told).
  std::atomic<std::uint64_t> delivered{0};
  std::atomic<std::uint64_t> deferred{0};
  std::atomic<std::uint64_t> rejected{0};

  void countAction(std::string_view cause, std::string_view action) {
    const auto c = holdIndex(kHoldCauses, cause), a = holdIndex(kHoldActions, action);
    if (c < kHoldCauses.size() && a < kHoldActions.size()) ++actions[c][a];
  }
  void countHeld(std::uint64_t millis) {
    std::size_t slot = 0;
    while (slot < kHoldSecondsBuckets.size() && millis > kHoldSecondsBuckets[slot] * 1000) ++slot;
    ++holdBuckets[slot];
    holdMillisSum += millis;
    ++holdCount;
  }
};

}  // namespace bccsink
