#include "sandbox/analyzers/YaraRules.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/analyzers/ShippedRules.h"
#include "test/TempDir.h"
#include "test/sandbox/Collect.h"
#include "test/sandbox/analyzers/YaraSamples.h"

using bccsink::sandbox::VerdictKind;
using bccsink::sandbox::YaraRules;
using bccsink::test::kEicar;
using bccsink::test::minimalPe;
using bccsink::test::shippedRulesDir;
using bccsink::test::TempDir;
using bccsink::test::writeFile;

namespace {

using Names = std::vector<std::string>;

// The message of the std::runtime_error that compiling `dir` throws, or "" if none.
std::string compileError(const std::string& dir) {
  try {
    YaraRules::compile(dir);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

std::string rule(const std::string& name, const std::string& text, const std::string& verdict) {
  return "rule " + name + "\n{\n  meta:\n" +
         (verdict.empty() ? "" : "    verdict = \"" + verdict + "\"\n") +
         "    description = \"test\"\n  strings:\n    $a = \"" + text +
         "\"\n  condition:\n    $a\n}\n";
}

}  // namespace

TEST(YaraRules, CompilesEveryRuleFileOfAFolderInNameOrder) {
  TempDir dir;
  // b.yar uses a rule of a.yar: it works because a.yar is compiled first.
  writeFile(dir / "a.yar", rule("Alpha", "alpha", "suspicious"));
  writeFile(dir / "b.yara", rule("Beta", "beta", "dangerous") +
                                "rule AlphaAndBeta { condition: Alpha and Beta }\n");
  writeFile(dir / "README.md", "rule NotARule { condition: true }\n");
  writeFile(dir / "c.yar.bak", "this is not YARA");
  writeFile(dir / ".d.yar", "neither is this, an editor's temporary");
  std::filesystem::create_directory(dir / "sub.yar");  // a folder: skipped
  auto rules = YaraRules::compile(dir.path());
  EXPECT_EQ(rules->ruleCount(), 3u);
  auto m = rules->scan("alpha beta");
  EXPECT_EQ(m.kind, VerdictKind::Dangerous);
  EXPECT_EQ(m.rules, (Names{"Beta", "Alpha", "AlphaAndBeta"}));

  // The other way round, a.yar would use a rule not yet defined.
  TempDir reversed;
  writeFile(reversed / "a.yar", "rule AlphaAndBeta { condition: Alpha }\n");
  writeFile(reversed / "b.yar", rule("Alpha", "alpha", "suspicious"));
  auto error = compileError(reversed.path());
  EXPECT_NE(error.find(reversed / "a.yar" + ":1: "), std::string::npos) << error;
  EXPECT_NE(error.find("Alpha"), std::string::npos) << error;
}

TEST(YaraRules, AcceptsASingleFile) {
  TempDir dir;
  writeFile(dir / "one.rules", rule("One", "needle", "suspicious"));  // any name when given
  auto rules = YaraRules::compile(dir / "one.rules");
  EXPECT_EQ(rules->ruleCount(), 1u);
  EXPECT_EQ(rules->scan("a needle in a haystack").kind, VerdictKind::Suspicious);
}

TEST(YaraRules, CompileErrorNamesFileAndLine) {
  TempDir dir;
  writeFile(dir / "a.yar", rule("Good", "good", "suspicious"));
  writeFile(dir / "b.yar", "rule Broken\n{\n  condition:\n    $missing and\n}\n");
  auto error = compileError(dir.path());
  EXPECT_EQ(error.rfind(dir / "b.yar" + ":4: ", 0), 0u) << error;
  EXPECT_NE(error.find("$missing"), std::string::npos) << error;

  writeFile(dir / "b.yar", "rule Broken {\n  strings: $a = \"x\"\n  condition: $a and\n");
  error = compileError(dir.path());
  EXPECT_EQ(error.rfind(dir / "b.yar" + ":", 0), 0u) << error;
  EXPECT_NE(error.find("syntax error"), std::string::npos) << error;
}

TEST(YaraRules, WarningIsAnError) {
  TempDir dir;
  writeFile(dir / "slow.yar", "\n\nrule Slow { strings: $a = /[a-z]{4}/ condition: $a }\n");
  auto error = compileError(dir.path());
  EXPECT_EQ(error, dir / "slow.yar" + ":3: warning: string \"$a\" may slow down scanning");
}

TEST(YaraRules, SameRuleNameInTwoFilesIsAnError) {
  TempDir dir;
  writeFile(dir / "a.yar", rule("Twice", "one", "suspicious"));
  writeFile(dir / "b.yar", "// the same name\n" + rule("Twice", "two", "dangerous"));
  auto error = compileError(dir.path());
  EXPECT_EQ(error.rfind(dir / "b.yar" + ":2: ", 0), 0u) << error;
  EXPECT_NE(error.find("Twice"), std::string::npos) << error;
}

TEST(YaraRules, VerdictMetaMustBeSuspiciousOrDangerous) {
  TempDir dir;
  writeFile(dir / "a.yar", rule("Fine", "fine", "suspicious"));
  for (const std::string bad : {"malicious", "clean", "unscanned", "dangerus"}) {
    writeFile(dir / "b.yar", "\n" + rule("Typo", "typo", bad));
    EXPECT_EQ(compileError(dir.path()),
              dir / "b.yar" + ":2: rule Typo: meta verdict must be \"suspicious\" or \"dangerous\"")
        << bad;
  }
  writeFile(dir / "b.yar", "rule Number { meta: verdict = 3 condition: false }\n");
  EXPECT_EQ(
      compileError(dir.path()),
      dir / "b.yar" + ":1: rule Number: meta verdict must be \"suspicious\" or \"dangerous\"");
  // Case does not matter.
  writeFile(dir / "b.yar", rule("Loud", "loud", "DANGEROUS"));
  EXPECT_EQ(YaraRules::compile(dir.path())->scan("loud").kind, VerdictKind::Dangerous);
}

TEST(YaraRules, FolderWithoutRulesIsAnError) {
  TempDir dir;
  EXPECT_EQ(compileError(dir.path()), "no YARA rules (*.yar, *.yara) in " + dir.path());
  writeFile(dir / "README.md", "the rules go here");
  EXPECT_EQ(compileError(dir.path()), "no YARA rules (*.yar, *.yara) in " + dir.path());
  // Files that hold only comments compile to nothing.
  writeFile(dir / "empty.yar", "// nothing yet\n");
  EXPECT_EQ(compileError(dir.path()), "no YARA rules (*.yar, *.yara) in " + dir.path());
  auto missing = dir / "missing";
  EXPECT_EQ(compileError(missing),
            "cannot read YARA rules " + missing + ": No such file or directory");
}

TEST(YaraRules, RulesWithoutAVerdictAreListedLastAndLeaveTheKind) {
  TempDir dir;
  writeFile(dir / "r.yar", rule("Info", "xxxx", "") + rule("Sus", "xxxx", "suspicious") +
                               rule("Dan", "xxxx", "dangerous") + rule("Info2", "yyyy", "") +
                               "private rule Hidden { condition: true }\n");
  auto rules = YaraRules::compile(dir.path());
  EXPECT_EQ(rules->ruleCount(), 5u);
  auto all = rules->scan("xxxx");
  EXPECT_EQ(all.kind, VerdictKind::Dangerous);
  EXPECT_EQ(all.rules, (Names{"Dan", "Sus", "Info"}));  // private rules are never reported
  auto info = rules->scan("yyyy");
  EXPECT_EQ(info.kind, VerdictKind::Clean);
  EXPECT_EQ(info.rules, Names{"Info2"});
  auto none = rules->scan("");
  EXPECT_EQ(none.kind, VerdictKind::Clean);
  EXPECT_TRUE(none.rules.empty());
}

TEST(YaraRules, ScansFromManyThreadsAtOnce) {
  auto rules = YaraRules::compile(shippedRulesDir());
  const std::vector<std::pair<std::string, Names>> samples = {
      {kEicar, {"EICAR_Test_File"}},
      {minimalPe(), {"Executable_PE"}},
      {"nothing to see here", {}},
  };
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        const auto& [bytes, expected] = samples[(t + i) % samples.size()];
        if (rules->scan(bytes).rules != expected) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(YaraRules, OutlivesItsCompilerAndOtherRuleSets) {
  TempDir dir;
  writeFile(dir / "r.yar", rule("Kept", "kept", "suspicious"));
  auto kept = YaraRules::compile(dir.path());
  { auto other = YaraRules::compile(shippedRulesDir()); }  // libyara stays initialised
  EXPECT_EQ(kept->scan("kept").rules, Names{"Kept"});
}

TEST(YaraRules, CompilesRuleTextsAsIfTheyWereFiles) {
  auto rules = YaraRules::compileSources(
      {{"a.yar", rule("Alpha", "alpha", "suspicious")},
       {"b.yar", "rule AlphaToo { meta: verdict = \"dangerous\" condition: Alpha }\n"}});
  EXPECT_EQ(rules->ruleCount(), 2u);
  EXPECT_EQ(rules->scan("alpha").rules, (Names{"AlphaToo", "Alpha"}));

  auto error = [](const std::vector<std::pair<std::string, std::string>>& sources) {
    try {
      YaraRules::compileSources(sources);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error({{"x.yar", "\nrule Bad { condition: nothing }\n"}}).rfind("x.yar:2: ", 0), 0u);
  EXPECT_EQ(error({{"x.yar", "\n\n" + rule("Typo", "typo", "dangerus")}}),
            "x.yar:3: rule Typo: meta verdict must be \"suspicious\" or \"dangerous\"");
  EXPECT_EQ(error({}), "no YARA rules (*.yar, *.yara) in the built-in rules");
}

TEST(YaraRules, BuiltInRulesAreTheShippedFolder) {
  auto builtIn = YaraRules::compileSources(bccsink::sandbox::shippedRules());
  auto folder = YaraRules::compile(shippedRulesDir());
  EXPECT_EQ(builtIn->ruleCount(), folder->ruleCount());
  for (const auto& sample : {kEicar, minimalPe(), std::string("plain text")})
    EXPECT_EQ(builtIn->scan(sample).rules, folder->scan(sample).rules);
  // Word for word: the build copied the current files.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(shippedRulesDir()))
    files += entry.path().extension() == ".yar";
  EXPECT_EQ(bccsink::sandbox::shippedRules().size(), files);
  for (const auto& [name, text] : bccsink::sandbox::shippedRules())
    EXPECT_EQ(text, bccsink::test::readFile(shippedRulesDir() + "/" + name)) << name;
}
