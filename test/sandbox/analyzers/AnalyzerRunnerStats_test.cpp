// AnalyzerRunner::stats(): what /metrics and /api/overview show of each analyzer.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "test/sandbox/analyzers/RunnerTesting.h"

using namespace bccsink::sandbox;
using namespace std::chrono_literals;
using bccsink::test::eventually;
using bccsink::test::verdict;

namespace {

// Answers each call with the next of a script of verdicts; a verdict named "throw" makes
// analyze() throw instead.
class Scripted : public Analyzer {
 public:
  explicit Scripted(std::vector<Verdict> script) : script_(std::move(script)) {}
  std::string name() const override { return "scripted"; }
  void analyze(const Submission&, std::function<void(Verdict)> done) override {
    auto i = next_++;
    Verdict v;
    v.kind = VerdictKind::Clean;
    if (i < script_.size()) v = script_[i];
    if (v.reason == "throw") throw std::runtime_error("cannot read the file");
    done(v);
  }

 private:
  std::vector<Verdict> script_;
  std::atomic<std::size_t> next_{0};
};

RunnerSettings quick() {
  RunnerSettings s;
  s.maxConcurrent = 1;
  s.attemptTimeout = 1000ms;
  s.backoffBase = 1ms;
  s.backoffCap = 2ms;
  return s;
}

}  // namespace

TEST(AnalyzerRunnerStats, CountsSubmissionsAnswersByVerdictErrorsAndLatency) {
  auto analyzer = std::make_shared<Scripted>(std::vector<Verdict>{
      verdict(VerdictKind::Dangerous), verdict(VerdictKind::Unscanned, "HTTP 503", true),
      verdict(VerdictKind::Clean), verdict(VerdictKind::Unscanned, "throw")});
  AnalyzerRunner runner(analyzer, quick());
  EXPECT_EQ(runner.stats().name, "scripted");
  EXPECT_TRUE(runner.stats().healthy);
  std::atomic<int> done{0};
  for (int i = 0; i < 3; ++i) {
    runner.submit(Submission{}, std::chrono::steady_clock::now() + 5s, [&](Verdict) { ++done; });
  }
  ASSERT_TRUE(eventually([&] { return done == 3; }));
  auto s = runner.stats();
  EXPECT_EQ(s.submitted, 3u);
  // dangerous; a transient failure retried into clean; an analyzer that throws.
  EXPECT_EQ(s.answered[static_cast<int>(VerdictKind::Dangerous)], 1u);
  EXPECT_EQ(s.answered[static_cast<int>(VerdictKind::Clean)], 1u);
  EXPECT_EQ(s.answered[static_cast<int>(VerdictKind::Unscanned)], 1u);
  EXPECT_EQ(s.answeredTotal(), 3u);
  EXPECT_EQ(s.errors, 2u);
  EXPECT_EQ(s.lastError, "analyzer error: cannot read the file");
  EXPECT_FALSE(s.healthy);
  EXPECT_EQ(s.inFlight, 0u);
  EXPECT_EQ(s.queued, 0u);
  std::uint64_t inBuckets = 0;
  for (auto n : s.latency) inBuckets += n;
  EXPECT_EQ(inBuckets, 3u);
  EXPECT_GE(s.latencySeconds, 0.0);
  EXPECT_LT(s.latencySeconds, 5.0);

  // The next answer that is not a failure makes it healthy again.
  runner.submit(Submission{}, std::chrono::steady_clock::now() + 5s, [&](Verdict) { ++done; });
  ASSERT_TRUE(eventually([&] { return done == 4; }));
  EXPECT_TRUE(runner.stats().healthy);
  EXPECT_EQ(runner.stats().errors, 2u);
}

TEST(AnalyzerRunnerStats, LatencyQuantileInterpolatesInsideItsBucket) {
  AnalyzerStats s;
  EXPECT_EQ(s.latencyQuantile(0.5), 0.0);  // no answers yet
  s.latency[0] = 2;                        // <= 5 ms
  s.latency[4] = 2;                        // (100 ms, 250 ms]
  EXPECT_DOUBLE_EQ(s.latencyQuantile(0.25), 0.0025);
  EXPECT_DOUBLE_EQ(s.latencyQuantile(0.5), 0.005);
  EXPECT_DOUBLE_EQ(s.latencyQuantile(1.0), 0.25);
  s.latency.back() = 100;  // slower than the last bound: the bound is the best guess
  EXPECT_DOUBLE_EQ(s.latencyQuantile(0.99), kLatencyBuckets.back());
}
