// SmtpClient with STARTTLS (RFC 3207) against a scripted server holding a self-signed
// certificate that the suite makes with openssl, and against a real server: Postfix's
// smtp-sink, which writes each message it takes to a file.

#include <Poco/Net/Context.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "report/delivery/SmtpClient.h"
#include "test/TempDir.h"
#include "test/report/delivery/ScriptedSmtpServer.h"

namespace bccsink::report {
namespace {

using test::ScriptedSmtpServer;
using Strings = std::vector<std::string>;
namespace fs = std::filesystem;

const std::string kMessage =
    "From: bccsink <reporter@example.com>\r\nTo: admin@example.com\r\n"
    "Subject: report\r\n\r\nOne suspicious attachment.\r\n.a line that starts with a dot\r\n";

SmtpSettings settingsFor(const std::string& server) {
  SmtpSettings s;
  s.server = server;
  s.heloName = "bccsink.test";
  s.connectTimeout = std::chrono::milliseconds(2000);
  s.replyTimeout = std::chrono::milliseconds(3000);
  return s;
}

DeliveryResult deliver(const SmtpSettings& s) {
  return SmtpClient(s).send("reporter@example.com", {"admin@example.com"}, kMessage);
}

class SmtpClientTls : public ::testing::Test {
 protected:
  // One key and self-signed certificate (CN=localhost) for the whole suite.
  static void SetUpTestSuite() {
    Poco::Net::initializeSSL();
    auto tmpl = (fs::temp_directory_path() / "bccsink-smtp-tls-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 "
        "-keyout " +
        key() + " -out " + cert() + " >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0)
        << "openssl could not make a certificate: run deploy/install-deps.sh";
    server_ = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, key(), cert(), "",
                                     Poco::Net::Context::VERIFY_NONE);
  }
  static void TearDownTestSuite() {
    server_ = nullptr;
    fs::remove_all(dir_);
  }
  static std::string key() { return dir_ + "/key.pem"; }
  static std::string cert() { return dir_ + "/cert.pem"; }

  static inline std::string dir_;
  static inline Poco::Net::Context::Ptr server_;
};

// The dialogue of a server that offers STARTTLS and, as many do, AUTH only under TLS.
Strings tlsScript(bool auth) {
  Strings script{"220 mx ESMTP", "250-mx\r\n250-STARTTLS\r\n250 SIZE 100000",
                 "220 2.0.0 Ready to start TLS", "!tls",
                 "250-mx\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 100000"};
  if (auth) script.push_back("235 2.7.0 ok");
  for (const char* reply : {"250 ok", "250 ok", "354 go", "250 2.0.0 queued as TLS1"})
    script.push_back(reply);
  return script;
}

TEST_F(SmtpClientTls, StartsTlsWhenOfferedAndAsksEhloAgain) {
  ScriptedSmtpServer server(tlsScript(true), server_);
  auto s = settingsFor(server.address());
  s.verifyTls = false;
  s.user = "reporter@example.com";
  s.password = "s3cret pw";
  auto result = deliver(s);
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_TRUE(server.tlsDone());
  const auto& got = server.received();
  ASSERT_GE(got.size(), 4u);
  EXPECT_EQ(Strings(got.begin(), got.begin() + 3),
            (Strings{"EHLO bccsink.test", "STARTTLS", "EHLO bccsink.test"}));
  EXPECT_EQ(got[3].rfind("AUTH PLAIN ", 0), 0u);
  EXPECT_EQ(got.at(7), smtpDataBlock(kMessage));
}

TEST_F(SmtpClientTls, RequiredTlsThatIsNotOfferedIsTempFail) {
  // TempFail, as Postfix's "encrypt" level defers: see SmtpClient.h.
  ScriptedSmtpServer server({"220 mx", "250-mx\r\n250 SIZE 100000"});
  auto s = settingsFor(server.address());
  s.tls = SmtpTls::Required;
  auto result = deliver(s);
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_NE(result.reason.find("does not offer STARTTLS"), std::string::npos) << result.reason;
  EXPECT_EQ(server.received(), (Strings{"EHLO bccsink.test", "QUIT"}));
}

TEST_F(SmtpClientTls, RequiredTlsRefusedWith454IsTempFail) {
  ScriptedSmtpServer server({"220 mx", "250-mx\r\n250 STARTTLS", "454 4.7.0 TLS not available"});
  auto s = settingsFor(server.address());
  s.tls = SmtpTls::Required;
  auto result = deliver(s);
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_NE(result.reason.find("454 4.7.0"), std::string::npos) << result.reason;
}

TEST_F(SmtpClientTls, AutoGoesOnInClearAfter454) {
  ScriptedSmtpServer server({"220 mx", "250-mx\r\n250 STARTTLS", "454 4.7.0 TLS not available",
                             "250 ok", "250 ok", "354 go", "250 queued"});
  auto result = deliver(settingsFor(server.address()));
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_EQ(server.received().at(2), "MAIL FROM:<reporter@example.com>");
}

TEST_F(SmtpClientTls, AnUntrustedCertificateFailsWhenVerifying) {
  ScriptedSmtpServer server(tlsScript(false), server_);
  auto result = deliver(settingsFor(server.address()));  // verify on, the system's CAs
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_NE(result.reason.find("TLS handshake failed"), std::string::npos) << result.reason;
  EXPECT_EQ(server.received(), (Strings{"EHLO bccsink.test", "STARTTLS"}));
}

// Issue 18, finding 11: the client offers the TlsCiphers profile only (ECDHE by default),
// so a server that speaks static RSA only (AES128-SHA) gets no handshake; a profile that
// lists it does.
TEST_F(SmtpClientTls, AStaticRsaOnlyServerGetsNoHandshakeUnderTheDefaultProfile) {
  Poco::Net::Context::Ptr rsaOnly =
      new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, key(), cert(), "",
                             Poco::Net::Context::VERIFY_NONE, 9, false, "AES128-SHA");
  SSL_CTX_set_max_proto_version(rsaOnly->sslContext(), TLS1_2_VERSION);
  auto s = settingsFor("");
  s.verifyTls = false;
  s.tls = SmtpTls::Required;
  {
    ScriptedSmtpServer server(tlsScript(false), rsaOnly);
    s.server = server.address();
    auto result = deliver(s);
    EXPECT_EQ(result.outcome, Outcome::TempFail) << "static RSA negotiated";
    EXPECT_NE(result.reason.find("TLS handshake failed"), std::string::npos) << result.reason;
  }
  ScriptedSmtpServer server(tlsScript(false), rsaOnly);
  s.server = server.address();
  s.tlsProfile.ciphers = "ECDHE+AESGCM:AES128-SHA";
  auto result = deliver(s);
  EXPECT_EQ(result.outcome, Outcome::Ok) << result.reason;
}

TEST_F(SmtpClientTls, TheCaFileMakesTheCertificateTrusted) {
  ScriptedSmtpServer server(tlsScript(false), server_);
  auto s = settingsFor(server.address());
  s.tls = SmtpTls::Required;
  s.caFile = cert();
  auto result = deliver(s);
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_EQ(result.receipt, "250 2.0.0 queued as TLS1");
}

// ---- a real server ----

class SmtpSink {
 public:
  explicit SmtpSink(const std::string& dumpDir) {
    const std::string program = "/usr/sbin/smtp-sink";
    if (::access(program.c_str(), X_OK) != 0)
      throw std::runtime_error(program +
                               " (Postfix) is missing: run deploy/install-deps.sh as root");
    {
      Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
      port_ = probe.address().port();
    }
    // smtp-sink must drop to a user when it runs as root (-u); name the one we are.
    const passwd* me = ::getpwuid(::geteuid());
    std::vector<std::string> args{program,
                                  "-d",
                                  dumpDir + "/%Y%m%d%H/%M.",
                                  "-u",
                                  me ? me->pw_name : "root",
                                  "127.0.0.1:" + std::to_string(port_),
                                  "10"};
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // gone with the test process, even on a crash
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(program.c_str(), argv.data());
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {  // ready once it takes connections (5 s at most)
      try {
        Poco::Net::StreamSocket probe(Poco::Net::SocketAddress("127.0.0.1", port_));
        return;
      } catch (const Poco::Exception&) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    throw std::runtime_error("smtp-sink did not start on port " + std::to_string(port_));
  }
  ~SmtpSink() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

std::string dumpedMessage(const std::string& dir) {
  for (int i = 0; i < 40; ++i) {  // the dump is closed when the transaction ends
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      if (text.str().find("starts with a dot") != std::string::npos) return text.str();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "";
}

TEST(SmtpClientSink, DeliversToPostfixSmtpSink) {
  test::TempDir dir;
  std::unique_ptr<SmtpSink> sink;
  try {
    sink = std::make_unique<SmtpSink>(dir.path());
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  auto result = deliver(settingsFor(sink->address()));
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  std::string dump = dumpedMessage(dir.path());
  ASSERT_FALSE(dump.empty()) << "smtp-sink wrote no file under " << dir.path();
  EXPECT_NE(dump.find("X-Rcpt-Args: <admin@example.com>"), std::string::npos) << dump;
  EXPECT_NE(dump.find("X-Helo-Args: bccsink.test"), std::string::npos) << dump;
  // The body as sent, its dot-stuffing undone by the server; smtp-sink writes LF line ends.
  EXPECT_NE(dump.find("Subject: report\n\nOne suspicious attachment.\n.a line that starts with a "
                      "dot\n"),
            std::string::npos)
      << dump;
}

}  // namespace
}  // namespace bccsink::report
