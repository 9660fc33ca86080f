#pragma once
// The periodic look at the verdict SLO that the warning needs even when nobody scrapes
// /metrics: a thread of its own reads the SLO (VerdictSlo::read: two indexed queries on its
// own connection) every `interval` and hands it to SloWarning. A database that is away
// skips a round (the pipeline logs the outage).

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "sandbox/slo/SloWarning.h"
#include "sandbox/slo/VerdictSlo.h"

namespace bccsink::sandbox {

struct SloWatchSettings {
  std::string databaseUrl;
  std::string sink;  // this sink's name: its copies
  std::chrono::milliseconds interval{5000};
};

class SloWatch {
 public:
  // `slo` must outlive it.
  SloWatch(SloWatchSettings settings, VerdictSlo& slo);
  ~SloWatch();  // stop()
  SloWatch(const SloWatch&) = delete;
  SloWatch& operator=(const SloWatch&) = delete;

  void start();
  void stop();  // idempotent

 private:
  void run();

  SloWatchSettings settings_;
  VerdictSlo& slo_;
  SloWarning warning_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bccsink::sandbox
