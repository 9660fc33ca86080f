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

TEST(StageSettings, SmtpModeTakesItsSocketClientsPolicyAndRelay) {
  auto cfg = loadConfig("", {"--BccSocket",
                             "127.0.0.1:2626",
                             "--BccDomains",
                             "bcc.test",
                             "--SmtpSocket",
                             "127.0.0.1:10025",
                             "--SmtpSenderRelay",
                             "127.0.0.1:10026",
                             "--SmtpActionClean",
                             "tag",
                             "--SmtpActionDangerous",
                             "discard",
                             "--SmtpTagSubject",
                             "[SPAM?]",
                             "--SmtpMaxHold",
                             "90s",
                             "--SmtpHoldTimeoutAction",
                             "quarantine",
                             "--SmtpHoldUnknown",
                             "no",
                             "--SmtpQuarantineDays",
                             "7",
                             "--SmtpRelayRetryMax",
                             "2m",
                             "--SmtpRelayConnections",
                             "3",
                             "--SinkName",
                             "mx1",
                             "--BccHostname",
                             "filter.test"});
  auto st = holdListenerSettings(cfg);
  EXPECT_EQ(st.socket, "127.0.0.1:10025");
  EXPECT_TRUE(st.session.holdMode);
  EXPECT_TRUE(st.session.domains.empty());
  ASSERT_EQ(st.allowedClients.size(), 2u);  // 127.0.0.0/8 and ::1 unless told otherwise
  EXPECT_FALSE(listenerSettings(cfg).session.holdMode);

  auto hs = holdSettings(cfg);
  EXPECT_EQ(hs.sink, "mx1");
  EXPECT_EQ(hs.relay.server, "127.0.0.1:10026");
  EXPECT_EQ(hs.relay.heloName, "filter.test");
  EXPECT_EQ(hs.relay.password, "");
  EXPECT_EQ(hs.policy.clean, "tag");
  EXPECT_EQ(hs.policy.suspicious, "tag");
  EXPECT_EQ(hs.policy.dangerous, "discard");
  EXPECT_EQ(hs.policy.unscanned, "pass");
  EXPECT_EQ(hs.policy.tagSubject, "[SPAM?]");
  EXPECT_FALSE(hs.policy.holdUnknown);
  EXPECT_EQ(hs.policy.maxHold, std::chrono::seconds(90));
  EXPECT_EQ(hs.policy.timeoutAction, "quarantine");
  EXPECT_EQ(hs.quarantineDays, 7u);
  EXPECT_EQ(hs.retryMax, std::chrono::minutes(2));
  EXPECT_EQ(hs.relayConnections, 3u);
}

TEST(StageSettings, BothListenersTakeTheBoundsOnOneClient) {
  // Issue 18: the SMTP-mode listener is bounded as the BCC one is.
  auto cfg = loadConfig(
      "", {"--SmtpSocket", "127.0.0.1:10025", "--SmtpSenderRelay", "127.0.0.1:10026",
           "--BccMaxConnectionsPerIp", "7", "--BccSessionTimeout", "10m", "--BccMinDataRate", "300",
           "--BccSendTimeout", "45s", "--BccReservedConnections", "4"});
  for (const auto& st : {listenerSettings(cfg), holdListenerSettings(cfg)}) {
    EXPECT_EQ(st.maxConnectionsPerIp, 7u);
    EXPECT_EQ(st.sessionTimeout, std::chrono::minutes(10));
    EXPECT_EQ(st.minDataRate, 300u);
    EXPECT_EQ(st.sendTimeout, std::chrono::seconds(45));
    EXPECT_EQ(st.reservedConnections, 4u);
  }
  auto defaults = listenerSettings(loadConfig("", {}));
  EXPECT_EQ(defaults.maxConnectionsPerIp, 20u);
  EXPECT_EQ(defaults.minDataRate, 500u);
  EXPECT_EQ(defaults.sendTimeout, std::chrono::minutes(2));
}
