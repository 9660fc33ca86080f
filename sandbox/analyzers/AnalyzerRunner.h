#pragma once
// The policy every analyzer backend shares (STYLE.md 5, rspamd's "shared rules"), so that a
// backend only says what it found: at most N analyses in flight per analyzer (more wait in
// FIFO order), a time limit per attempt, retries of transient failures with exponential
// back-off and jitter until the submission's deadline, then fail-open with an unscanned
// verdict (DESIGN.md, "Verdicts"). Every submission is answered exactly once, by its
// deadline or at stop(), whatever the analyzer does.
//
// One scheduler thread starts attempts and fires the timers. Analyzer::analyze() is called
// from it without the runner's lock, so it must start the work and return; a backend that
// blocks on I/O or burns CPU is a BlockingAnalyzer, whose scan() the runner calls on
// maxConcurrent worker threads of its own (clamd, YARA, the hash list), so that no scan
// holds up a timer of this runner.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/analyzers/Analyzer.h"
#include "sandbox/analyzers/AnalyzerStats.h"
#include "sandbox/analyzers/Verdict.h"

namespace bccsink::sandbox {

struct RunnerSettings {
  // Attempts in flight at once (>= 1); for a BlockingAnalyzer also the runner's threads.
  std::size_t maxConcurrent = 4;
  std::chrono::milliseconds attemptTimeout{60000};  // no answer by then: transient failure
  std::chrono::milliseconds backoffBase{1000};      // wait before the first retry
  std::chrono::milliseconds backoffCap{60000};      // longest wait between attempts
};

// The wait before retry number `retry` (1 = the first retry): backoffBase * 2^(retry-1),
// at most backoffCap, scaled by 0.75 + 0.25 * jitter (jitter in [0, 1]) so that files
// that failed together do not come back together.
std::chrono::milliseconds backoffDelay(const RunnerSettings& settings, unsigned retry,
                                       double jitter);

// An analyzer with the runner policy that suits it, as each analyzer's make() returns them
// (AnalysisSetup keeps them and makes a runner of each, as often as it is asked).
struct ConfiguredAnalyzer {
  std::shared_ptr<Analyzer> analyzer;
  RunnerSettings runner;
};

class AnalyzerRunner {
 public:
  // Throws std::invalid_argument for a null analyzer or maxConcurrent 0. Starts the
  // scheduler, and maxConcurrent workers when `analyzer` is a BlockingAnalyzer.
  AnalyzerRunner(std::shared_ptr<Analyzer> analyzer, RunnerSettings settings);
  // stop().
  ~AnalyzerRunner();
  AnalyzerRunner(const AnalyzerRunner&) = delete;
  AnalyzerRunner& operator=(const AnalyzerRunner&) = delete;

  // The analyzer's name (the verdict cache key).
  const std::string& name() const;
  // The longest one attempt may take (RunnerSettings::attemptTimeout).
  std::chrono::milliseconds attemptTimeout() const { return attemptTimeout_; }

  // Queues `file`. `done` is called exactly once, on any thread (the analyzer's or the
  // runner's), never with the runner's lock held, and not later than shortly after
  // `deadline` or stop(). It gets the analyzer's own verdict, or Unscanned with
  // transient=false and the reason: "analyzer unreachable until the deadline: <last
  // error>", "analyzer busy until the deadline: not started", "shutting down". After
  // stop(), `done` is called at once, inside submit(). `done` must not throw, and must
  // not destroy the runner.
  void submit(Submission file, std::chrono::steady_clock::time_point deadline,
              std::function<void(Verdict)> done);

  // Attempts started and not yet answered or timed out.
  std::size_t inFlight() const;
  // Submissions accepted and not in flight: waiting for a slot or for a retry.
  std::size_t queued() const;
  // Counters since start, thread-safe.
  AnalyzerStats stats() const;

  // Answers every queued, waiting and in-flight submission with Unscanned "shutting down"
  // and joins the scheduler thread. Answers that analyzers give later are dropped. Does
  // not wait for an asynchronous analyzer; a BlockingAnalyzer's scans in progress see
  // their stop token and are waited for. Idempotent.
  void stop();

 private:
  struct Core;
  std::shared_ptr<Analyzer> analyzer_;  // outlives every analyze() call the runner makes
  std::shared_ptr<Core> core_;          // shared with the scheduler thread; the analyzer's
                                        // callbacks hold it weakly
  std::thread thread_;
  std::vector<std::thread> workers_;  // a BlockingAnalyzer's, else none
  std::chrono::milliseconds attemptTimeout_{0};
};

}  // namespace bccsink::sandbox
