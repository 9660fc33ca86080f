#include "sandbox/analyzers/YaraAnalyzer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/analyzers/YaraRules.h"
#include "test/TempDir.h"
#include "test/sandbox/analyzers/YaraSamples.h"

using bccsink::sandbox::AnalyzerRunner;
using bccsink::sandbox::RunnerSettings;
using bccsink::sandbox::Submission;
using bccsink::sandbox::Verdict;
using bccsink::sandbox::VerdictKind;
using bccsink::sandbox::YaraAnalyzer;
using bccsink::sandbox::YaraRules;
using bccsink::sandbox::YaraSettings;
using bccsink::test::kEicar;
using bccsink::test::minimalPe;
using bccsink::test::shippedRulesDir;
using bccsink::test::TempDir;
using bccsink::test::writeFile;

namespace {

using Names = std::vector<std::string>;

const std::shared_ptr<const YaraRules>& shipped() {
  static const auto rules = YaraRules::compile(shippedRulesDir());
  return rules;
}

Submission at(const std::string& path) {
  Submission s;
  s.path = path;
  s.name = std::filesystem::path(path).filename();
  return s;
}

// What the analyzer answers for `path`, on this thread.
Verdict analyze(YaraAnalyzer& yara, const std::string& path) {
  return yara.scan(at(path), {});
}

std::shared_ptr<const YaraRules> rulesMatching(const TempDir& dir, const std::string& name,
                                               const std::string& text) {
  auto path = dir / (name + ".yar");
  writeFile(path, "rule " + name + " { meta: verdict = \"dangerous\" strings: $a = \"" + text +
                      "\" condition: $a }\n");
  return YaraRules::compile(path);
}

}  // namespace

TEST(YaraAnalyzer, AnswersWithKindScoreAndThreats) {
  TempDir dir;
  writeFile(dir / "eicar.com", kEicar);
  writeFile(dir / "invoice.exe", minimalPe());
  writeFile(dir / "notes.txt", "Lunch at noon.\n");
  writeFile(dir / "empty", "");
  YaraAnalyzer yara(shipped());
  EXPECT_EQ(yara.name(), "yara");

  auto dangerous = analyze(yara, dir / "eicar.com");
  EXPECT_EQ(dangerous.kind, VerdictKind::Dangerous);
  EXPECT_EQ(dangerous.analyzer, "yara");
  EXPECT_EQ(dangerous.score, 100);
  EXPECT_EQ(dangerous.threats, Names{"EICAR_Test_File"});
  EXPECT_TRUE(dangerous.reason.empty());
  EXPECT_FALSE(dangerous.transient);

  auto suspicious = analyze(yara, dir / "invoice.exe");
  EXPECT_EQ(suspicious.kind, VerdictKind::Suspicious);
  EXPECT_EQ(suspicious.score, 50);
  EXPECT_EQ(suspicious.threats, Names{"Executable_PE"});

  for (const auto& name : {"notes.txt", "empty"}) {
    auto clean = analyze(yara, dir / name);
    EXPECT_EQ(clean.kind, VerdictKind::Clean) << name;
    EXPECT_EQ(clean.score, 0);
    EXPECT_TRUE(clean.threats.empty());
    EXPECT_EQ(clean.analyzer, "yara");
  }
}

TEST(YaraAnalyzer, ThreatsWithAVerdictComeFirst) {
  TempDir dir;
  writeFile(dir / "r.yar",
            "rule Note { strings: $a = \"xxxx\" condition: $a }\n"
            "rule Sus { meta: verdict = \"suspicious\" strings: $a = \"xxxx\" condition: $a }\n"
            "rule Dan { meta: verdict = \"dangerous\" strings: $a = \"xxxx\" condition: $a }\n"
            "rule OnlyNote { strings: $a = \"yyyy\" condition: $a }\n");
  writeFile(dir / "x", "xxxx");
  writeFile(dir / "y", "yyyy");
  YaraAnalyzer yara(YaraRules::compile(dir.path()));
  auto v = analyze(yara, dir / "x");
  EXPECT_EQ(v.kind, VerdictKind::Dangerous);
  EXPECT_EQ(v.threats, (Names{"Dan", "Sus", "Note"}));
  // A rule without a verdict names itself but leaves the file clean.
  auto note = analyze(yara, dir / "y");
  EXPECT_EQ(note.kind, VerdictKind::Clean);
  EXPECT_EQ(note.score, 0);
  EXPECT_EQ(note.threats, Names{"OnlyNote"});
}

TEST(YaraAnalyzer, UnreadableFileIsUnscannedWithTheReason) {
  TempDir dir;
  YaraAnalyzer yara(shipped());
  auto missing = analyze(yara, dir / "gone");
  EXPECT_EQ(missing.kind, VerdictKind::Unscanned);
  EXPECT_EQ(missing.analyzer, "yara");
  EXPECT_EQ(missing.reason, "cannot open " + dir / "gone" + ": No such file or directory");
  EXPECT_FALSE(missing.transient);
  EXPECT_TRUE(missing.threats.empty());

  auto folder = analyze(yara, dir.path());
  EXPECT_EQ(folder.kind, VerdictKind::Unscanned);
  EXPECT_NE(folder.reason.find("not a readable regular file"), std::string::npos) << folder.reason;
  EXPECT_FALSE(folder.transient);
}

TEST(YaraAnalyzer, ReloadSwapsTheRules) {
  TempDir dir;
  writeFile(dir / "sample", "alpha");
  YaraAnalyzer yara(rulesMatching(dir, "Alpha", "alpha"));
  EXPECT_EQ(analyze(yara, dir / "sample").threats, Names{"Alpha"});
  auto beta = rulesMatching(dir, "Beta", "beta");
  yara.reload(beta);
  EXPECT_EQ(yara.rules(), beta);
  auto v = analyze(yara, dir / "sample");
  EXPECT_EQ(v.kind, VerdictKind::Clean);
  EXPECT_TRUE(v.threats.empty());
  EXPECT_THROW(yara.reload(nullptr), std::invalid_argument);
  EXPECT_EQ(yara.rules(), beta);
}

TEST(YaraAnalyzer, RefusesNoRulesAndNoThreads) {
  EXPECT_THROW(YaraAnalyzer(nullptr), std::invalid_argument);
  YaraSettings none;
  none.threads = 0;
  EXPECT_THROW(YaraAnalyzer::make(none), std::invalid_argument);
}

// make(): the shipped rules when none are configured, else the configured ones; the runner
// policy has `threads` scans at once and an attempt time past libyara's own.
TEST(YaraAnalyzer, MakeCompilesTheConfiguredRulesOrTheShippedOnes) {
  auto shippedMade = YaraAnalyzer::make(YaraSettings{});
  auto* yara = dynamic_cast<YaraAnalyzer*>(shippedMade.analyzer.get());
  ASSERT_NE(yara, nullptr);
  EXPECT_EQ(yara->rules()->ruleCount(), shipped()->ruleCount());
  EXPECT_EQ(shippedMade.runner.maxConcurrent, 2u);
  EXPECT_EQ(shippedMade.runner.attemptTimeout,
            std::chrono::seconds(YaraRules::kScanTimeoutSeconds + 5));

  TempDir dir;
  rulesMatching(dir, "Alpha", "alpha");
  writeFile(dir / "sample", "alpha");
  YaraSettings own;
  own.rules = dir / "Alpha.yar";
  own.threads = 3;
  auto ownMade = YaraAnalyzer::make(own);
  EXPECT_EQ(ownMade.runner.maxConcurrent, 3u);
  yara = dynamic_cast<YaraAnalyzer*>(ownMade.analyzer.get());
  ASSERT_NE(yara, nullptr);
  EXPECT_EQ(analyze(*yara, dir / "sample").threats, Names{"Alpha"});

  own.rules = dir / "missing";
  EXPECT_THROW(YaraAnalyzer::make(own), std::runtime_error);
}

TEST(YaraAnalyzer, WorksBehindTheAnalyzerRunner) {
  TempDir dir;
  writeFile(dir / "invoice.exe", minimalPe());
  RunnerSettings settings;
  settings.maxConcurrent = 2;
  AnalyzerRunner runner(std::make_shared<YaraAnalyzer>(shipped()), settings);
  EXPECT_EQ(runner.name(), "yara");
  auto answer = std::make_shared<std::promise<Verdict>>();
  auto future = answer->get_future();
  runner.submit(at(dir / "invoice.exe"),
                std::chrono::steady_clock::now() + std::chrono::seconds(10),
                [answer](Verdict v) { answer->set_value(std::move(v)); });
  ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  auto v = future.get();
  EXPECT_EQ(v.kind, VerdictKind::Suspicious);
  EXPECT_EQ(v.threats, Names{"Executable_PE"});
}

// A file its message did not keep (BccMaxStoredPerMessage) has no path: YARA scans the
// bytes held in memory, with the same answer.
TEST(YaraAnalyzer, AFileNotKeptIsScannedFromMemory) {
  YaraAnalyzer yara(shipped());
  Submission s;
  s.name = "eicar.com";
  s.bytes = std::make_shared<const std::string>(kEicar);
  auto v = yara.scan(s, {});
  EXPECT_EQ(v.kind, VerdictKind::Dangerous) << v.reason;
  EXPECT_EQ(v.threats, Names{"EICAR_Test_File"});
  s.bytes = std::make_shared<const std::string>("Lunch at noon.\n");
  EXPECT_EQ(yara.scan(s, {}).kind, VerdictKind::Clean);
}
