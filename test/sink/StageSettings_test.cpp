// Each stage's settings from the configuration: an option given on the command line lands
// in the field of the stage that uses it.

#include "sink/StageSettings.h"

#include <gtest/gtest.h>

using namespace bccsink;

TEST(StageSettings, TheListenerTakesItsSocketLimitsAndDomains) {
  auto cfg =
      loadConfig("", {"--BccSocket", "127.0.0.1:2626", "--BccMaxConnections", "17", "--BccDomains",
                      "bcc.test", "--BccMaxRecipients", "9", "--BccHostname", "sink.test"});
  auto st = listenerSettings(cfg);
  EXPECT_EQ(st.socket, "127.0.0.1:2626");
  EXPECT_EQ(st.maxConnections, 17u);
  EXPECT_EQ(st.session.domains, std::vector<std::string>{"bcc.test"});
  EXPECT_EQ(st.session.maxRecipients, 9u);
  EXPECT_EQ(st.session.hostname, "sink.test");
  EXPECT_EQ(st.session.counters, nullptr);
}

TEST(StageSettings, ThePipelineTakesWorkersAttemptsAndTheCleanVerdictAge) {
  auto cfg = loadConfig("", {"--DataDir", "/tmp/bccsink-settings", "--BccWorkers", "5",
                             "--BccMaxAttempts", "4", "--BccCleanVerdictMaxAge", "3600"});
  auto ps = pipelineSettings(cfg);
  EXPECT_EQ(ps.workers, 5u);
  EXPECT_EQ(ps.maxAttempts, 4);
  EXPECT_EQ(ps.spoolDir, "/tmp/bccsink-settings/spool");
  EXPECT_EQ(ps.freshness.cleanMaxAgeMs, 3600 * 1000);
  EXPECT_EQ(ps.databaseUrl, cfg.effectiveDatabaseUrl());
}

TEST(StageSettings, StatisticsExportOnlyWhenAUrlIsGiven) {
  auto off = statsSettings(loadConfig("", {}));
  EXPECT_FALSE(off.exportTo.has_value());
  auto on = statsSettings(loadConfig("", {"--StatsExportUrl", "https://127.0.0.1:9/in"}));
  ASSERT_TRUE(on.exportTo.has_value());
  EXPECT_EQ(on.exportTo->url, "https://127.0.0.1:9/in");
}

TEST(StageSettings, TheHttpPortTakesItsSocketAndToken) {
  const std::string token = "t0ken-of-at-least-32-characters!";
  auto hs = httpSettings(loadConfig("", {"--HttpSocket", "127.0.0.1:0", "--HttpToken", token}));
  EXPECT_EQ(hs.socket, "127.0.0.1:0");
  EXPECT_EQ(hs.token, token);
  EXPECT_TRUE(hs.tlsCertificate.empty());
  auto tls = httpSettings(
      loadConfig("", {"--HttpTlsCertificate", "/etc/c.pem", "--HttpTlsKey", "/etc/k.pem"}));
  EXPECT_EQ(tls.tlsCertificate, "/etc/c.pem");
  EXPECT_EQ(tls.tlsKey, "/etc/k.pem");
}
