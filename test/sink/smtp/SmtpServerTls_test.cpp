// STARTTLS (RFC 3207) on the event-driven listener with a self-signed certificate the
// suite makes with openssl: a delivery over TLS, the handshake as a client sends it
// (pipelined commands before it discarded), broken and silent handshakes, protocols
// below TLS 1.2 refused, static-RSA suites refused and ECDHE ones taken (TlsCiphers,
// TlsMinVersion), a large message, and shutdown over TLS.

#include <Poco/Net/SSLManager.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "sink/smtp/SmtpServer.h"
#include "test/sink/smtp/ServerTestKit.h"

namespace bccsink {
namespace {

using namespace std::chrono_literals;
using test::Client;
using test::DelayedStore;
namespace fs = std::filesystem;

const std::string kEhloWithTls =
    "250-sink.test\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-STARTTLS\r\n250 SMTPUTF8\r\n";
const std::string kReady = "220 2.0.0 Ready to start TLS\r\n";

class SmtpServerTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    Poco::Net::initializeSSL();
    auto tmpl = (fs::temp_directory_path() / "bccsink-server-tls-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=sink.test -days 1 -keyout " + dir_ +
        "/key.pem -out " + dir_ + "/cert.pem >/dev/null 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0)
        << "openssl could not make a certificate: run deploy/install-deps.sh";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  SmtpServerTls() {
    settings.socket = "127.0.0.1:0";
    settings.commandTimeout = 30s;
    settings.session.hostname = "sink.test";
    settings.session.domains = {"bcc.test"};
    settings.tlsCertificate = dir_ + "/cert.pem";
    settings.tlsKey = dir_ + "/key.pem";
    client_ = SSL_CTX_new(TLS_client_method());
  }
  ~SmtpServerTls() override {
    if (server) server->stop();
    SSL_CTX_free(client_);
  }
  void start() {
    server = std::make_unique<SmtpServer>(settings, store);
    server->start();
    address = server->boundAddress();
  }
  // Greeting, EHLO, STARTTLS, handshake: true when all went as a client expects.
  bool upgrade(Client& c) {
    if (c.reply() != "220 sink.test ESMTP bccsink\r\n") return false;
    c.send("EHLO client.test\r\n");
    if (c.reply() != kEhloWithTls) return false;
    c.send("STARTTLS\r\n");
    return c.reply() == kReady && c.startTls(client_);
  }

  static inline std::string dir_;
  ServerSettings settings;
  DelayedStore store{10ms};
  std::unique_ptr<SmtpServer> server;
  std::string address;
  SSL_CTX* client_ = nullptr;
};

TEST_F(SmtpServerTls, ADeliveryOverTlsIsRecordedAsEsmtps) {
  start();
  Client c(address);
  ASSERT_TRUE(upgrade(c));
  c.send("EHLO client.test\r\n");
  auto ehlo = c.reply();
  EXPECT_EQ(ehlo.find("STARTTLS"), std::string::npos) << "offered once only";
  c.send("MAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\nDATA\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.reply().substr(0, 4), "354 ");
  c.send("Subject: secret\r\n\r\nover TLS\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(c.reply().rfind("250 2.0.0 Ok: queued as", 0), 0u);
  EXPECT_EQ(c.reply(), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(c.closedByServer());
  auto stored = store.committed();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_NE(stored[0].find("with ESMTPS id"), std::string::npos);
  EXPECT_NE(stored[0].find("\r\n\r\nover TLS\r\n"), std::string::npos);
}

TEST_F(SmtpServerTls, CommandsPipelinedBeforeTheHandshakeAreDiscarded) {
  start();
  Client c(address);
  ASSERT_EQ(c.reply().substr(0, 4), "220 ");
  // CVE-2011-0411: a MAIL injected behind STARTTLS must not count after the handshake.
  c.send("EHLO client.test\r\nSTARTTLS\r\nMAIL FROM:<evil@attacker.test>\r\n");
  EXPECT_EQ(c.reply(), kEhloWithTls);
  EXPECT_EQ(c.reply(), kReady);
  ASSERT_TRUE(c.startTls(client_));
  c.send("RCPT TO:<watch@bcc.test>\r\n");
  EXPECT_EQ(c.reply(), "503 5.5.1 Need MAIL before RCPT\r\n");
}

TEST_F(SmtpServerTls, AcceptsTls12AndRefusesTls11) {
  start();
  SSL_CTX_set_security_level(client_, 0);
  SSL_CTX_set_max_proto_version(client_, TLS1_1_VERSION);
  Client old(address);
  EXPECT_FALSE(upgrade(old));
  EXPECT_TRUE(old.closedByServer());

  SSL_CTX_set_max_proto_version(client_, TLS1_2_VERSION);
  Client c(address);
  ASSERT_TRUE(upgrade(c));
  c.send("NOOP\r\n");
  EXPECT_EQ(c.reply(), "250 2.0.0 Ok\r\n");
}

// Issue 18, finding 11: OpenSSL's default list offered AES128-SHA (no forward secrecy).
TEST_F(SmtpServerTls, AStaticRsaClientIsRefused) {
  start();
  SSL_CTX_set_max_proto_version(client_, TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(client_, "AES128-SHA:AES256-GCM-SHA384"), 1);
  Client c(address);
  EXPECT_FALSE(upgrade(c));
  EXPECT_TRUE(c.closedByServer());
}

TEST_F(SmtpServerTls, EcdheOverTls12AndTls13IsAccepted) {
  start();
  SSL_CTX_set_max_proto_version(client_, TLS1_2_VERSION);
  ASSERT_EQ(SSL_CTX_set_cipher_list(client_, "ECDHE-RSA-AES128-GCM-SHA256"), 1);
  Client tls12(address);
  ASSERT_TRUE(upgrade(tls12));
  tls12.send("NOOP\r\n");
  EXPECT_EQ(tls12.reply(), "250 2.0.0 Ok\r\n");

  SSL_CTX_set_max_proto_version(client_, 0);
  SSL_CTX_set_min_proto_version(client_, TLS1_3_VERSION);
  Client tls13(address);
  ASSERT_TRUE(upgrade(tls13));
  tls13.send("NOOP\r\n");
  EXPECT_EQ(tls13.reply(), "250 2.0.0 Ok\r\n");
}

TEST_F(SmtpServerTls, TlsMinVersion13RefusesTls12) {
  settings.tlsProfile.minVersion = "1.3";
  start();
  SSL_CTX_set_max_proto_version(client_, TLS1_2_VERSION);
  Client c(address);
  EXPECT_FALSE(upgrade(c));
  EXPECT_TRUE(c.closedByServer());
}

TEST_F(SmtpServerTls, AnUnusableCipherListStopsTheStartNamingTlsCiphers) {
  settings.tlsProfile.ciphers = "NO-SUCH-CIPHER";
  try {
    start();
    FAIL() << "started";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("TlsCiphers NO-SUCH-CIPHER"), std::string::npos)
        << e.what();
  }
}

TEST_F(SmtpServerTls, GarbageInsteadOfAHandshakeClosesOnlyThatConnection) {
  start();
  Client bad(address);
  ASSERT_EQ(bad.reply().substr(0, 4), "220 ");
  bad.send("EHLO x\r\nSTARTTLS\r\n");
  bad.reply();
  EXPECT_EQ(bad.reply(), kReady);
  bad.send("this is not a ClientHello\r\n\r\n\r\n");
  EXPECT_TRUE(bad.closedByServer());

  Client good(address);
  ASSERT_TRUE(upgrade(good));
  good.send("NOOP\r\n");
  EXPECT_EQ(good.reply(), "250 2.0.0 Ok\r\n");
}

TEST_F(SmtpServerTls, AClientSilentDuringTheHandshakeIsClosedAtTheTimeout) {
  settings.commandTimeout = 1s;
  start();
  Client c(address);
  ASSERT_EQ(c.reply().substr(0, 4), "220 ");
  c.send("EHLO x\r\nSTARTTLS\r\n");
  c.reply();
  EXPECT_EQ(c.reply(), kReady);
  auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closedByServer());  // no handshake, no 421 in plain text either
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST_F(SmtpServerTls, ALargeMessageOverTlsIsStoredExactly) {
  start();
  std::string body = "Subject: large\r\n\r\n";
  while (body.size() < (3u << 20)) body += std::string(500, 'y') + "\r\n";
  Client c(address);
  ASSERT_TRUE(upgrade(c));
  c.send("EHLO client.test\r\n");
  c.reply();
  c.send("MAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\nDATA\r\n");
  for (int i = 0; i < 3; ++i) c.reply();
  ASSERT_TRUE(c.send(body + ".\r\n"));
  EXPECT_EQ(c.reply().rfind("250 2.0.0 Ok: queued as", 0), 0u);
  auto stored = store.committed();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].substr(stored[0].find("Subject: large")), body);
}

TEST_F(SmtpServerTls, StopTellsATlsClient421OverTls) {
  start();
  Client c(address);
  ASSERT_TRUE(upgrade(c));
  server->stop();
  EXPECT_EQ(c.line(), "421 4.3.2 sink.test Service shutting down\r\n");
  EXPECT_TRUE(c.closedByServer());
}

}  // namespace
}  // namespace bccsink
