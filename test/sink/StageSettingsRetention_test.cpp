// Retention's settings from the configuration (issue 17).

#include <gtest/gtest.h>

#include "sink/StageSettings.h"

using namespace bccsink;
using namespace std::chrono_literals;

TEST(StageSettingsRetention, KeepTimesFolderAndAMinutesSweepByDefault) {
  auto cfg = loadConfig("", {"--DataDir", "/tmp/bccsink-settings", "--SinkName", "sink-r",
                             "--BccMinFreeSpace", "1M"});
  auto rs = retentionSettings(cfg);
  EXPECT_EQ(rs.keepClean, 7 * 24h);
  EXPECT_EQ(rs.keepFlagged, 90 * 24h);
  EXPECT_EQ(rs.keepRows, 365 * 24h);
  EXPECT_EQ(rs.minFreeSpace, 1024u * 1024u);
  EXPECT_EQ(rs.spoolDir, "/tmp/bccsink-settings/spool");
  EXPECT_EQ(rs.filesDir, "/tmp/bccsink-settings/files");
  EXPECT_EQ(rs.sink, "sink-r");
  EXPECT_EQ(rs.databaseUrl, cfg.effectiveDatabaseUrl());
  EXPECT_EQ(rs.idle, 1min);
  EXPECT_EQ(rs.fileGrace, 10min);
}

TEST(StageSettingsRetention, AShortKeepTimeSweepsMoreOftenAndZeroIsForever) {
  auto rs = retentionSettings(
      loadConfig("", {"--BccKeepClean", "2s", "--BccKeepFlagged", "0", "--BccKeepRows", "0"}));
  EXPECT_EQ(rs.keepClean, 2s);
  EXPECT_EQ(rs.keepFlagged, 0s);
  EXPECT_EQ(rs.keepRows, 0s);
  EXPECT_EQ(rs.idle, 1s);  // a quarter of 2 s, but at least a second
  EXPECT_EQ(rs.fileGrace, 2s);
  auto hourly = retentionSettings(loadConfig("", {"--BccKeepClean", "1h"}));
  EXPECT_EQ(hourly.idle, 1min);
}
