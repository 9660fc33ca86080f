#include "sandbox/analyzers/AnalyzerRunner.h"

#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test/sandbox/analyzers/RunnerTesting.h"

using bccsink::sandbox::Analyzer;
using bccsink::sandbox::AnalyzerRunner;
using bccsink::sandbox::backoffDelay;
using bccsink::sandbox::RunnerSettings;
using bccsink::sandbox::Submission;
using bccsink::sandbox::Verdict;
using bccsink::sandbox::VerdictKind;
using bccsink::test::Answers;
using bccsink::test::eventually;
using bccsink::test::runnerSettings;
using bccsink::test::verdict;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Callback = std::function<void(Verdict)>;
using std::chrono::milliseconds;

Submission file(const std::string& name) {
  Submission s;
  s.name = name;
  s.sha256 = std::string(64, 'a');
  s.md5 = std::string(32, 'b');
  s.family = "pe";
  s.size = 1234;
  s.path = "/var/lib/bccsink/content/" + name;
  return s;
}

Verdict transientFailure(std::string reason) {
  return verdict(VerdictKind::Unscanned, std::move(reason), true);
}

bool startsWith(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The base of the fakes: records every analyze() call, in order, with its time.
class Recording : public Analyzer {
 public:
  explicit Recording(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }

  std::vector<std::string> started() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    for (const auto& [name, at] : starts_) names.push_back(name);
    return names;
  }
  std::size_t calls() const {
    std::lock_guard lock(mutex_);
    return starts_.size();
  }
  std::vector<Clock::time_point> timesOf(const std::string& name) const {
    std::lock_guard lock(mutex_);
    std::vector<Clock::time_point> times;
    for (const auto& [n, at] : starts_) {
      if (n == name) times.push_back(at);
    }
    return times;
  }
  Submission last() const {
    std::lock_guard lock(mutex_);
    return last_;
  }

 protected:
  // Records the call; returns how many attempts at this file came before it.
  unsigned record(const Submission& f) {
    std::lock_guard lock(mutex_);
    unsigned earlier = 0;
    for (const auto& [n, at] : starts_) earlier += n == f.name;
    starts_.emplace_back(f.name, Clock::now());
    last_ = f;
    return earlier;
  }

 private:
  const std::string name_;
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, Clock::time_point>> starts_;
  Submission last_;
};

// Answers inside analyze().
class Instant : public Recording {
 public:
  explicit Instant(Verdict answer = verdict(VerdictKind::Clean))
      : Recording("instant"), answer_(std::move(answer)) {}
  void analyze(const Submission& f, Callback done) override {
    record(f);
    done(answer_);
  }

 private:
  Verdict answer_;
};

// Keeps every callback; the test answers (or never does) with fire().
class Manual : public Recording {
 public:
  Manual() : Recording("manual") {}
  void analyze(const Submission& f, Callback done) override {
    record(f);
    std::lock_guard lock(mutex_);
    callbacks_.push_back(std::move(done));
  }
  // Calls the callback of the `index`th analyze() call (0 = the first), on this thread.
  void fire(std::size_t index, Verdict v) {
    Callback done;
    {
      std::lock_guard lock(mutex_);
      done = callbacks_.at(index);
    }
    done(std::move(v));
  }

 private:
  std::mutex mutex_;
  std::vector<Callback> callbacks_;
};

// Answers clean from a thread of its own after `delay`, and tracks how many analyses it
// had at once.
class Delayed : public Recording {
 public:
  explicit Delayed(milliseconds delay) : Recording("delayed"), delay_(delay) {}
  ~Delayed() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }
  void analyze(const Submission& f, Callback done) override {
    record(f);
    std::lock_guard lock(mutex_);
    maxInFlight_ = std::max(maxInFlight_, ++inFlight_);
    threads_.emplace_back([this, done = std::move(done)] {
      std::this_thread::sleep_for(delay_);
      {
        std::lock_guard lock(mutex_);
        --inFlight_;
      }
      done(verdict(VerdictKind::Clean));
    });
  }
  int maxInFlight() const {
    std::lock_guard lock(mutex_);
    return maxInFlight_;
  }

 private:
  const milliseconds delay_;
  mutable std::mutex mutex_;
  std::vector<std::thread> threads_;
  int inFlight_ = 0;
  int maxInFlight_ = 0;
};

// The first `failures` attempts at each file fail transiently with `reason`; later ones
// answer `finally`.
class Flaky : public Recording {
 public:
  Flaky(unsigned failures, std::string reason, VerdictKind finally = VerdictKind::Dangerous)
      : Recording("flaky"), failures_(failures), reason_(std::move(reason)), finally_(finally) {}
  void analyze(const Submission& f, Callback done) override {
    if (record(f) < failures_) return done(transientFailure(reason_));
    done(verdict(finally_));
  }

 private:
  const unsigned failures_;
  const std::string reason_;
  const VerdictKind finally_;
};

class Throwing : public Recording {
 public:
  Throwing() : Recording("throwing") {}
  void analyze(const Submission& f, Callback) override {
    record(f);
    throw std::runtime_error("boom");
  }
};

Clock::time_point in(milliseconds ms) {
  return Clock::now() + ms;
}

const std::string kUnreachable = "analyzer unreachable until the deadline: ";
const std::string kBusy = "analyzer busy until the deadline: not started";

}  // namespace

TEST(AnalyzerRunner, ConstructorRefusesNoAnalyzerAndNoSlots) {
  EXPECT_THROW(AnalyzerRunner(nullptr, RunnerSettings{}), std::invalid_argument);
  EXPECT_THROW(AnalyzerRunner(std::make_shared<Instant>(), runnerSettings(0, 1000ms)),
               std::invalid_argument);
  AnalyzerRunner one(std::make_shared<Instant>(), runnerSettings(1, 1000ms));
  EXPECT_EQ(one.name(), "instant");
}

TEST(AnalyzerRunner, GivesTheAnalyzersVerdictAndTheSubmissionAsSubmitted) {
  Answers answers;
  Verdict found = verdict(VerdictKind::Dangerous);
  found.threats = {"Win.Test.EICAR_HDB-1"};
  found.score = 97;
  found.taskId = "task-1";
  auto analyzer = std::make_shared<Instant>(found);
  AnalyzerRunner runner(analyzer, runnerSettings(2, 1000ms));
  runner.submit(file("invoice.exe"), in(5000ms), answers.to("invoice.exe"));
  ASSERT_TRUE(answers.waitFor("invoice.exe"));

  auto a = answers.get("invoice.exe");
  EXPECT_EQ(a.count, 1);
  EXPECT_EQ(a.verdict.kind, VerdictKind::Dangerous);
  EXPECT_EQ(a.verdict.threats, std::vector<std::string>{"Win.Test.EICAR_HDB-1"});
  EXPECT_EQ(a.verdict.score, 97);
  EXPECT_EQ(a.verdict.taskId, "task-1");
  // The analyzer left its name out: the runner fills it in (it keys the verdict cache).
  EXPECT_EQ(a.verdict.analyzer, "instant");

  auto seen = analyzer->last();
  EXPECT_EQ(seen.name, "invoice.exe");
  EXPECT_EQ(seen.sha256, std::string(64, 'a'));
  EXPECT_EQ(seen.md5, std::string(32, 'b'));
  EXPECT_EQ(seen.family, "pe");
  EXPECT_EQ(seen.size, 1234u);
  EXPECT_EQ(seen.path, "/var/lib/bccsink/content/invoice.exe");
  EXPECT_EQ(analyzer->calls(), 1u);
}

TEST(AnalyzerRunner, StartsQueuedSubmissionsInTheOrderTheyCame) {
  Answers answers;
  auto analyzer = std::make_shared<Manual>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 10000ms));
  const std::vector<std::string> names = {"f1", "f2", "f3", "f4", "f5"};
  for (const auto& n : names) runner.submit(file(n), in(10000ms), answers.to(n));

  for (std::size_t i = 0; i < names.size(); ++i) {
    ASSERT_TRUE(eventually([&] { return analyzer->calls() == i + 1; })) << "start " << i;
    EXPECT_EQ(runner.inFlight(), 1u);
    EXPECT_EQ(runner.queued(), names.size() - i - 1);
    analyzer->fire(i, verdict(VerdictKind::Clean));
    EXPECT_EQ(answers.count(names[i]), 1);
  }
  EXPECT_EQ(analyzer->started(), names);
  EXPECT_EQ(answers.total(), 5);
}

TEST(AnalyzerRunner, NeverStartsMoreThanMaxConcurrentAttempts) {
  Answers answers;
  auto analyzer = std::make_shared<Manual>();
  AnalyzerRunner runner(analyzer, runnerSettings(3, 10000ms));
  for (int i = 0; i < 7; ++i) runner.submit(file(std::to_string(i)), in(10000ms), answers.to("x"));

  ASSERT_TRUE(eventually([&] { return analyzer->calls() == 3; }));
  // Time for a runner that ignored the limit to start a fourth.
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(analyzer->calls(), 3u);
  EXPECT_EQ(runner.inFlight(), 3u);
  EXPECT_EQ(runner.queued(), 4u);

  // Each answer frees exactly one slot.
  for (std::size_t answered = 1; answered <= 4; ++answered) {
    analyzer->fire(answered - 1, verdict(VerdictKind::Clean));
    ASSERT_TRUE(eventually([&] { return analyzer->calls() == 3 + answered; }));
    std::this_thread::sleep_for(10ms);
    EXPECT_EQ(analyzer->calls(), 3 + answered);
    EXPECT_EQ(runner.inFlight(), 3u);
  }
  EXPECT_EQ(runner.queued(), 0u);
  for (std::size_t i = 4; i < 7; ++i) analyzer->fire(i, verdict(VerdictKind::Clean));
  EXPECT_EQ(answers.count("x"), 7);
  EXPECT_EQ(runner.inFlight(), 0u);
}

TEST(AnalyzerRunner, AnalyzerAnsweringFromItsOwnThreadsStaysWithinTheLimit) {
  Answers answers;
  auto analyzer = std::make_shared<Delayed>(10ms);
  AnalyzerRunner runner(analyzer, runnerSettings(3, 10000ms));
  for (int i = 0; i < 24; ++i) {
    auto n = "f" + std::to_string(i);
    runner.submit(file(n), in(10000ms), answers.to(n));
  }
  ASSERT_TRUE(answers.waitForTotal(24));
  EXPECT_LE(analyzer->maxInFlight(), 3);
  EXPECT_GE(analyzer->maxInFlight(), 2) << "the runner ran the analyses one at a time";
  EXPECT_EQ(analyzer->calls(), 24u);
  for (const auto& [name, a] : answers.all()) {
    EXPECT_EQ(a.count, 1) << name;
    EXPECT_EQ(a.verdict.kind, VerdictKind::Clean) << name;
    EXPECT_NE(a.thread, std::this_thread::get_id()) << name;
  }
}

TEST(AnalyzerRunner, AttemptThatTimesOutIsRetriedAndTheRetryAnswers) {
  // The first attempt never answers; the second answers at once.
  class AnswersSecondTime : public Recording {
   public:
    AnswersSecondTime() : Recording("second") {}
    void analyze(const Submission& f, Callback done) override {
      if (record(f) == 0) {
        kept_ = std::move(done);
        return;
      }
      done(verdict(VerdictKind::Suspicious));
    }
    Callback kept_;  // read by the test once the runner has answered
  };
  Answers answers;
  auto analyzer = std::make_shared<AnswersSecondTime>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 30ms, 10ms, 10ms));
  runner.submit(file("a.exe"), in(5000ms), answers.to("a.exe"));
  ASSERT_TRUE(answers.waitFor("a.exe"));

  auto a = answers.get("a.exe");
  EXPECT_EQ(a.verdict.kind, VerdictKind::Suspicious);
  auto times = analyzer->timesOf("a.exe");
  ASSERT_EQ(times.size(), 2u);
  // The retry waited for the attempt's time and then the back-off (at least 0.75 of it,
  // 7 ms), both counted from the attempt's start, a little before the analyzer's first
  // record: 2 ms of slack for a loaded machine (CI saw 36.5 ms).
  EXPECT_GE(times[1] - times[0], 30ms + 7ms - 2ms);

  // The first attempt answers after all: too late, the submission has its answer.
  analyzer->kept_(verdict(VerdictKind::Dangerous));
  EXPECT_EQ(answers.count("a.exe"), 1);
  EXPECT_EQ(answers.get("a.exe").verdict.kind, VerdictKind::Suspicious);
}

TEST(AnalyzerRunner, AnswerOfAnEarlierAttemptIsIgnoredWhileALaterOneRuns) {
  Answers answers;
  auto analyzer = std::make_shared<Manual>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 100ms, 10ms, 10ms));
  runner.submit(file("a.exe"), in(5000ms), answers.to("a.exe"));
  ASSERT_TRUE(eventually([&] { return analyzer->calls() >= 2; }));

  // A callback runs the runner's answer on the caller's thread, so a wrong acceptance
  // would show at once.
  analyzer->fire(0, verdict(VerdictKind::Dangerous));
  EXPECT_EQ(answers.count("a.exe"), 0);

  // Answer the current attempt (on a slow machine, the second may have timed out too).
  for (;;) {
    auto n = analyzer->calls();
    analyzer->fire(n - 1, verdict(VerdictKind::Clean));
    if (answers.count("a.exe") == 1) break;
    ASSERT_TRUE(eventually([&] { return analyzer->calls() > n; }));
  }
  auto n = analyzer->calls();
  for (std::size_t i = 0; i < n; ++i) analyzer->fire(i, verdict(VerdictKind::Dangerous));
  EXPECT_EQ(answers.count("a.exe"), 1);
  EXPECT_EQ(answers.get("a.exe").verdict.kind, VerdictKind::Clean);
}

TEST(AnalyzerRunner, TransientFailuresAreRetriedWithGrowingBackoff) {
  Answers answers;
  auto analyzer = std::make_shared<Flaky>(3, "HTTP 503");
  const auto s = runnerSettings(1, 1000ms, 20ms, 50ms);
  AnalyzerRunner runner(analyzer, s);
  runner.submit(file("a.exe"), in(5000ms), answers.to("a.exe"));
  ASSERT_TRUE(answers.waitFor("a.exe"));

  auto a = answers.get("a.exe");
  EXPECT_EQ(a.verdict.kind, VerdictKind::Dangerous);
  EXPECT_FALSE(a.verdict.transient);
  auto times = analyzer->timesOf("a.exe");
  ASSERT_EQ(times.size(), 4u);
  // Waits of at least 15, 30 and 37 ms (the lowest jitter of 20, 40 and the cap of 50).
  for (unsigned retry = 1; retry < 4; ++retry) {
    EXPECT_GE(times[retry] - times[retry - 1], backoffDelay(s, retry, 0.0)) << "retry " << retry;
  }
}

TEST(AnalyzerRunner, TransientFailuresUntilTheDeadlineGiveUpWithTheLastError) {
  Answers answers;
  auto analyzer = std::make_shared<Flaky>(UINT_MAX, "HTTP 503 from the sandbox");
  AnalyzerRunner runner(analyzer, runnerSettings(1, 1000ms, 10ms, 20ms));
  const auto deadline = in(200ms);
  runner.submit(file("a.exe"), deadline, answers.to("a.exe"));
  ASSERT_TRUE(answers.waitFor("a.exe"));

  auto a = answers.get("a.exe");
  EXPECT_EQ(a.verdict.kind, VerdictKind::Unscanned);
  EXPECT_EQ(a.verdict.reason, kUnreachable + "HTTP 503 from the sandbox");
  EXPECT_FALSE(a.verdict.transient);
  EXPECT_EQ(a.verdict.analyzer, "flaky");
  EXPECT_GE(analyzer->calls(), 2u);
  // It gives up only when the next attempt could not start before the deadline.
  EXPECT_GE(a.at, deadline - 20ms);

  // Nothing else comes afterwards.
  auto calls = analyzer->calls();
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(analyzer->calls(), calls);
  EXPECT_EQ(answers.count("a.exe"), 1);
}

TEST(AnalyzerRunner, TransientFailureWithoutAReasonIsNamedInTheGiveUp) {
  Answers answers;
  AnalyzerRunner runner(std::make_shared<Flaky>(UINT_MAX, ""),
                        runnerSettings(1, 1000ms, 10ms, 20ms));
  runner.submit(file("a.exe"), in(60ms), answers.to("a.exe"));
  ASSERT_TRUE(answers.waitFor("a.exe"));
  EXPECT_EQ(answers.get("a.exe").verdict.reason, kUnreachable + "transient failure");
}

TEST(AnalyzerRunner, AnalyzerThatNeverAnswersIsUnscannedAtTheDeadlineAndItsLateAnswerIgnored) {
  Answers answers;
  auto analyzer = std::make_shared<Manual>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 10000ms));
  const auto deadline = in(200ms);
  runner.submit(file("a.exe"), deadline, answers.to("a.exe"));
  ASSERT_TRUE(answers.waitFor("a.exe"));

  auto a = answers.get("a.exe");
  EXPECT_EQ(a.verdict.kind, VerdictKind::Unscanned);
  EXPECT_FALSE(a.verdict.transient);
  EXPECT_EQ(a.verdict.analyzer, "manual");
  // The attempt was cut short by the deadline: it says how long it actually waited (under
  // 0.2 s), not the attempt time of 10 s.
  EXPECT_TRUE(startsWith(a.verdict.reason, kUnreachable + "timed out after 0")) << a.verdict.reason;
  EXPECT_GE(a.at, deadline);
  EXPECT_EQ(analyzer->calls(), 1u);
  EXPECT_EQ(runner.inFlight(), 0u);
  EXPECT_EQ(runner.queued(), 0u);

  analyzer->fire(0, verdict(VerdictKind::Dangerous));
  EXPECT_EQ(answers.count("a.exe"), 1);
  EXPECT_EQ(answers.get("a.exe").verdict.kind, VerdictKind::Unscanned);
}

TEST(AnalyzerRunner, RepeatedAttemptTimeoutsSayHowLongEachWaited) {
  Answers answers;
  auto analyzer = std::make_shared<Manual>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 20ms, 5ms, 5ms));
  runner.submit(file("a.exe"), in(150ms), answers.to("a.exe"));
  ASSERT_TRUE(answers.waitFor("a.exe"));
  EXPECT_GE(analyzer->calls(), 2u);
  auto reason = answers.get("a.exe").verdict.reason;
  // 0.02s, or less for the last attempt if the deadline cut it short.
  EXPECT_TRUE(startsWith(reason, kUnreachable + "timed out after 0")) << reason;
}

TEST(AnalyzerRunner, SubmissionThatNeverGetsASlotIsBusyAtTheDeadline) {
  Answers answers;
  auto analyzer = std::make_shared<Manual>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 10000ms));
  runner.submit(file("first"), in(10000ms), answers.to("first"));
  ASSERT_TRUE(eventually([&] { return analyzer->calls() == 1; }));
  const auto deadline = in(50ms);
  runner.submit(file("second"), deadline, answers.to("second"));
  EXPECT_EQ(runner.queued(), 1u);
  ASSERT_TRUE(answers.waitFor("second"));

  auto a = answers.get("second");
  EXPECT_EQ(a.verdict.kind, VerdictKind::Unscanned);
  EXPECT_EQ(a.verdict.reason, kBusy);
  EXPECT_FALSE(a.verdict.transient);
  EXPECT_EQ(a.verdict.analyzer, "manual");
  EXPECT_GE(a.at, deadline);
  EXPECT_EQ(analyzer->started(), std::vector<std::string>{"first"});
  EXPECT_EQ(runner.queued(), 0u);
  EXPECT_EQ(answers.count("first"), 0);
}

TEST(AnalyzerRunner, DeadlineAlreadyPassedIsAnsweredWithoutCallingTheAnalyzer) {
  Answers answers;
  auto analyzer = std::make_shared<Instant>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 1000ms));
  runner.submit(file("late"), Clock::now() - 1ms, answers.to("late"));
  ASSERT_TRUE(answers.waitFor("late"));
  EXPECT_EQ(answers.get("late").verdict.reason, kBusy);
  EXPECT_EQ(analyzer->calls(), 0u);
}

TEST(AnalyzerRunner, AnalyzerThatThrowsIsUnscannedWithItsErrorAndNotRetried) {
  Answers answers;
  auto analyzer = std::make_shared<Throwing>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 1000ms, 1ms, 1ms));
  runner.submit(file("a.exe"), in(5000ms), answers.to("a.exe"));
  runner.submit(file("b.exe"), in(5000ms), answers.to("b.exe"));
  ASSERT_TRUE(answers.waitForTotal(2));

  for (const auto* name : {"a.exe", "b.exe"}) {
    auto a = answers.get(name);
    EXPECT_EQ(a.count, 1) << name;
    EXPECT_EQ(a.verdict.kind, VerdictKind::Unscanned) << name;
    EXPECT_EQ(a.verdict.reason, "analyzer error: boom") << name;
    EXPECT_FALSE(a.verdict.transient) << name;
    EXPECT_EQ(a.verdict.analyzer, "throwing") << name;
  }
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(analyzer->calls(), 2u);
}

TEST(AnalyzerRunner, StopAnswersRunningQueuedAndWaitingSubmissionsWithShuttingDown) {
  Answers answers;
  auto analyzer = std::make_shared<Manual>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 10000ms, 10000ms, 10000ms));
  // "waiting": failed transiently, waits 7.5 s or more for its retry.
  runner.submit(file("waiting"), in(20000ms), answers.to("waiting"));
  ASSERT_TRUE(eventually([&] { return analyzer->calls() == 1; }));
  analyzer->fire(0, transientFailure("HTTP 429"));
  runner.submit(file("running"), in(20000ms), answers.to("running"));
  ASSERT_TRUE(eventually([&] { return analyzer->calls() == 2; }));
  runner.submit(file("queued1"), in(20000ms), answers.to("queued1"));
  runner.submit(file("queued2"), in(20000ms), answers.to("queued2"));
  EXPECT_EQ(runner.inFlight(), 1u);
  EXPECT_EQ(runner.queued(), 3u);
  EXPECT_EQ(answers.total(), 0);

  runner.stop();
  // Answered by the time stop() returns.
  for (const auto* name : {"waiting", "running", "queued1", "queued2"}) {
    auto a = answers.get(name);
    EXPECT_EQ(a.count, 1) << name;
    EXPECT_EQ(a.verdict.kind, VerdictKind::Unscanned) << name;
    EXPECT_EQ(a.verdict.reason, "shutting down") << name;
    EXPECT_FALSE(a.verdict.transient) << name;
    EXPECT_EQ(a.verdict.analyzer, "manual") << name;
  }
  EXPECT_EQ(runner.inFlight(), 0u);
  EXPECT_EQ(runner.queued(), 0u);

  // The running attempt answers after all: dropped.
  analyzer->fire(1, verdict(VerdictKind::Dangerous));
  EXPECT_EQ(answers.get("running").verdict.reason, "shutting down");
  runner.stop();
  EXPECT_EQ(answers.total(), 4);
  EXPECT_EQ(analyzer->calls(), 2u);
}

TEST(AnalyzerRunner, SubmitAfterStopAnswersInsideSubmit) {
  Answers answers;
  auto analyzer = std::make_shared<Instant>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 1000ms));
  runner.stop();
  runner.submit(file("a.exe"), in(5000ms), answers.to("a.exe"));
  // No waiting: the answer came before submit() returned, on this thread.
  auto a = answers.get("a.exe");
  EXPECT_EQ(a.count, 1);
  EXPECT_EQ(a.thread, std::this_thread::get_id());
  EXPECT_EQ(a.verdict.kind, VerdictKind::Unscanned);
  EXPECT_EQ(a.verdict.reason, "shutting down");
  EXPECT_EQ(a.verdict.analyzer, "instant");
  EXPECT_EQ(analyzer->calls(), 0u);
}

TEST(AnalyzerRunner, DestructorAnswersWhatIsStillPending) {
  Answers answers;
  auto analyzer = std::make_shared<Manual>();
  {
    AnalyzerRunner runner(analyzer, runnerSettings(1, 10000ms));
    runner.submit(file("running"), in(10000ms), answers.to("running"));
    runner.submit(file("queued"), in(10000ms), answers.to("queued"));
    ASSERT_TRUE(eventually([&] { return analyzer->calls() == 1; }));
  }
  EXPECT_EQ(answers.get("running").verdict.reason, "shutting down");
  EXPECT_EQ(answers.get("queued").verdict.reason, "shutting down");
  EXPECT_EQ(answers.total(), 2);
  // The runner is gone; its callback does nothing.
  analyzer->fire(0, verdict(VerdictKind::Clean));
  EXPECT_EQ(answers.total(), 2);
}

TEST(AnalyzerRunner, StopFromACallbackOnTheSchedulerThreadDoesNotDeadlock) {
  Answers answers;
  auto analyzer = std::make_shared<Instant>();
  auto runner = std::make_unique<AnalyzerRunner>(analyzer, runnerSettings(1, 1000ms));
  std::mutex m;
  std::condition_variable cv;
  bool stopped = false;
  auto record = answers.to("a.exe");
  // The Instant analyzer answers inside analyze(), which the scheduler thread calls.
  runner->submit(file("a.exe"), in(5000ms), [&](Verdict v) {
    record(std::move(v));
    runner->stop();
    std::lock_guard lock(m);
    stopped = true;
    cv.notify_all();
  });
  std::unique_lock lock(m);
  ASSERT_TRUE(cv.wait_for(lock, 5s, [&] { return stopped; }));
  lock.unlock();
  EXPECT_EQ(answers.get("a.exe").verdict.kind, VerdictKind::Clean);
  runner->submit(file("b.exe"), in(5000ms), answers.to("b.exe"));
  EXPECT_EQ(answers.get("b.exe").verdict.reason, "shutting down");
  runner.reset();
  EXPECT_EQ(answers.total(), 2);
  // The detached scheduler thread ends on its own; give it time to leave the analyzer,
  // which this test owns.
  std::this_thread::sleep_for(20ms);
}

TEST(AnalyzerRunner, EverySubmissionIsAnsweredExactlyOnceWhateverTheAnalyzerDoes) {
  // Five behaviours, by the file's name: answers at once, answers later from its own
  // thread, never answers (the test answers late, after the runner gave up), fails
  // transiently every time, throws.
  class Mixed : public Recording {
   public:
    Mixed() : Recording("mixed") {}
    ~Mixed() override {
      for (auto& t : threads_) t.join();
    }
    void analyze(const Submission& f, Callback done) override {
      record(f);
      std::lock_guard lock(mutex_);
      if (startsWith(f.name, "instant")) {
        done(verdict(VerdictKind::Clean));
      } else if (startsWith(f.name, "delayed")) {
        threads_.emplace_back([done = std::move(done)] {
          std::this_thread::sleep_for(10ms);
          done(verdict(VerdictKind::Clean));
        });
      } else if (startsWith(f.name, "never")) {
        kept_.push_back(std::move(done));
      } else if (startsWith(f.name, "transient")) {
        done(transientFailure("HTTP 503"));
      } else {
        throw std::runtime_error("boom");
      }
    }
    void answerLate() {
      std::lock_guard lock(mutex_);
      for (auto& done : kept_) done(verdict(VerdictKind::Dangerous));
    }

   private:
    std::mutex mutex_;
    std::vector<std::thread> threads_;
    std::vector<Callback> kept_;
  };

  Answers answers;
  auto analyzer = std::make_shared<Mixed>();
  AnalyzerRunner runner(analyzer, runnerSettings(3, 40ms, 5ms, 20ms));
  const auto deadline = in(300ms);
  const std::vector<std::string> kinds = {"instant", "delayed", "never", "transient", "throw"};
  for (int i = 0; i < 8; ++i) {
    for (const auto& k : kinds) {
      auto n = k + "-" + std::to_string(i);
      runner.submit(file(n), deadline, answers.to(n));
    }
  }
  ASSERT_TRUE(answers.waitForTotal(40)) << answers.total() << " answers";
  analyzer->answerLate();
  std::this_thread::sleep_for(50ms);
  runner.stop();

  auto all = answers.all();
  ASSERT_EQ(all.size(), 40u);
  for (const auto& [name, a] : all) {
    EXPECT_EQ(a.count, 1) << name;
    EXPECT_LE(a.at, deadline + 2000ms) << name << ": long after the deadline";
    const auto& v = a.verdict;
    EXPECT_FALSE(v.transient) << name;
    EXPECT_EQ(v.analyzer, "mixed") << name;
    if (v.reason == kBusy) continue;  // never got a slot: possible for any of them
    if (startsWith(name, "instant")) {
      EXPECT_EQ(v.kind, VerdictKind::Clean) << name;
    } else if (startsWith(name, "delayed")) {
      // Clean, or timed out on a very slow machine.
      EXPECT_TRUE(v.kind == VerdictKind::Clean || startsWith(v.reason, kUnreachable)) << name;
    } else if (startsWith(name, "never")) {
      EXPECT_TRUE(startsWith(v.reason, kUnreachable + "timed out after ")) << name << v.reason;
    } else if (startsWith(name, "transient")) {
      EXPECT_EQ(v.reason, kUnreachable + "HTTP 503") << name;
    } else {
      EXPECT_EQ(v.reason, "analyzer error: boom") << name;
    }
  }
  EXPECT_EQ(answers.total(), 40);
}

TEST(AnalyzerRunnerBackoff, DoublesFromTheBaseUpToTheCap) {
  RunnerSettings s = runnerSettings(1, 60000ms, 1000ms, 60000ms);
  EXPECT_EQ(backoffDelay(s, 1, 1.0), 1000ms);
  EXPECT_EQ(backoffDelay(s, 2, 1.0), 2000ms);
  EXPECT_EQ(backoffDelay(s, 3, 1.0), 4000ms);
  EXPECT_EQ(backoffDelay(s, 4, 1.0), 8000ms);
  EXPECT_EQ(backoffDelay(s, 6, 1.0), 32000ms);
  EXPECT_EQ(backoffDelay(s, 7, 1.0), 60000ms);  // 64 s, capped
  EXPECT_EQ(backoffDelay(s, 8, 1.0), 60000ms);
  // Retry 0 does not occur; it is not shorter than the first.
  EXPECT_EQ(backoffDelay(s, 0, 1.0), 1000ms);
  // A base above the cap is cut to the cap.
  EXPECT_EQ(backoffDelay(runnerSettings(1, 1000ms, 5000ms, 2000ms), 1, 1.0), 2000ms);
}

TEST(AnalyzerRunnerBackoff, JitterScalesBetweenThreeQuartersAndAll) {
  RunnerSettings s = runnerSettings(1, 60000ms, 1000ms, 60000ms);
  EXPECT_EQ(backoffDelay(s, 1, 0.0), 750ms);
  EXPECT_EQ(backoffDelay(s, 1, 0.5), 875ms);
  EXPECT_EQ(backoffDelay(s, 2, 0.0), 1500ms);
  EXPECT_EQ(backoffDelay(s, 10, 0.0), 45000ms);
  // Outside [0, 1]: clamped.
  EXPECT_EQ(backoffDelay(s, 1, -3.0), 750ms);
  EXPECT_EQ(backoffDelay(s, 1, 7.0), 1000ms);

  for (unsigned retry = 1; retry <= 70; ++retry) {
    const auto full = backoffDelay(s, retry, 1.0);
    for (double jitter = 0.0; jitter <= 1.0; jitter += 0.125) {
      auto d = backoffDelay(s, retry, jitter);
      EXPECT_GE(d.count(), full.count() * 3 / 4) << retry << " " << jitter;
      EXPECT_LE(d, full) << retry << " " << jitter;
    }
  }
}

TEST(AnalyzerRunnerBackoff, HugeRetryCountsStayAtTheCapWithoutOverflow) {
  RunnerSettings s = runnerSettings(1, 60000ms, 1000ms, 60000ms);
  EXPECT_EQ(backoffDelay(s, 64, 1.0), 60000ms);
  EXPECT_EQ(backoffDelay(s, 1000, 1.0), 60000ms);
  EXPECT_EQ(backoffDelay(s, UINT_MAX, 1.0), 60000ms);
  EXPECT_EQ(backoffDelay(s, UINT_MAX, 0.0), 45000ms);

  // A cap so large that the last doubling below it would overflow 64 bits.
  const milliseconds hugeCap(std::int64_t{3} << 61);
  RunnerSettings huge = runnerSettings(1, 1000ms, 1ms, hugeCap);
  EXPECT_EQ(backoffDelay(huge, 62, 1.0), milliseconds(std::int64_t{1} << 61));
  EXPECT_EQ(backoffDelay(huge, 63, 1.0), milliseconds(std::int64_t{1} << 62));
  EXPECT_EQ(backoffDelay(huge, 64, 1.0), hugeCap);
  EXPECT_EQ(backoffDelay(huge, UINT_MAX, 1.0), hugeCap);
  EXPECT_EQ(backoffDelay(huge, UINT_MAX, 0.0), milliseconds(std::int64_t{9} << 59));

  // No cap at all, as the largest duration.
  RunnerSettings uncapped = runnerSettings(1, 1000ms, 1000ms, milliseconds::max());
  EXPECT_EQ(backoffDelay(uncapped, 20, 1.0), milliseconds(1000 << 19));
  EXPECT_EQ(backoffDelay(uncapped, UINT_MAX, 1.0), milliseconds::max());
  EXPECT_GE(backoffDelay(uncapped, UINT_MAX, 0.0), milliseconds::max() / 4 * 3);
}

TEST(AnalyzerRunnerBackoff, ZeroOrNegativeTimesMeanRetryAtOnceAndReturnQuickly) {
  const auto start = Clock::now();
  EXPECT_EQ(backoffDelay(runnerSettings(1, 1000ms, 0ms, 60000ms), UINT_MAX, 1.0), 0ms);
  EXPECT_EQ(backoffDelay(runnerSettings(1, 1000ms, -5ms, 60000ms), 3, 1.0), 0ms);
  EXPECT_EQ(backoffDelay(runnerSettings(1, 1000ms, 1000ms, -5ms), 3, 1.0), 0ms);
  // Doubling zero gets nowhere: a loop that tried four billion times would take seconds.
  EXPECT_LT(Clock::now() - start, 1000ms);
}
