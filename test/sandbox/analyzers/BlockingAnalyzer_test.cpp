// A BlockingAnalyzer behind the AnalyzerRunner: its scan() runs on the runner's threads, at
// most maxConcurrent at once, with the runner's retries, deadline and stop.
#include "sandbox/analyzers/BlockingAnalyzer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "test/sandbox/analyzers/RunnerTesting.h"

using namespace bccsink::sandbox;
using namespace bccsink::test;  // RunnerTesting.h

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A fake whose scan() runs `body` (given the call's number, from 0) and records on which
// threads and how many at once it ran.
class Fake : public BlockingAnalyzer {
 public:
  using Body = std::function<Verdict(const Submission&, std::stop_token, unsigned call)>;
  explicit Fake(Body body) : body_(std::move(body)) {}
  std::string name() const override { return "fake"; }

  Verdict scan(const Submission& file, std::stop_token stop) override {
    unsigned call;
    {
      std::lock_guard lock(mutex_);
      call = calls_++;
      threads_.insert(std::this_thread::get_id());
      mostAtOnce_ = std::max(mostAtOnce_, ++atOnce_);
    }
    Verdict v = [&] {
      try {
        return body_(file, stop, call);
      } catch (...) {
        std::lock_guard lock(mutex_);
        --atOnce_;
        throw;
      }
    }();
    std::lock_guard lock(mutex_);
    --atOnce_;
    return v;
  }

  unsigned calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  int atOnce() const {
    std::lock_guard lock(mutex_);
    return atOnce_;
  }
  int mostAtOnce() const {
    std::lock_guard lock(mutex_);
    return mostAtOnce_;
  }
  std::set<std::thread::id> threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }

 private:
  Body body_;
  mutable std::mutex mutex_;
  unsigned calls_ = 0;
  int atOnce_ = 0;
  int mostAtOnce_ = 0;
  std::set<std::thread::id> threads_;
};

Submission file(const std::string& name) {
  Submission s;
  s.name = name;
  s.path = "/nonexistent/" + name;
  return s;
}

// A gate the scans wait at until the test opens it (or 5 s pass).
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait_for(lock, 5s, [this] { return open_; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool open_ = false;
};

}  // namespace

TEST(BlockingAnalyzer, AnalyzeScansOnTheCallersThreadBeforeReturning) {
  Fake fake([](const Submission& f, std::stop_token stop, unsigned) {
    EXPECT_FALSE(stop.stop_possible());
    return verdict(VerdictKind::Suspicious, f.name);
  });
  int calls = 0;
  Verdict answer;
  fake.analyze(file("a"), [&](Verdict v) {
    ++calls;
    answer = std::move(v);
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(answer.kind, VerdictKind::Suspicious);
  EXPECT_EQ(answer.reason, "a");
  EXPECT_EQ(fake.threads(), std::set<std::thread::id>{std::this_thread::get_id()});
}

// Twelve files, three slots: exactly three scans run at once, on three threads of the
// runner's (none of them the submitter's), and the rest wait their turn.
TEST(BlockingAnalyzer, RunsOnMaxConcurrentRunnerThreadsAtMost) {
  Gate gate;
  auto fake = std::make_shared<Fake>([&](const Submission&, std::stop_token, unsigned) {
    gate.wait();
    return verdict(VerdictKind::Clean);
  });
  AnalyzerRunner runner(fake, runnerSettings(3, 10s));
  Answers answers;
  for (int i = 0; i < 12; ++i)
    runner.submit(file(std::to_string(i)), Clock::now() + 20s, answers.to(std::to_string(i)));
  ASSERT_TRUE(eventually([&] { return fake->atOnce() == 3; }));
  std::this_thread::sleep_for(50ms);  // a fourth would have started by now
  EXPECT_EQ(fake->atOnce(), 3);
  EXPECT_EQ(runner.inFlight(), 3u);
  EXPECT_EQ(runner.queued(), 9u);
  gate.open();
  ASSERT_TRUE(eventually([&] { return answers.total() == 12; }));
  EXPECT_EQ(fake->mostAtOnce(), 3);
  EXPECT_EQ(fake->calls(), 12u);
  auto threads = fake->threads();
  EXPECT_LE(threads.size(), 3u);
  EXPECT_EQ(threads.count(std::this_thread::get_id()), 0u);
  for (int i = 0; i < 12; ++i) {
    EXPECT_EQ(answers.count(std::to_string(i)), 1) << i;
    EXPECT_EQ(answers.get(std::to_string(i)).verdict.kind, VerdictKind::Clean) << i;
    EXPECT_EQ(answers.get(std::to_string(i)).verdict.analyzer, "fake") << i;
  }
}

TEST(BlockingAnalyzer, TransientFailureIsRetriedAndTheRetryAnswers) {
  auto fake = std::make_shared<Fake>([](const Submission&, std::stop_token, unsigned call) {
    if (call == 0) return verdict(VerdictKind::Unscanned, "connection refused", true);
    return verdict(VerdictKind::Dangerous);
  });
  AnalyzerRunner runner(fake, runnerSettings(1, 10s));
  Answers answers;
  runner.submit(file("a"), Clock::now() + 10s, answers.to("a"));
  ASSERT_TRUE(eventually([&] { return answers.count("a") == 1; }));
  EXPECT_EQ(answers.get("a").verdict.kind, VerdictKind::Dangerous);
  EXPECT_EQ(fake->calls(), 2u);
  auto stats = runner.stats();
  EXPECT_EQ(stats.errors, 1u);
  EXPECT_EQ(stats.lastError, "connection refused");
  EXPECT_TRUE(stats.healthy);
}

TEST(BlockingAnalyzer, ScanThatThrowsIsUnscannedWithItsErrorAndNotRetried) {
  auto fake = std::make_shared<Fake>([](const Submission&, std::stop_token, unsigned) -> Verdict {
    throw std::runtime_error("boom");
  });
  AnalyzerRunner runner(fake, runnerSettings(2, 10s));
  Answers answers;
  runner.submit(file("a"), Clock::now() + 10s, answers.to("a"));
  ASSERT_TRUE(eventually([&] { return answers.count("a") == 1; }));
  EXPECT_EQ(answers.get("a").verdict.kind, VerdictKind::Unscanned);
  EXPECT_EQ(answers.get("a").verdict.reason, "analyzer error: boom");
  EXPECT_FALSE(answers.get("a").verdict.transient);
  EXPECT_EQ(fake->calls(), 1u);
  EXPECT_FALSE(runner.stats().healthy);
}

// A scan that hangs: the file is unscanned at its deadline while the scan still runs; its
// late verdict is dropped; stop() requests the stop that ends it and waits for it.
TEST(BlockingAnalyzer, HangingScanIsUnscannedAtTheDeadlineAndStopEndsIt) {
  std::mutex mutex;
  bool sawStop = false;
  auto fake = std::make_shared<Fake>([&](const Submission&, std::stop_token stop, unsigned) {
    const auto end = Clock::now() + 10s;
    while (!stop.stop_requested() && Clock::now() < end) std::this_thread::sleep_for(1ms);
    std::lock_guard lock(mutex);
    sawStop = stop.stop_requested();
    return verdict(VerdictKind::Dangerous);  // late: must not reach the caller
  });
  auto runner = std::make_unique<AnalyzerRunner>(fake, runnerSettings(1, 5s));
  Answers answers;
  auto start = Clock::now();
  runner->submit(file("a"), Clock::now() + 150ms, answers.to("a"));
  ASSERT_TRUE(eventually([&] { return answers.count("a") == 1; }));
  EXPECT_GE(Clock::now() - start, 150ms);
  auto v = answers.get("a").verdict;
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_FALSE(v.transient);
  EXPECT_EQ(v.reason.rfind("analyzer unreachable until the deadline: timed out after 0.", 0), 0u)
      << v.reason;
  EXPECT_EQ(fake->atOnce(), 1);  // still scanning
  auto stopping = Clock::now();
  runner->stop();
  EXPECT_LT(Clock::now() - stopping, 2s);
  EXPECT_EQ(fake->atOnce(), 0);  // stop() waited for it
  {
    std::lock_guard lock(mutex);
    EXPECT_TRUE(sawStop);
  }
  runner.reset();
  EXPECT_EQ(answers.count("a"), 1);
  EXPECT_EQ(fake->calls(), 1u);
}

// A scan outlives its attempt: the retry waits for the only worker, and is then scanned
// (the stale hand-off of an attempt that timed out in between is skipped).
TEST(BlockingAnalyzer, RetryAfterAnAttemptTimeoutWaitsForTheBusyWorker) {
  auto fake = std::make_shared<Fake>([](const Submission&, std::stop_token, unsigned call) {
    if (call == 0) std::this_thread::sleep_for(300ms);
    return verdict(call == 0 ? VerdictKind::Dangerous : VerdictKind::Suspicious);
  });
  AnalyzerRunner runner(fake, runnerSettings(1, 100ms));
  Answers answers;
  runner.submit(file("a"), Clock::now() + 5s, answers.to("a"));
  ASSERT_TRUE(eventually([&] { return answers.count("a") == 1; }));
  EXPECT_EQ(answers.get("a").verdict.kind, VerdictKind::Suspicious);  // the first, late, is dropped
  EXPECT_EQ(fake->mostAtOnce(), 1);
  EXPECT_EQ(fake->calls(), 2u);
  EXPECT_GE(runner.stats().errors, 1u);
}

TEST(BlockingAnalyzer, StopFromACallbackOnAWorkerDoesNotDeadlock) {
  auto fake = std::make_shared<Fake>(
      [](const Submission&, std::stop_token, unsigned) { return verdict(VerdictKind::Clean); });
  AnalyzerRunner runner(fake, runnerSettings(2, 10s));
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  std::thread::id on;
  runner.submit(file("a"), Clock::now() + 10s, [&](Verdict) {
    runner.stop();
    std::lock_guard lock(mutex);
    done = true;
    on = std::this_thread::get_id();
    cv.notify_all();
  });
  std::unique_lock lock(mutex);
  ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return done; }));
  EXPECT_NE(on, std::this_thread::get_id());
}
