// AnalysisSetup's generations (issue 17): what the re-checks compare. The YARA rules'
// digest changes with a rule file's content and stays with the same rules reloaded; the
// hash list's with its content on reloadHashList(); clamd's is asked of clamd (polled).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sink/AnalysisSetup.h"
#include "test/TempDir.h"

using namespace bccsink;

namespace {

const char* kRule =
    R"(rule Gen_One { meta: verdict = "dangerous" strings: $a = "gen-one" condition: $a })";

std::string generationOf(const std::vector<sandbox::RecheckAnalyzer>& list,
                         const std::string& name) {
  for (const auto& a : list) {
    if (a.name == name) return a.generation();
  }
  return "absent";
}

}  // namespace

TEST(AnalysisGenerations, RulesAndHashListDigestsChangeWithTheirContentOnly) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "rules");
  std::ofstream(dir / "rules/one.yar") << kRule;
  std::ofstream(dir / "list.txt") << std::string(64, 'a') << " dangerous\n";
  auto cfg = loadConfig("", {"--DataDir", dir / "data", "--YaraRules", dir / "rules",
                             "--HashListFile", dir / "list.txt", "--UseClamd", "yes",
                             "--ClamdSocket", "unix:" + (dir / "no-clamd.sock")});
  AnalysisSetup setup(cfg);
  const auto list = setup.recheckAnalyzers();
  ASSERT_EQ(list.size(), 3u);
  const auto yara0 = generationOf(list, "yara"), hash0 = generationOf(list, "hashlist");
  EXPECT_EQ(yara0.size(), 64u);
  EXPECT_EQ(hash0.size(), 64u);
  EXPECT_EQ(generationOf(list, "clamd"), "");  // no clamd there: unknown, not a change
  for (const auto& a : list) {
    EXPECT_EQ(a.polled, a.name == "clamd") << a.name;
    EXPECT_EQ(a.keptOnly, a.name != "hashlist") << a.name;
  }
  EXPECT_EQ(setup.reloadYara(), 1u);  // the same rules again
  EXPECT_EQ(generationOf(list, "yara"), yara0);
  std::ofstream(dir / "rules/two.yar")
      << R"(rule Gen_Two { meta: verdict = "suspicious" strings: $a = "gen-two" condition: $a })";
  EXPECT_EQ(setup.reloadYara(), 2u);
  EXPECT_NE(generationOf(list, "yara"), yara0);
  EXPECT_EQ(generationOf(list, "hashlist"), hash0);  // not reloaded yet
  std::ofstream(dir / "list.txt", std::ios::app) << std::string(64, 'b') << " suspicious\n";
  EXPECT_EQ(setup.reloadHashList(), 2u);
  EXPECT_NE(generationOf(list, "hashlist"), hash0);
}

TEST(AnalysisGenerations, AHashListThatDoesNotLoadKeepsTheOldOneAndItsGeneration) {
  test::TempDir dir;
  std::ofstream(dir / "list.txt") << std::string(64, 'a') << " dangerous\n";
  auto cfg = loadConfig(
      "", {"--DataDir", dir / "data", "--UseYara", "no", "--HashListFile", dir / "list.txt"});
  AnalysisSetup setup(cfg);
  const auto list = setup.recheckAnalyzers();
  const auto hash0 = generationOf(list, "hashlist");
  std::ofstream(dir / "list.txt") << "broken line\n";
  EXPECT_THROW(setup.reloadHashList(), ConfigError);
  EXPECT_EQ(generationOf(list, "hashlist"), hash0);
}
