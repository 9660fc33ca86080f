// `--Name value` overrides from argv, as `serve` and the commands read them: an empty value
// (`--User ''`, stay root) is a value, not a syntax error.

#include <gtest/gtest.h>

#include "sink/Commands.h"
#include "sink/Config.h"

namespace bccsink {
namespace {

TEST(CommandLine, AnEmptyValueIsGiven) {
  auto cl = parseCommandLine({"--User", "", "--DataDir", "/tmp/x"}, {}, {});
  auto cfg = loadConfig("", cl.overrides);
  EXPECT_EQ(cfg.user, "");
  EXPECT_EQ(cfg.dataDir, "/tmp/x");
}

TEST(CommandLine, AnEmptyInlineValueIsGiven) {
  auto cl = parseCommandLine({"--User="}, {}, {});
  EXPECT_EQ(loadConfig("", cl.overrides).user, "");
}

TEST(CommandLine, UserIsBccsinkByDefault) {
  EXPECT_EQ(loadConfig("", {}).user, "bccsink");
}

}  // namespace
}  // namespace bccsink
