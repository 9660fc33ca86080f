#include "sink/Config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test/sink/ConfigTesting.h"

using namespace bccsink;

namespace {

class ConfigFile : public ::testing::Test {
 protected:
  std::string write(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("bccsink-config-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".conf");
    std::ofstream(path_) << text;
    return path_.string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::filesystem::path path_;
};

}  // namespace

TEST(Config, DefaultsAreUsableWithoutAFile) {
  auto c = loadConfig("", {});
  EXPECT_EQ(c.bccSocket, "127.0.0.1:2525");
  EXPECT_EQ(c.bccDomains, std::vector<std::string>{"bcc.test"});
  EXPECT_TRUE(c.bccAllowedClients.empty());
  EXPECT_EQ(c.bccMaxMessageSize, 50u << 20);
  EXPECT_EQ(c.bccMaxConnections, 100u);
  EXPECT_EQ(c.bccCommandTimeout, std::chrono::minutes(5));
  EXPECT_FALSE(c.bccHostname.empty());
  EXPECT_EQ(c.effectiveDatabaseUrl(), "sqlite:/var/lib/bccsink/bccsink.db");
}

TEST_F(ConfigFile, FileValuesAreParsedAndTyped) {
  auto path = write(
      "# comment\n"
      "BccSocket = unix:/run/bccsink.sock\n"
      "BccDomains = BCC.Example.com, watch@other.test\n"
      "BccAllowedClients = 192.0.2.0/24 2001:db8::/32\n"
      "BccMaxMessageSize = 10M\n"
      "BccDataTimeout = 90s\n"
      "DataDir = /tmp/x\n");
  auto c = loadConfig(path, {});
  EXPECT_EQ(c.bccSocket, "unix:/run/bccsink.sock");
  EXPECT_EQ(c.bccDomains, (std::vector<std::string>{"bcc.example.com", "watch@other.test"}));
  ASSERT_EQ(c.bccAllowedClients.size(), 2u);
  EXPECT_TRUE(c.bccAllowedClients[1].contains("2001:db8::5"));
  EXPECT_EQ(c.bccMaxMessageSize, 10u << 20);
  EXPECT_EQ(c.bccDataTimeout, std::chrono::seconds(90));
  EXPECT_EQ(c.spoolDir(), "/tmp/x/spool");
}

TEST_F(ConfigFile, CommandLineOverridesTheFile) {
  auto path = write("DataDir = /tmp/from-file\nBccMaxRecipients = 5\n");
  auto c = loadConfig(path, {"--DataDir", "/tmp/from-cli", "--BccMaxRecipients=7"});
  EXPECT_EQ(c.dataDir, "/tmp/from-cli");
  EXPECT_EQ(c.bccMaxRecipients, 7u);
}

TEST_F(ConfigFile, UnknownOptionNamesItselfAndItsLine) {
  auto path = write("DataDir = /tmp/x\n\nBccSokcet = 127.0.0.1:25\n");
  auto e = test::configErrorOf(path);
  EXPECT_NE(e.find("BccSokcet"), std::string::npos) << e;
  EXPECT_NE(e.find(path + ":3"), std::string::npos) << e;
}

TEST_F(ConfigFile, MalformedValueNamesOptionLineAndValue) {
  auto path = write("BccMaxMessageSize = lots\n");
  auto e = test::configErrorOf(path);
  EXPECT_NE(e.find(path + ":1: option BccMaxMessageSize"), std::string::npos) << e;
  EXPECT_NE(e.find("'lots'"), std::string::npos) << e;
}

TEST_F(ConfigFile, BadCidrIsAnError) {
  auto e = test::configErrorOf(write("BccAllowedClients = 10.0.0.0/8, 10.0.0.0/99\n"));
  EXPECT_NE(e.find("BccAllowedClients"), std::string::npos) << e;
  EXPECT_NE(e.find("10.0.0.0/99"), std::string::npos) << e;
}

TEST_F(ConfigFile, RepeatedOptionIsAnError) {
  auto e = test::configErrorOf(write("DataDir = /a\nDataDir = /b\n"));
  EXPECT_NE(e.find("DataDir"), std::string::npos) << e;
}

TEST_F(ConfigFile, LineWithoutEqualsIsAnError) {
  EXPECT_FALSE(test::configErrorOf(write("DataDir /tmp/x\n")).empty());
}

TEST(Config, MissingFileIsAnError) {
  auto e = test::configErrorOf("/nonexistent/bccsink.conf");
  EXPECT_NE(e.find("/nonexistent/bccsink.conf"), std::string::npos) << e;
}

TEST(Config, UnknownCommandLineOptionIsAnError) {
  auto e = test::configErrorOf("", {"--NoSuchOption", "1"});
  EXPECT_NE(e.find("NoSuchOption"), std::string::npos) << e;
}

TEST(Config, TlsNeedsBothCertificateAndKey) {
  auto e = test::configErrorOf("", {"--BccTlsCertificate", "/etc/ssl/x.pem"});
  EXPECT_NE(e.find("BccTlsKey"), std::string::npos) << e;
}

TEST(Config, SecretsAreMaskedInTheDescription) {
  auto text = describeConfig("", {"--BccTlsCertificate", "/c.pem", "--BccTlsKey", "/secret.key"});
  EXPECT_EQ(text.find("/secret.key"), std::string::npos);
  EXPECT_NE(text.find("BccTlsKey = ********"), std::string::npos);
  EXPECT_NE(text.find("BccTlsCertificate = /c.pem"), std::string::npos);
}

TEST(Config, EveryDeclaredOptionHasHelpAndAValidDefault) {
  for (const auto& o : configOptions()) EXPECT_FALSE(o.help.empty()) << o.name;
  EXPECT_NO_THROW(loadConfig("", {}));
}

TEST(ConfigParsers, Sizes) {
  EXPECT_EQ(parseSize("123"), 123u);
  EXPECT_EQ(parseSize("64k"), 65536u);
  EXPECT_EQ(parseSize("50M"), 50u << 20);
  EXPECT_EQ(parseSize("2G"), 2ull << 30);
  EXPECT_EQ(parseSize("10MB"), 10u << 20);
  EXPECT_THROW(parseSize("-1"), std::invalid_argument);
  EXPECT_THROW(parseSize("1T"), std::invalid_argument);
  EXPECT_THROW(parseSize("99999999999999999999G"), std::exception);
}

TEST(ConfigParsers, Durations) {
  EXPECT_EQ(parseDuration("30"), std::chrono::seconds(30));
  EXPECT_EQ(parseDuration("5m"), std::chrono::seconds(300));
  EXPECT_EQ(parseDuration("1h"), std::chrono::seconds(3600));
  EXPECT_THROW(parseDuration("0s"), std::invalid_argument);
  EXPECT_THROW(parseDuration("soon"), std::invalid_argument);
}

TEST(ConfigParsers, BoolsAndLists) {
  EXPECT_TRUE(parseBool("yes"));
  EXPECT_FALSE(parseBool("Off"));
  EXPECT_THROW(parseBool("maybe"), std::invalid_argument);
  EXPECT_EQ(splitList(" a, b  c,,d "), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST(Config, ShippedSampleLoadsAndDocumentsEveryOption) {
  std::string path = std::string(BCCSINK_SOURCE_DIR) + "/etc/bccsink.conf";
  EXPECT_NO_THROW(loadConfig(path, {}));
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& o : configOptions()) {
    EXPECT_NE(text.find("\n" + o.name + " ="), std::string::npos) << o.name << " missing";
  }
}

TEST(Config, StatsExportUrlIsHttpsOrPlainHttpToThisHostOnly) {
  for (const char* ok : {"https://collector.example/stats", "http://127.0.0.1:8080/in",
                         "http://[::1]:9/x", "http://localhost/x"}) {
    EXPECT_NO_THROW(loadConfig("", {"--StatsExportUrl", ok})) << ok;
  }
  for (const char* bad : {"http://127.evil.example/x", "http://localhost.evil.example/",
                          "http://collector.example/", "ftp://127.0.0.1/", "https://"}) {
    EXPECT_THROW(loadConfig("", {"--StatsExportUrl", bad}), ConfigError) << bad;
  }
}

TEST(Config, ReportThresholdAcceptsUnscannedAndArchivePasswordsAreAList) {
  EXPECT_EQ(loadConfig("", {"--BccReportThreshold", "unscanned"}).bccReportThreshold, "unscanned");
  EXPECT_THROW(loadConfig("", {"--BccReportThreshold", "clean"}), ConfigError);
  EXPECT_TRUE(loadConfig("", {}).bccArchivePasswords.empty());
  EXPECT_EQ(loadConfig("", {"--BccArchivePasswords", "infected, virus 1234"}).bccArchivePasswords,
            (std::vector<std::string>{"infected", "virus", "1234"}));
}

TEST(Config, SpoolSegmentSizeIsASizeBetweenOneMegabyteAndSixteenGigabytes) {
  EXPECT_EQ(loadConfig("", {}).bccSpoolSegmentSize, 64u << 20);
  EXPECT_EQ(loadConfig("", {"--BccSpoolSegmentSize", "1M"}).bccSpoolSegmentSize, 1u << 20);
  EXPECT_EQ(loadConfig("", {"--BccSpoolSegmentSize", "16G"}).bccSpoolSegmentSize, 16ull << 30);
  for (const char* bad : {"1023k", "17G", "0", "big"}) {
    EXPECT_THROW(loadConfig("", {"--BccSpoolSegmentSize", bad}), ConfigError) << bad;
  }
}

TEST(Config, SinkNameDefaultsToBccHostnameSoAnUpgradedSinkKeepsItsRows) {
  EXPECT_EQ(loadConfig("", {"--BccHostname", "mx1.example.test"}).sinkName, "mx1.example.test");
  EXPECT_EQ(loadConfig("", {"--BccHostname", "mx1.example.test", "--SinkName", "a"}).sinkName, "a");
  EXPECT_FALSE(loadConfig("", {}).sinkName.empty());
  EXPECT_THROW(loadConfig("", {"--SinkName", std::string(65, 'a')}), ConfigError);
  EXPECT_THROW(loadConfig("", {"--SinkName", "mx\xe9"}), ConfigError);
}

TEST_F(ConfigFile, SmtpModeRefusesWhatWouldRelayOrLoseMail) {
  auto e = test::configErrorOf("", {"--SmtpSocket", "127.0.0.1:10025"});
  EXPECT_NE(e.find("SmtpSenderRelay"), std::string::npos) << e;
  e = test::configErrorOf("", {"--SmtpSocket", "127.0.0.1:2525", "--SmtpSenderRelay",
                               "127.0.0.1:10026", "--BccSocket", "127.0.0.1:2525"});
  EXPECT_NE(e.find("must differ from BccSocket"), std::string::npos) << e;
  e = test::configErrorOf("", {"--SmtpAllowedClients", ""});
  EXPECT_NE(e.find("SmtpAllowedClients"), std::string::npos) << e;
  e = test::configErrorOf("", {"--SmtpActionDangerous", "bounce"});
  EXPECT_NE(e.find("pass, tag, quarantine or discard"), std::string::npos) << e;
  e = test::configErrorOf("", {"--SmtpHoldTimeoutAction", "discard"});
  EXPECT_NE(e.find("pass or quarantine"), std::string::npos) << e;
  for (const char* relay : {"localhost", "127.0.0.1:0", "127.0.0.1:99999", "unix:", "unix:rel"}) {
    e = test::configErrorOf("", {"--SmtpSenderRelay", relay});
    EXPECT_NE(e.find("SmtpSenderRelay"), std::string::npos) << relay << ": " << e;
  }
  e = test::configErrorOf("", {"--SmtpTagSubject", "x\r\nBcc: evil@example.net"});
  EXPECT_NE(e.find("SmtpTagSubject"), std::string::npos) << e;
  EXPECT_EQ(test::configErrorOf("", {"--SmtpSocket", "unix:/run/bccsink/filter.sock",
                                     "--SmtpSenderRelay", "[::1]:10026"}),
            "");
}

TEST(Config, HardeningOptionsHaveTheirDefaultsAndBounds) {
  auto c = loadConfig("", {});
  EXPECT_EQ(c.bccMaxConnectionsPerIp, 20u);
  EXPECT_EQ(c.bccSessionTimeout, std::chrono::minutes(30));
  EXPECT_EQ(c.bccMinDataRate, 500u);
  EXPECT_EQ(c.bccMaxStoredPerMessage, 200u << 20);
  EXPECT_EQ(c.bccReportGroupWindow, std::chrono::minutes(2));
  EXPECT_EQ(c.user, "bccsink");
  EXPECT_TRUE(c.bccExtractIsolation);
  EXPECT_EQ(c.tlsMinVersion, "1.2");
  EXPECT_EQ(loadConfig("", {"--User", ""}).user, "");
  EXPECT_EQ(loadConfig("", {"--BccReportGroupWindow", "0"}).bccReportGroupWindow.count(), 0);
  EXPECT_THROW(
      loadConfig("", {"--BccAllowedClients", "192.0.2.0/24", "--BccReservedConnections", "100"}),
      ConfigError);
  EXPECT_NO_THROW(
      loadConfig("", {"--BccAllowedClients", "192.0.2.0/24", "--BccReservedConnections", "99"}));
  // Without an allow-list nothing is reserved: a small limit keeps the default reservation.
  EXPECT_NO_THROW(loadConfig("", {"--BccMaxConnections", "2"}));
  EXPECT_THROW(loadConfig("", {"--TlsMinVersion", "1.1"}), ConfigError);
  EXPECT_THROW(loadConfig("", {"--BccMaxConnectionsPerIp", "0"}), ConfigError);
  EXPECT_THROW(loadConfig("", {"--BccMaxStoredPerMessage", "0"}), ConfigError);
  EXPECT_THROW(loadConfig("", {"--BccSessionTimeout", "0"}), ConfigError);
}

TEST(Config, AnEmptyValueOnTheCommandLineTurnsAnOptionOff) {
  EXPECT_EQ(loadConfig("", {"--User", ""}).user, "");
  EXPECT_EQ(loadConfig("", {"--User="}).user, "");
  EXPECT_EQ(loadConfig("", {"--HttpSocket", "", "--BccWorkers", "3"}).httpSocket, "");
  EXPECT_EQ(loadConfig("", {"--HttpSocket", "", "--BccWorkers", "3"}).bccWorkers, 3u);
  EXPECT_THROW(loadConfig("", {"--NoSuchOption", ""}), ConfigError);
  EXPECT_THROW(loadConfig("", {"--BccDomains", ""}), ConfigError);  // still validated
}
