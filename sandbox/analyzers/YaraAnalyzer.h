#pragma once
// The analyzer "yara": the embedded default. It scans a file's bytes in process with a
// compiled rule set (YaraRules) on its own small pool of threads, so the AnalyzerRunner's
// scheduler never waits for a scan. The rule set can be swapped while scans run (SIGHUP);
// scans already started finish with the rules they began with.
//
// Verdict: the worst `verdict` meta of the matched rules; threats are the matched rule names
// (dangerous, then suspicious, then rules without a verdict); score 100 dangerous, 50
// suspicious, 0 otherwise. A file that cannot be read, or a scan libyara gives up on (time
// limit), is Unscanned with the reason, not transient: trying again would not help.

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/analyzers/Analyzer.h"
#include "sandbox/analyzers/Verdict.h"
#include "sandbox/analyzers/YaraRules.h"

namespace bccsink::sandbox {

class YaraAnalyzer : public Analyzer {
 public:
  // Throws std::invalid_argument for null rules or 0 threads.
  explicit YaraAnalyzer(std::shared_ptr<const YaraRules> rules, std::size_t threads = 2);
  // Answers what is still queued with Unscanned "shutting down", lets the scans in progress
  // finish and joins the threads. Not from within a `done`: a pool thread cannot join itself.
  ~YaraAnalyzer() override;
  YaraAnalyzer(const YaraAnalyzer&) = delete;
  YaraAnalyzer& operator=(const YaraAnalyzer&) = delete;

  std::string name() const override { return "yara"; }
  // Queues the scan and returns; `done` is called once, on one of the pool's threads.
  void analyze(const Submission& file, std::function<void(Verdict)> done) override;

  // Scans that start from now on use `rules`. Thread-safe. Throws std::invalid_argument for
  // null rules.
  void reload(std::shared_ptr<const YaraRules> rules);
  std::shared_ptr<const YaraRules> rules() const;

  // Submissions waiting for a thread.
  std::size_t queued() const;

 private:
  struct Job {
    Submission file;
    std::function<void(Verdict)> done;
  };

  void work();
  Verdict scan(const Submission& file) const;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::shared_ptr<const YaraRules> rules_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace bccsink::sandbox
