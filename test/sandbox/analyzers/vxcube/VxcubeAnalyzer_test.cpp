#include "sandbox/analyzers/vxcube/VxcubeAnalyzer.h"

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/analyzers/vxcube/emulator/Emulator.h"
#include "sandbox/extract/Digest.h"
#include "test/TempDir.h"

using bccsink::emulator::Emulator;
using bccsink::emulator::EmulatorOptions;
using bccsink::emulator::Listed;
using bccsink::emulator::parseFault;
using bccsink::sandbox::AnalyzerRunner;
using bccsink::sandbox::RunnerSettings;
using bccsink::sandbox::Submission;
using bccsink::sandbox::Verdict;
using bccsink::sandbox::VerdictKind;
using bccsink::sandbox::VxcubeAnalyzer;
using bccsink::sandbox::vxcubeRunnerSettings;
using bccsink::sandbox::VxcubeSettings;
using bccsink::sandbox::vxcubeVerdict;
using bccsink::sandbox::VxTask;
using bccsink::test::TempDir;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kKey = "s3cr3t-vx-key-77f1";

EmulatorOptions emulatorOptions() {
  EmulatorOptions o;
  o.apiKey = kKey;
  o.analysisTime = 200ms;
  o.maxThreads = 8;
  o.retryAfterSeconds = 1;
  return o;
}

VxcubeSettings settingsFor(const Emulator& emu) {
  VxcubeSettings s;
  s.apiAddress = emu.baseUrl();
  s.apiKey = kKey;
  s.pollInterval = 50ms;
  s.timeout = 10s;
  s.requestTimeout = 1000ms;
  s.breakerThreshold = 3;
  s.breakerCooldown = 400ms;
  return s;
}

std::future<Verdict> analyze(VxcubeAnalyzer& a, const Submission& file) {
  auto promise = std::make_shared<std::promise<Verdict>>();
  auto future = promise->get_future();
  a.analyze(file, [promise](Verdict v) { promise->set_value(std::move(v)); });
  return future;
}

Verdict await(std::future<Verdict> f, std::chrono::milliseconds limit = 10s) {
  if (f.wait_for(limit) != std::future_status::ready) {
    ADD_FAILURE() << "no verdict within " << limit.count() << " ms";
    return {};
  }
  return f.get();
}

// The key must appear in nothing an administrator reads.
void expectNoKey(const Verdict& v) {
  EXPECT_EQ(v.reason.find(kKey), std::string::npos) << v.reason;
  EXPECT_EQ(v.reportUrl.find(kKey), std::string::npos) << v.reportUrl;
  for (const auto& t : v.threats) EXPECT_EQ(t.find(kKey), std::string::npos) << t;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::size_t threadCount() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

// What the analyzer logs, while it lives.
class LogCapture : public Poco::Channel {
 public:
  void log(const Poco::Message& m) override {
    std::lock_guard lock(mutex_);
    messages_.emplace_back(m.getPriority(), m.getText());
  }
  std::vector<std::pair<int, std::string>> messages() {
    std::lock_guard lock(mutex_);
    return messages_;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<int, std::string>> messages_;
};

class VxcubeAnalyzerTest : public ::testing::Test {
 protected:
  Submission file(const std::string& name, const std::string& bytes) {
    Submission s;
    s.path = dir / name;
    std::ofstream(s.path, std::ios::binary) << bytes;
    auto d = bccsink::sandbox::digest(bytes);
    s.sha256 = d.sha256;
    s.md5 = d.md5;
    s.name = name;
    s.family = "executable";
    s.size = bytes.size();
    return s;
  }

  TempDir dir;
  Emulator emu{emulatorOptions()};
};

}  // namespace

TEST_F(VxcubeAnalyzerTest, CleanFileIsCleanWithItsTasksAndReportLink) {
  VxcubeAnalyzer a(settingsFor(emu));
  auto v = await(analyze(a, file("clean.exe", "MZ nothing to see")));
  EXPECT_EQ(v.kind, VerdictKind::Clean) << v.reason;
  EXPECT_FALSE(v.transient);
  EXPECT_EQ(v.analyzer, "vxcube");
  EXPECT_EQ(v.score, 3);
  EXPECT_TRUE(v.threats.empty());
  ASSERT_FALSE(v.taskId.empty());
  EXPECT_EQ(v.reportUrl, emu.baseUrl() + "tasks/" + v.taskId + "/report");
  EXPECT_TRUE(contains(v.reason, "win7x64 task")) << v.reason;
  EXPECT_TRUE(contains(v.reason, "win10x64 task")) << v.reason;
  expectNoKey(v);
  EXPECT_EQ(a.inFlight(), 0u);
}

TEST_F(VxcubeAnalyzerTest, SuspiciousAndDangerousComeFromTheHashLists) {
  VxcubeAnalyzer a(settingsFor(emu));
  auto sus = file("sus.js", "var x = 'suspicious';");
  auto bad = file("bad.exe", "MZ dangerous");
  emu.list(Listed::Suspicious, sus.sha256);
  emu.list(Listed::Dangerous, bad.sha256);
  auto fs = analyze(a, sus);
  auto fb = analyze(a, bad);
  auto vs = await(std::move(fs));
  auto vb = await(std::move(fb));
  EXPECT_EQ(vs.kind, VerdictKind::Suspicious) << vs.reason;
  EXPECT_EQ(vs.threats, std::vector<std::string>{"Emulator.Sha256List.Suspicious"});
  EXPECT_EQ(vs.score, 65);
  EXPECT_EQ(vb.kind, VerdictKind::Dangerous) << vb.reason;
  EXPECT_EQ(vb.threats, std::vector<std::string>{"Emulator.Sha256List.Dangerous"});
  EXPECT_EQ(vb.score, 95);
  EXPECT_FALSE(vb.taskId.empty());
}

TEST_F(VxcubeAnalyzerTest, KnownSampleIsLookedUpNotUploadedAgain) {
  VxcubeAnalyzer a(settingsFor(emu));
  auto f = file("twice.exe", "MZ seen twice");
  EXPECT_EQ(await(analyze(a, f)).kind, VerdictKind::Clean);
  EXPECT_EQ(await(analyze(a, f)).kind, VerdictKind::Clean);
  auto s = emu.stats();
  EXPECT_EQ(s.lookups, 2u);
  EXPECT_EQ(s.uploads, 1u);
  EXPECT_EQ(s.analyses, 2u);
}

TEST_F(VxcubeAnalyzerTest, RateLimitWaitsForRetryAfterThenGoesOn) {
  VxcubeAnalyzer a(settingsFor(emu));
  emu.addFault(parseFault("lookup:429:x1"));
  auto start = Clock::now();
  auto v = await(analyze(a, file("busy.exe", "MZ busy server")));
  EXPECT_EQ(v.kind, VerdictKind::Clean) << v.reason;
  EXPECT_GE(Clock::now() - start, 900ms);  // Retry-After: 1
  EXPECT_EQ(emu.stats().faults, 1u);
  EXPECT_EQ(emu.stats().lookups, 1u);  // the 429 is not counted as a lookup answered
}

TEST_F(VxcubeAnalyzerTest, ServerErrorIsTransientAndTheRunnersRetrySucceeds) {
  auto a = std::make_shared<VxcubeAnalyzer>(settingsFor(emu));
  emu.addFault(parseFault("upload:500:x1"));
  auto f = file("retry.exe", "MZ retried");
  auto first = await(analyze(*a, f));
  EXPECT_EQ(first.kind, VerdictKind::Unscanned);
  EXPECT_TRUE(first.transient);
  EXPECT_TRUE(contains(first.reason, "vxCube upload: HTTP 500")) << first.reason;
  expectNoKey(first);

  emu.addFault(parseFault("analyze:503:x1"));  // Retry-After: 1, held inside the analyzer
  emu.addFault(parseFault("lookup:500:x1"));   // transient: the runner retries
  RunnerSettings rs;
  rs.backoffBase = 50ms;
  rs.attemptTimeout = 10s;
  AnalyzerRunner runner(a, rs);
  std::promise<Verdict> p;
  runner.submit(f, Clock::now() + 15s, [&p](Verdict v) { p.set_value(std::move(v)); });
  auto v = await(p.get_future(), 15s);
  EXPECT_EQ(v.kind, VerdictKind::Clean) << v.reason;
  EXPECT_EQ(emu.stats().uploads, 1u);
}

TEST_F(VxcubeAnalyzerTest, WrongKeyIsUnscannedAndNotRetried) {
  auto s = settingsFor(emu);
  s.apiKey = "n0t-the-right-key";
  auto a = std::make_shared<VxcubeAnalyzer>(s);
  RunnerSettings rs;
  rs.backoffBase = 20ms;
  AnalyzerRunner runner(a, rs);
  std::promise<Verdict> p;
  runner.submit(file("k.exe", "MZ key"), Clock::now() + 5s,
                [&p](Verdict v) { p.set_value(std::move(v)); });
  auto v = await(p.get_future());
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_FALSE(v.transient);
  EXPECT_TRUE(contains(v.reason, "HTTP 401")) << v.reason;
  EXPECT_TRUE(contains(v.reason, "VxcubeApiKey")) << v.reason;
  EXPECT_FALSE(contains(v.reason, s.apiKey)) << v.reason;
  EXPECT_EQ(emu.stats().refused, 1u);
}

TEST_F(VxcubeAnalyzerTest, ConfigurationErrorIsLoggedOnceAndNoLogHoldsTheKey) {
  Poco::AutoPtr<LogCapture> capture(new LogCapture);
  auto& logger = Poco::Logger::get("bccsink.vxcube");
  logger.setChannel(capture);
  logger.setLevel(Poco::Message::PRIO_DEBUG);
  {
    auto s = settingsFor(emu);
    s.breakerThreshold = 1;
    s.breakerCooldown = 50ms;
    VxcubeAnalyzer a(s);
    emu.addFault(parseFault("any:401:x2"));  // echoes the right key
    EXPECT_EQ(await(analyze(a, file("1.exe", "MZ one"))).kind, VerdictKind::Unscanned);
    EXPECT_EQ(await(analyze(a, file("2.exe", "MZ two"))).kind, VerdictKind::Unscanned);
    emu.addFault(parseFault("lookup:500:x1"));  // opens the circuit: a warning
    EXPECT_TRUE(await(analyze(a, file("3.exe", "MZ three"))).transient);
    std::this_thread::sleep_for(60ms);
    EXPECT_EQ(await(analyze(a, file("4.exe", "MZ four"))).kind, VerdictKind::Clean);
  }
  logger.setChannel(nullptr);
  int critical = 0;
  for (const auto& [priority, text] : capture->messages()) {
    EXPECT_EQ(text.find(kKey), std::string::npos) << text;
    if (priority == Poco::Message::PRIO_CRITICAL) {
      ++critical;
      EXPECT_TRUE(contains(text, "VxcubeApiKey")) << text;
    }
  }
  EXPECT_EQ(critical, 1);
  EXPECT_GE(capture->messages().size(), 3u);  // critical, circuit open, circuit closed
}

TEST_F(VxcubeAnalyzerTest, EchoedKeyNeverReachesTheReason) {
  VxcubeAnalyzer a(settingsFor(emu));
  emu.addFault(parseFault("any:401:x1"));  // the emulator echoes the (right) key it got
  auto v = await(analyze(a, file("echo.exe", "MZ echo")));
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_TRUE(contains(v.reason, "<api key>")) << v.reason;
  expectNoKey(v);
}

TEST_F(VxcubeAnalyzerTest, HangResetAndBrokenJsonAreTransient) {
  auto s = settingsFor(emu);
  s.requestTimeout = 300ms;
  s.breakerThreshold = 10;
  VxcubeAnalyzer a(s);
  struct Case {
    const char* fault;
    const char* says;
  };
  for (auto [fault, says] :
       {Case{"lookup:hang:x1", "no answer within 0.3s"}, Case{"upload:reset:x1", "vxCube upload: "},
        Case{"lookup:badjson:x1", "not JSON"}}) {
    emu.addFault(parseFault(fault));
    auto v = await(analyze(a, file("t.exe", std::string("MZ ") + fault)));
    EXPECT_EQ(v.kind, VerdictKind::Unscanned) << fault;
    EXPECT_TRUE(v.transient) << fault;
    EXPECT_TRUE(contains(v.reason, says)) << fault << ": " << v.reason;
    expectNoKey(v);
  }
}

TEST_F(VxcubeAnalyzerTest, PollFailuresOnlyDelayThePoll) {
  VxcubeAnalyzer a(settingsFor(emu));
  emu.addFault(parseFault("poll:500:x2"));
  auto v = await(analyze(a, file("p.exe", "MZ polled")));
  EXPECT_EQ(v.kind, VerdictKind::Clean) << v.reason;
  EXPECT_EQ(emu.stats().faults, 2u);
}

TEST_F(VxcubeAnalyzerTest, AllTasksFailedIsUnscannedWithTheServersMessage) {
  VxcubeAnalyzer a(settingsFor(emu));
  auto f = file("f.exe", "MZ fails to start");
  emu.list(Listed::Failing, f.sha256);
  auto v = await(analyze(a, f));
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_FALSE(v.transient);
  EXPECT_TRUE(contains(v.reason, "every task failed")) << v.reason;
  EXPECT_TRUE(contains(v.reason, "emulated failure: the sample did not start on win7x64"))
      << v.reason;
  EXPECT_FALSE(v.taskId.empty());
}

TEST_F(VxcubeAnalyzerTest, NoPlatformInCommonIsUnscanned) {
  auto s = settingsFor(emu);
  s.platforms = {"android7"};
  VxcubeAnalyzer a(s);
  auto v = await(analyze(a, file("w.exe", "MZ windows only")));
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_FALSE(v.transient);
  EXPECT_TRUE(contains(v.reason, "no platform to run on")) << v.reason;
  EXPECT_EQ(emu.stats().analyses, 0u);
}

TEST_F(VxcubeAnalyzerTest, AnalysisPastVxcubeTimeoutIsUnscanned) {
  emu.setAnalysisTime(20s);
  auto s = settingsFor(emu);
  s.timeout = 400ms;
  VxcubeAnalyzer a(s);
  auto v = await(analyze(a, file("slow.exe", "MZ slow")));
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_FALSE(v.transient);
  EXPECT_TRUE(contains(v.reason, "did not finish within VxcubeTimeout (0.4s)")) << v.reason;
}

TEST_F(VxcubeAnalyzerTest, CircuitOpensAfterOutagesAndAProbeClosesIt) {
  VxcubeAnalyzer a(settingsFor(emu));  // threshold 3, cool-down 400 ms
  emu.addFault(parseFault("any:500"));
  for (int i = 0; i < 3; ++i) {
    auto v = await(analyze(a, file("c.exe", "MZ circuit " + std::to_string(i))));
    EXPECT_TRUE(v.transient);
    EXPECT_TRUE(contains(v.reason, "HTTP 500")) << v.reason;
  }
  EXPECT_EQ(a.circuit(), VxcubeAnalyzer::Circuit::Open);

  // Open: answered at once, nothing sent.
  const auto before = emu.stats().requests;
  auto f = analyze(a, file("c.exe", "MZ while open"));
  ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
  auto v = f.get();
  EXPECT_TRUE(v.transient);
  EXPECT_TRUE(contains(v.reason, "circuit open after 3 failures")) << v.reason;
  EXPECT_EQ(emu.stats().requests, before);

  // After the cool-down one probe goes; it fails, and the circuit opens again.
  std::this_thread::sleep_for(450ms);
  v = await(analyze(a, file("c.exe", "MZ failed probe")));
  EXPECT_TRUE(v.transient);
  EXPECT_TRUE(contains(v.reason, "HTTP 500")) << v.reason;
  EXPECT_EQ(emu.stats().requests, before + 1);
  EXPECT_EQ(a.circuit(), VxcubeAnalyzer::Circuit::Open);

  // The server is back: the next probe closes the circuit.
  emu.clearFaults();
  std::this_thread::sleep_for(450ms);
  v = await(analyze(a, file("c.exe", "MZ good probe")));
  EXPECT_EQ(v.kind, VerdictKind::Clean) << v.reason;
  EXPECT_EQ(a.circuit(), VxcubeAnalyzer::Circuit::Closed);
}

TEST_F(VxcubeAnalyzerTest, ManyFilesInFlightOnAFewThreads) {
  emu.setAnalysisTime(300ms);
  auto s = settingsFor(emu);
  s.pollInterval = 100ms;
  s.httpWorkers = 4;
  const auto before = threadCount();
  VxcubeAnalyzer a(s);
  EXPECT_EQ(threadCount(), before + 4);
  std::vector<std::future<Verdict>> answers;
  std::vector<std::string> dangerous;
  for (int i = 0; i < 50; ++i) {
    auto f = file("m" + std::to_string(i) + ".exe", "MZ file number " + std::to_string(i));
    if (i % 10 == 0) emu.list(Listed::Dangerous, f.sha256);
    answers.push_back(analyze(a, f));
  }
  std::size_t peak = 0;
  const auto end = Clock::now() + 20s;
  while (a.inFlight() > 0 && Clock::now() < end) {
    peak = std::max(peak, threadCount());
    std::this_thread::sleep_for(20ms);
  }
  int clean = 0, bad = 0;
  for (auto& f : answers) {
    auto v = await(std::move(f), 1s);
    clean += v.kind == VerdictKind::Clean;
    bad += v.kind == VerdictKind::Dangerous;
  }
  EXPECT_EQ(clean, 45);
  EXPECT_EQ(bad, 5);
  // The analyzer's 4 workers and the emulator's 8 at most, whatever is in flight.
  EXPECT_LE(peak, before + 4 + 8);
  auto stats = emu.stats();
  EXPECT_EQ(stats.uploads, 50u);
  EXPECT_EQ(stats.analyses, 50u);
}

TEST_F(VxcubeAnalyzerTest, StopAnswersWhatIsInFlightAndCutsHangingCalls) {
  emu.setAnalysisTime(20s);
  auto s = settingsFor(emu);
  s.requestTimeout = 20s;
  VxcubeAnalyzer a(s);
  auto polling = analyze(a, file("long.exe", "MZ long analysis"));
  ASSERT_TRUE([&] {
    for (auto end = Clock::now() + 5s; Clock::now() < end; std::this_thread::sleep_for(10ms)) {
      if (emu.stats().polls > 0) return true;
    }
    return false;
  }());
  emu.addFault(parseFault("lookup:hang"));
  auto hanging = analyze(a, file("hang.exe", "MZ hanging"));
  std::this_thread::sleep_for(200ms);
  auto start = Clock::now();
  a.stop();
  EXPECT_LT(Clock::now() - start, 2s);
  for (auto* f : {&polling, &hanging}) {
    auto v = await(std::move(*f), 1s);
    EXPECT_EQ(v.kind, VerdictKind::Unscanned);
    EXPECT_EQ(v.reason, "shutting down");
  }
  EXPECT_EQ(await(analyze(a, file("late.exe", "MZ late")), 1s).reason, "shutting down");
}

TEST_F(VxcubeAnalyzerTest, YaraRulesOfTheEmulatorDecide) {
  TempDir rules;
  std::ofstream(rules / "test.yar") << "rule Test_Dropper_Marker {\n"
                                       "  meta:\n    verdict = \"dangerous\"\n"
                                       "  strings:\n    $a = \"EVIL-DROPPER-MARKER\"\n"
                                       "  condition:\n    $a\n}\n";
  auto options = emulatorOptions();
  options.yaraRulesDir = rules.path();
  Emulator yaraEmu(options);
  VxcubeAnalyzer a(settingsFor(yaraEmu));
  auto v = await(analyze(a, file("y.exe", "MZ ... EVIL-DROPPER-MARKER ...")));
  EXPECT_EQ(v.kind, VerdictKind::Dangerous) << v.reason;
  EXPECT_EQ(v.threats, std::vector<std::string>{"Test_Dropper_Marker"});
  EXPECT_EQ(await(analyze(a, file("n.exe", "MZ harmless"))).kind, VerdictKind::Clean);
}

TEST(VxcubeAnalyzerSettings, WrongValuesNameTheirOption) {
  auto expectOption = [](VxcubeSettings s, const std::string& option) {
    try {
      VxcubeAnalyzer a(s);
      ADD_FAILURE() << "accepted, wanted an error about " << option;
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind(option + ": ", 0), 0u) << e.what();
    }
  };
  VxcubeSettings good;
  good.apiAddress = "http://127.0.0.1:9/api-2.0/";
  good.apiKey = "k";
  auto s = good;
  s.apiKey.clear();
  expectOption(s, "VxcubeApiKey");
  s = good;
  s.apiAddress = "gopher://x/";
  expectOption(s, "VxcubeApiAddress");
  s = good;
  s.suspiciousThreshold = 90;
  s.dangerousThreshold = 80;
  expectOption(s, "VxcubeSuspiciousThreshold");
  s = good;
  s.dangerousThreshold = 101;
  expectOption(s, "VxcubeDangerousThreshold");
  s = good;
  s.pollInterval = 0ms;
  expectOption(s, "VxcubePollInterval");
  s = good;
  s.platforms = {"win7x64", ""};
  expectOption(s, "VxcubePlatforms");
  s = good;
  s.maxConcurrent = 0;
  expectOption(s, "VxcubeMaxConcurrent");

  auto rs = vxcubeRunnerSettings(good);
  EXPECT_EQ(rs.maxConcurrent, good.maxConcurrent);
  EXPECT_GT(rs.attemptTimeout, good.timeout);
}

namespace {

VxTask task(const std::string& id, const std::string& status, const std::string& verdict,
            std::optional<int> maliciousness) {
  VxTask t;
  t.id = id;
  t.status = status;
  t.platform = "win7x64";
  t.verdict = verdict;
  t.maliciousness = maliciousness;
  return t;
}

Verdict verdictOf(const std::vector<VxTask>& tasks) {
  VxcubeSettings s;  // thresholds 50 and 80
  return vxcubeVerdict(tasks, s, [](const std::string& id) { return "https://x/" + id; });
}

}  // namespace

TEST(VxcubeVerdict, WorstTaskDecides) {
  auto bad = task("2", "successful", "malware1", 70);
  bad.maliciousRules = {"Trojan.Dropper"};
  bad.suspiciousRules = {"Autorun"};
  auto v = verdictOf({task("1", "successful", "clean1", 5), bad});
  EXPECT_EQ(v.kind, VerdictKind::Dangerous);
  EXPECT_EQ(v.taskId, "2");
  EXPECT_EQ(v.reportUrl, "https://x/2");
  EXPECT_EQ(v.score, 70);
  EXPECT_EQ(v.threats, (std::vector<std::string>{"Trojan.Dropper", "Autorun"}));
  EXPECT_TRUE(contains(v.reason, "https://x/1")) << v.reason;
}

TEST(VxcubeVerdict, ThresholdsOverruleAMildVerdictWord) {
  EXPECT_EQ(verdictOf({task("1", "successful", "clean2", 50)}).kind, VerdictKind::Suspicious);
  EXPECT_EQ(verdictOf({task("1", "successful", "suspicious1", 80)}).kind, VerdictKind::Dangerous);
  EXPECT_EQ(verdictOf({task("1", "successful", "clean2", 49)}).kind, VerdictKind::Clean);
  EXPECT_EQ(verdictOf({task("1", "successful", "suspicious2", std::nullopt)}).kind,
            VerdictKind::Suspicious);
}

TEST(VxcubeVerdict, UnknownTaskIsNeverClean) {
  auto failed = task("1", "failed", "", std::nullopt);
  failed.message = "VM crashed";
  auto v = verdictOf({failed, task("2", "successful", "clean1", 1)});
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_TRUE(contains(v.reason, "VM crashed")) << v.reason;
  // A successful task without maliciousness says nothing either.
  EXPECT_EQ(verdictOf({task("3", "successful", "none", std::nullopt)}).kind,
            VerdictKind::Unscanned);
  // ... but a worse task still shows.
  EXPECT_EQ(verdictOf({failed, task("4", "successful", "malware2", 99)}).kind,
            VerdictKind::Dangerous);
  EXPECT_EQ(verdictOf({}).kind, VerdictKind::Unscanned);
}
