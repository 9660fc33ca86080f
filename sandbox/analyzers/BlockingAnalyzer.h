#pragma once
// The shape of an analyzer that scans a file in one call and blocks while it does (clamd's
// INSTREAM, a YARA scan of the bytes, a hash-list look-up): it implements scan() and nothing
// else about threads. The AnalyzerRunner sees that an analyzer is a BlockingAnalyzer and runs
// it on maxConcurrent threads of its own, so the scheduler never waits for a scan and the
// limit of attempts in flight is also the number of scans at once. Queueing, attempt
// timeouts, retries, the deadline and shutdown stay the runner's.
//
// An analyzer that keeps many files in flight without a thread each (vxCube polls a remote
// API for minutes) implements Analyzer::analyze() directly instead.

#include <functional>
#include <stop_token>

#include "sandbox/analyzers/Analyzer.h"
#include "sandbox/analyzers/Verdict.h"

namespace bccsink::sandbox {

class BlockingAnalyzer : public Analyzer {
 public:
  // One file, start to verdict, on the calling thread; called from up to maxConcurrent
  // threads at once, so it must be thread-safe. Failures that may pass (connection refused,
  // timeout) are an Unscanned verdict with `transient` set; the runner retries them with
  // back-off. `stop` is requested when the runner stops: a long wait should end early with
  // Unscanned "shutting down" (the runner has answered the file already; it waits for the
  // call to return). An exception is a failed attempt that is not retried.
  virtual Verdict scan(const Submission& file, std::stop_token stop) = 0;

  // scan() on the caller's thread, then `done`, before returning: for a caller without a
  // runner. The runner never calls this for a BlockingAnalyzer; it calls scan() on its
  // own threads.
  void analyze(const Submission& file, std::function<void(Verdict)> done) final;
};

}  // namespace bccsink::sandbox
