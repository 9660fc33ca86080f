#pragma once
// What the tests of the AnalyzerRunner and of analyzers behind it share: waiting for a
// condition without a fixed sleep, verdicts and runner settings in one line, and the answers
// a runner gave, by submission name.

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/analyzers/Verdict.h"

namespace bccsink::test {

// Waits up to `limit` for `ready`. The runner's timers in these tests are tens of
// milliseconds, but a loaded two-core CI machine may take far longer to get there: a fixed
// sleep would be either slow or flaky.
inline bool eventually(const std::function<bool()>& ready,
                       std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!ready()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

inline sandbox::Verdict verdict(sandbox::VerdictKind kind, std::string reason = {},
                                bool transient = false) {
  sandbox::Verdict v;
  v.kind = kind;
  v.reason = std::move(reason);
  v.transient = transient;
  return v;
}

// Short back-off, so that retries happen within a test.
inline sandbox::RunnerSettings runnerSettings(
    std::size_t maxConcurrent, std::chrono::milliseconds attemptTimeout,
    std::chrono::milliseconds backoffBase = std::chrono::milliseconds(10),
    std::chrono::milliseconds backoffCap = std::chrono::milliseconds(40)) {
  sandbox::RunnerSettings s;
  s.maxConcurrent = maxConcurrent;
  s.attemptTimeout = attemptTimeout;
  s.backoffBase = backoffBase;
  s.backoffCap = backoffCap;
  return s;
}

// What the runner answered, per submission name, from whatever thread it answered on.
class Answers {
 public:
  struct Answer {
    int count = 0;
    sandbox::Verdict verdict;
    std::chrono::steady_clock::time_point at;
    std::thread::id thread;
  };

  std::function<void(sandbox::Verdict)> to(const std::string& name) {
    return [this, name](sandbox::Verdict v) {
      std::lock_guard lock(mutex_);
      auto& a = byName_[name];
      ++a.count;
      a.verdict = std::move(v);
      a.at = std::chrono::steady_clock::now();
      a.thread = std::this_thread::get_id();
    };
  }

  Answer get(const std::string& name) const {
    std::lock_guard lock(mutex_);
    auto it = byName_.find(name);
    return it == byName_.end() ? Answer{} : it->second;
  }
  int count(const std::string& name) const { return get(name).count; }
  int total() const {
    std::lock_guard lock(mutex_);
    int n = 0;
    for (const auto& [name, a] : byName_) n += a.count;
    return n;
  }
  std::map<std::string, Answer> all() const {
    std::lock_guard lock(mutex_);
    return byName_;
  }

  bool waitFor(const std::string& name) const {
    return eventually([&] { return count(name) > 0; });
  }
  bool waitForTotal(int n) const {
    return eventually([&] { return total() >= n; });
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, Answer> byName_;
};

}  // namespace bccsink::test
