// Retro-alerts' wiring (issue 17): the options in the judge's and the re-check stage's
// settings, and the /metrics families from plain numbers. In a file of its own so that the
// other issue-17 additions to StageSettings_test and Metrics_test do not meet this one.

#include <gtest/gtest.h>

#include "sink/Metrics.h"
#include "sink/StageSettings.h"

using namespace bccsink;

TEST(RetroWiring, TheJudgeAndTheRecheckTakeTheWindowRateThresholdAndSink) {
  auto cfg =
      loadConfig("", {"--DataDir", "/tmp/bccsink-retro", "--SinkName", "sink-r", "--BccRetroWindow",
                      "7d", "--BccRecheckRate", "20", "--BccReportThreshold", "dangerous"});
  auto rs = retroSettings(cfg);
  EXPECT_EQ(rs.sink, "sink-r");
  EXPECT_EQ(rs.window, std::chrono::hours(24 * 7));
  EXPECT_EQ(rs.threshold, "dangerous");
  ASSERT_TRUE(rs.newId);
  EXPECT_EQ(rs.newId().size(), 26u);  // a ULID
  EXPECT_NE(rs.newId(), rs.newId());
  auto cs = recheckSettings(cfg);
  EXPECT_EQ(cs.sink, "sink-r");
  EXPECT_EQ(cs.window, std::chrono::hours(24 * 7));
  EXPECT_EQ(cs.rate, 20);
  EXPECT_EQ(cs.databaseUrl, cfg.effectiveDatabaseUrl());
  EXPECT_FALSE(sandbox::RetroJudge(retroSettings(loadConfig("", {"--DataDir", "/tmp/bccsink-retro",
                                                                 "--BccRetroWindow", "0"})))
                   .enabled());
}

TEST(RetroWiring, MetricsShowAlertsByCauseAndRechecksByAnalyzer) {
  MetricsSnapshot s;
  s.retroAlerts = {1, 2, 0, 4};
  s.recheckFiles = {{"yara", 1500}, {"clamd", 0}};
  s.recheckPending = 98500;
  auto text = formatMetrics(s);
  for (const char* line :
       {"bccsink_retro_alerts_total{cause=\"late-answer\"} 1",
        "bccsink_retro_alerts_total{cause=\"rules-reload\"} 2",
        "bccsink_retro_alerts_total{cause=\"signature-update\"} 0",
        "bccsink_retro_alerts_total{cause=\"hash-list\"} 4",
        "bccsink_recheck_files_total{analyzer=\"yara\"} 1500",
        "bccsink_recheck_files_total{analyzer=\"clamd\"} 0", "bccsink_recheck_pending_files 98500"})
    EXPECT_NE(text.find(std::string(line) + "\n"), std::string::npos) << line << "\n" << text;
}
