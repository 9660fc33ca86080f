// AnalyzerRunner's queue wait (bccsink_analyzer_queue_wait_seconds): from submit() to the
// first attempt's start, also for a submission whose deadline passed while it waited.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "test/sandbox/analyzers/RunnerTesting.h"

using namespace bccsink::sandbox;
using namespace std::chrono_literals;
using bccsink::test::Answers;
using bccsink::test::eventually;
using bccsink::test::runnerSettings;
using bccsink::test::verdict;

namespace {

// Keeps every callback until the test answers it: the one slot stays taken meanwhile.
class Held : public Analyzer {
 public:
  std::string name() const override { return "held"; }
  void analyze(const Submission&, std::function<void(Verdict)> done) override {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(done));
  }
  std::size_t started() {
    std::lock_guard lock(mutex_);
    return pending_.size() + answered_;
  }
  void answerFirst() {
    std::function<void(Verdict)> done;
    {
      std::lock_guard lock(mutex_);
      done = std::move(pending_.front());
      pending_.erase(pending_.begin());
      ++answered_;
    }
    done(verdict(VerdictKind::Clean));
  }

 private:
  std::mutex mutex_;
  std::vector<std::function<void(Verdict)>> pending_;
  std::size_t answered_ = 0;
};

std::uint64_t total(const AnalyzerStats& s) {
  std::uint64_t n = 0;
  for (auto c : s.queueWait) n += c;
  return n;
}

}  // namespace

TEST(AnalyzerRunnerQueueWait, CountsTheWaitForAFreeSlotOncePerSubmission) {
  auto analyzer = std::make_shared<Held>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 10s));
  Answers answers;
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  runner.submit(Submission{}, deadline, answers.to("a"));
  runner.submit(Submission{}, deadline, answers.to("b"));
  ASSERT_TRUE(eventually([&] { return analyzer->started() == 1; }));
  EXPECT_EQ(total(runner.stats()), 1u);  // a began; b waits for the slot
  std::this_thread::sleep_for(600ms);
  analyzer->answerFirst();
  ASSERT_TRUE(eventually([&] { return analyzer->started() == 2; }));
  auto s = runner.stats();
  EXPECT_EQ(total(s), 2u);
  EXPECT_GE(s.queueWaitSeconds, 0.6);
  // a took the free slot at once (<= 0.1 s); b waited more than 0.5 s.
  EXPECT_EQ(s.queueWait[0] + s.queueWait[1] + s.queueWait[2], 1u);
  EXPECT_EQ(s.queueWait[4] + s.queueWait[5] + s.queueWait[6], 1u);  // (0.5 s, 15 s]
  analyzer->answerFirst();
  ASSERT_TRUE(eventually([&] { return answers.get("b").count == 1; }));
  EXPECT_EQ(total(runner.stats()), 2u);  // answers do not count again
}

TEST(AnalyzerRunnerQueueWait, ASubmissionThatNeverStartedCountsItsWholeWait) {
  auto analyzer = std::make_shared<Held>();
  AnalyzerRunner runner(analyzer, runnerSettings(1, 10s));
  Answers answers;
  runner.submit(Submission{}, std::chrono::steady_clock::now() + 20s, answers.to("a"));
  ASSERT_TRUE(eventually([&] { return analyzer->started() == 1; }));
  runner.submit(Submission{}, std::chrono::steady_clock::now() + 200ms, answers.to("late"));
  ASSERT_TRUE(eventually([&] { return answers.get("late").count == 1; }));
  EXPECT_EQ(answers.get("late").verdict.reason, "analyzer busy until the deadline: not started");
  auto s = runner.stats();
  EXPECT_EQ(total(s), 2u);
  EXPECT_GE(s.queueWaitSeconds, 0.2);
  analyzer->answerFirst();
}
