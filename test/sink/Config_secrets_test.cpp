// Secrets in the configuration (issue 18, finding 7): read from their own files, never
// echoed in an error, a token long enough to matter, a warning when others can read them.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sink/Config.h"
#include "test/sink/ConfigTesting.h"

using namespace bccsink;

namespace {

const std::string kToken = "0123456789abcdef0123456789abcdef0123";  // 36 characters

class ConfigSecrets : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bccsink-secrets-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    auto path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << text;
    ::chmod(path.c_str(), mode);
    return path;
  }

  std::filesystem::path dir_;
};

}  // namespace

TEST_F(ConfigSecrets, FilesGiveTheValuesWithTheTrailingNewlineTrimmed) {
  auto token = write("token", kToken + "\n");
  auto key = write("key", "vx-key\n");
  auto password = write("password", "pa ss\r\n");
  auto c = loadConfig("", {"--HttpTokenFile", token, "--VxcubeApiKeyFile", key,
                           "--BccReporterPasswordFile", password});
  EXPECT_EQ(c.httpToken, kToken);
  EXPECT_EQ(c.vxcubeApiKey, "vx-key");
  EXPECT_EQ(c.bccReporterPassword, "pa ss");
  EXPECT_TRUE(c.warnings.empty()) << c.warnings.front();
  // check-config shows where the secret is, not what it is.
  auto text = describeConfig("", {"--HttpTokenFile", token});
  EXPECT_NE(text.find("HttpTokenFile = " + token), std::string::npos) << text;
  EXPECT_EQ(text.find(kToken), std::string::npos) << text;
}

TEST_F(ConfigSecrets, AValueAndItsFileTogetherAreAnErrorNamingBoth) {
  auto key = write("key", "vx-key\n");
  auto e = test::configErrorOf("", {"--VxcubeApiKey", "vx-inline-key", "--VxcubeApiKeyFile", key});
  EXPECT_NE(e.find("VxcubeApiKey and VxcubeApiKeyFile"), std::string::npos) << e;
  EXPECT_EQ(e.find("vx-inline-key"), std::string::npos) << e;
  auto conf = write("both.conf",
                    "HttpToken = " + kToken + "\nHttpTokenFile = " + write("token", kToken) + "\n");
  e = test::configErrorOf(conf);
  EXPECT_NE(e.find("HttpToken and HttpTokenFile"), std::string::npos) << e;
  EXPECT_EQ(e.find(kToken), std::string::npos) << e;
}

TEST_F(ConfigSecrets, AMissingOrEmptySecretFileIsAnErrorNamingTheOption) {
  auto e = test::configErrorOf("", {"--BccReporterPasswordFile", (dir_ / "none").string()});
  EXPECT_NE(e.find("BccReporterPasswordFile"), std::string::npos) << e;
  EXPECT_NE(e.find("cannot read"), std::string::npos) << e;
  e = test::configErrorOf("", {"--HttpTokenFile", write("empty", "\n")});
  EXPECT_NE(e.find("is empty"), std::string::npos) << e;
}

TEST_F(ConfigSecrets, AMalformedLineNamesItsNumberAndKeyButNotItsValue) {
  auto conf =
      write("bad.conf", "# bccsink\nBccSocket = 127.0.0.1:2525\nVxcubeApiKey SECRETVALUE\n");
  auto e = test::configErrorOf(conf);
  EXPECT_NE(e.find(conf + ":3: option VxcubeApiKey"), std::string::npos) << e;
  EXPECT_EQ(e.find("SECRETVALUE"), std::string::npos) << e;
  // check-config reads the file the same way.
  try {
    describeConfig(conf, {});
    ADD_FAILURE() << "check-config accepted the line";
  } catch (const ConfigError& err) {
    EXPECT_EQ(std::string(err.what()).find("SECRETVALUE"), std::string::npos) << err.what();
  }
  // A comment without '=' is still a comment.
  EXPECT_EQ(test::configErrorOf(
                write("ok.conf", "# no equals sign here\n\nLogLevel = debug  # a comment\n")),
            "");
}

TEST_F(ConfigSecrets, ABadSecretValueIsNotEchoed) {
  auto conf = write("short.conf", "HttpToken = shortsecret\n");
  auto e = test::configErrorOf(conf);
  EXPECT_NE(e.find("HttpToken"), std::string::npos) << e;
  EXPECT_EQ(e.find("shortsecret"), std::string::npos) << e;
}

TEST_F(ConfigSecrets, ATokenShorterThan32CharactersIsRefusedFromEitherSource) {
  auto e = test::configErrorOf("", {"--HttpToken", "a"});
  EXPECT_NE(e.find("option HttpToken: the token has 1 characters, at least 32"), std::string::npos)
      << e;
  e = test::configErrorOf("", {"--HttpTokenFile", write("token", std::string(31, 'x') + "\n")});
  EXPECT_NE(e.find("option HttpTokenFile: the token has 31 characters"), std::string::npos) << e;
  EXPECT_EQ(loadConfig("", {"--HttpToken", std::string(32, 'x')}).httpToken, std::string(32, 'x'));
  EXPECT_EQ(loadConfig("", {}).httpToken, "");  // no token: the API is off, not an error
}

TEST_F(ConfigSecrets, FilesHoldingSecretsThatOthersCanReadAreWarnedAbout) {
  auto token = write("token", kToken, 0644);
  auto c = loadConfig("", {"--HttpTokenFile", token});
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(
      c.warnings[0].find(token + " holds HttpToken and is readable by every user (mode 0644)"),
      std::string::npos)
      << c.warnings[0];
  EXPECT_EQ(c.warnings[0].find(kToken), std::string::npos);

  // Group-readable by this process's own user's file: its group may be anyone.
  ::chmod(token.c_str(), 0640);
  c = loadConfig("", {"--HttpTokenFile", token});
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("readable by its group (mode 0640"), std::string::npos)
      << c.warnings[0];

  // The configuration file itself, when it holds a secret.
  auto conf = write("world.conf", "VxcubeApiKey = vx-key\nBccReporterPassword = pw\n", 0604);
  c = loadConfig(conf, {});
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find(conf + " holds VxcubeApiKey, BccReporterPassword"),
            std::string::npos)
      << c.warnings[0];

  // Mode 0600, or a readable file without secrets: nothing to say.
  ::chmod(token.c_str(), 0600);
  EXPECT_TRUE(loadConfig("", {"--HttpTokenFile", token}).warnings.empty());
  EXPECT_TRUE(loadConfig(write("plain.conf", "LogLevel = debug\n", 0644), {}).warnings.empty());
}

TEST_F(ConfigSecrets, DatabasePasswordFileGoesToLibpqOnlyForPostgresql) {
  auto e = test::configErrorOf("", {"--DatabasePasswordFile", write("db", "pw\n")});
  EXPECT_NE(e.find("only for a postgresql:// DatabaseUrl"), std::string::npos) << e;
  ::unsetenv("PGPASSWORD");
  auto c = loadConfig("", {"--DatabaseUrl", "postgresql://bccsink@127.0.0.1/bccsink",
                           "--DatabasePasswordFile", write("pw", "a pass word\n")});
  EXPECT_TRUE(c.warnings.empty());
  ASSERT_NE(::getenv("PGPASSWORD"), nullptr);
  EXPECT_STREQ(::getenv("PGPASSWORD"), "a pass word");
  ::unsetenv("PGPASSWORD");
  // A password in the URL is refused, and not echoed.
  e = test::configErrorOf("", {"--DatabaseUrl", "postgresql://bccsink:hunter2@127.0.0.1/bccsink"});
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
  EXPECT_NE(e.find("DatabasePasswordFile"), std::string::npos) << e;
}
