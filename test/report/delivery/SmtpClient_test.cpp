// SmtpClient against a scripted server (ScriptedSmtpServer.h): the dialogue, the outcome
// of each kind of reply, AUTH, SIZE, timeouts and a unix socket. TLS and a real server
// (Postfix's smtp-sink) are in SmtpClientTls_test.cpp.

#include "report/delivery/SmtpClient.h"

#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "report/delivery/SmtpConnection.h"
#include "test/TempDir.h"
#include "test/report/delivery/ScriptedSmtpServer.h"

namespace bccsink::report {
namespace {

using test::ScriptedSmtpServer;
using Strings = std::vector<std::string>;

const std::string kMessage =
    "From: bccsink <reporter@example.com>\r\nTo: admin@example.com\r\n"
    "Subject: report\r\n\r\nOne suspicious attachment.\r\n";
const std::string kEhlo = "250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250 8BITMIME";
const std::string kPassword = "s3cret pw";

SmtpSettings settingsFor(const std::string& server) {
  SmtpSettings s;
  s.server = server;
  s.heloName = "bccsink.test";
  s.connectTimeout = std::chrono::milliseconds(2000);
  s.replyTimeout = std::chrono::milliseconds(3000);
  return s;
}

SmtpSettings withPassword(SmtpSettings s) {
  s.user = "reporter@example.com";
  s.password = kPassword;
  return s;
}

DeliveryResult deliver(const SmtpSettings& s, const Strings& to = {"admin@example.com"},
                       const std::string& message = kMessage) {
  return SmtpClient(s).send("reporter@example.com", to, message);
}

bool contains(const Strings& lines, const std::string& line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

TEST(SmtpClient, DeliversAfterAMultiLineEhlo) {
  ScriptedSmtpServer server({"220 mx.example.com ESMTP", kEhlo, "250 2.1.0 Ok", "250 2.1.5 Ok",
                             "354 End data with <CR><LF>.<CR><LF>",
                             "250 2.0.0 Ok: queued as 4ABC"});
  auto result = deliver(settingsFor(server.address()));
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_EQ(result.receipt, "250 2.0.0 Ok: queued as 4ABC");
  EXPECT_EQ(result.accepted, Strings{"admin@example.com"});
  EXPECT_TRUE(result.rejected.empty());
  EXPECT_EQ(server.received(),
            (Strings{"EHLO bccsink.test",
                     "MAIL FROM:<reporter@example.com> SIZE=" + std::to_string(kMessage.size()),
                     "RCPT TO:<admin@example.com>", "DATA", kMessage + ".\r\n", "QUIT"}));
}

TEST(SmtpClient, DotStuffsLinesThatStartWithADot) {
  ScriptedSmtpServer server({"220 mx", "250 mx", "250 ok", "250 ok", "354 go", "250 queued"});
  auto result = deliver(settingsFor(server.address()), {"admin@example.com"},
                        "Subject: x\r\n\r\n.hidden\r\n..two\r\n.\r\nlast line");
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_EQ(server.received().at(4),
            "Subject: x\r\n\r\n..hidden\r\n...two\r\n..\r\nlast line\r\n.\r\n");
}

TEST(SmtpClient, DataBlockMakesEveryLineEndCrlf) {
  EXPECT_EQ(smtpDataBlock("a\nb\rc\r\n.d"), "a\r\nb\r\nc\r\n..d\r\n.\r\n");
  EXPECT_EQ(smtpDataBlock(".\r\n"), "..\r\n.\r\n");  // never an early end of data
  EXPECT_EQ(smtpDataBlock(""), ".\r\n");
}

TEST(SmtpClient, FallsBackToHeloWhenEhloIsRefused) {
  ScriptedSmtpServer server(
      {"220 mx", "502 5.5.2 what?", "250 mx", "250 ok", "250 ok", "354 go", "250 queued"});
  auto result = deliver(settingsFor(server.address()));
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_EQ(server.received().at(1), "HELO bccsink.test");
  EXPECT_EQ(server.received().at(2), "MAIL FROM:<reporter@example.com>");  // no SIZE= after HELO
}

TEST(SmtpClient, DeliversToTheAcceptedWhenOneRecipientIsRefused) {
  ScriptedSmtpServer server({"220 mx", kEhlo, "250 ok", "250 2.1.5 ok",
                             "550 5.1.1 <gone@example.com>: user unknown", "354 go", "250 queued"});
  auto result = deliver(settingsFor(server.address()), {"admin@example.com", "gone@example.com"});
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_EQ(result.accepted, Strings{"admin@example.com"});
  ASSERT_EQ(result.rejected.size(), 1u);
  EXPECT_EQ(result.rejected[0].address, "gone@example.com");
  EXPECT_EQ(result.rejected[0].reply, "550 5.1.1 <gone@example.com>: user unknown");
  EXPECT_FALSE(result.rejected[0].temporary);
  EXPECT_NE(result.reason.find("<gone@example.com> 550 5.1.1"), std::string::npos) << result.reason;
  EXPECT_TRUE(contains(server.received(), "DATA"));
}

TEST(SmtpClient, EveryRecipientRefusedIsPermFailWithoutData) {
  ScriptedSmtpServer server(
      {"220 mx", kEhlo, "250 ok", "550 5.1.1 unknown", "553 5.7.1 relay denied"});
  auto result = deliver(settingsFor(server.address()), {"a@example.com", "b@example.com"});
  EXPECT_EQ(result.outcome, Outcome::PermFail) << result.reason;
  EXPECT_TRUE(result.accepted.empty());
  EXPECT_EQ(result.rejected.size(), 2u);
  EXPECT_NE(result.reason.find("553 5.7.1 relay denied"), std::string::npos) << result.reason;
  EXPECT_FALSE(contains(server.received(), "DATA"));
  EXPECT_EQ(server.received().back(), "QUIT");
}

TEST(SmtpClient, EveryRecipientRefusedWithOne4xxIsTempFail) {
  ScriptedSmtpServer server({"220 mx", kEhlo, "250 ok", "550 5.1.1 unknown", "450 4.2.0 later"});
  auto result = deliver(settingsFor(server.address()), {"a@example.com", "b@example.com"});
  EXPECT_EQ(result.outcome, Outcome::TempFail) << result.reason;
}

TEST(SmtpClient, Greeting421IsTempFailWithoutQuit) {
  ScriptedSmtpServer server({"421 4.3.2 mx.example.com busy, try later", "!close"});
  auto result = deliver(settingsFor(server.address()));
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_NE(result.reason.find("421 4.3.2 mx.example.com busy"), std::string::npos)
      << result.reason;
  EXPECT_TRUE(server.received().empty());
}

TEST(SmtpClient, Data452IsTempFail) {
  ScriptedSmtpServer server(
      {"220 mx", kEhlo, "250 ok", "250 ok", "452 4.3.1 Insufficient system storage"});
  auto result = deliver(settingsFor(server.address()));
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_NE(result.reason.find("DATA: 452 4.3.1"), std::string::npos) << result.reason;
  EXPECT_TRUE(result.accepted.empty());  // nobody got it
  EXPECT_EQ(server.received().back(), "QUIT");
}

TEST(SmtpClient, Mail550AndFinalDot554ArePermFail) {
  ScriptedSmtpServer mail({"220 mx", kEhlo, "550 5.7.1 sender rejected"});
  EXPECT_EQ(deliver(settingsFor(mail.address())).outcome, Outcome::PermFail);
  ScriptedSmtpServer dot({"220 mx", kEhlo, "250 ok", "250 ok", "354 go", "554 5.7.1 spam"});
  auto result = deliver(settingsFor(dot.address()));
  EXPECT_EQ(result.outcome, Outcome::PermFail);
  EXPECT_NE(result.reason.find("554 5.7.1 spam"), std::string::npos) << result.reason;
  EXPECT_TRUE(result.receipt.empty());
}

TEST(SmtpClient, AuthPlainSendsTheExactRfc4616Token) {
  ScriptedSmtpServer server({"220 mx", "250-mx\r\n250-AUTH LOGIN PLAIN CRAM-MD5\r\n250 SIZE",
                             "235 2.7.0 Authentication successful", "250 ok", "250 ok", "354 go",
                             "250 queued"});
  auto result = deliver(withPassword(settingsFor(server.address())));  // loopback: no TLS needed
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  // base64("\0reporter@example.com\0s3cret pw"), PLAIN preferred over LOGIN.
  EXPECT_EQ(server.received().at(1), "AUTH PLAIN AHJlcG9ydGVyQGV4YW1wbGUuY29tAHMzY3JldCBwdw==");
}

TEST(SmtpClient, AuthLoginWhenPlainIsNotOffered) {
  ScriptedSmtpServer server({"220 mx", "250-mx\r\n250 AUTH=LOGIN", "334 VXNlcm5hbWU6",
                             "334 UGFzc3dvcmQ6", "235 2.7.0 ok", "250 ok", "250 ok", "354 go",
                             "250 queued"});
  auto result = deliver(withPassword(settingsFor(server.address())));
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  const auto& got = server.received();
  EXPECT_EQ(Strings(got.begin() + 1, got.begin() + 4),
            (Strings{"AUTH LOGIN", "cmVwb3J0ZXJAZXhhbXBsZS5jb20=", "czNjcmV0IHB3"}));
}

TEST(SmtpClient, Auth535IsPermFailAndTheReasonNeverHoldsThePassword) {
  // A server that echoes what it got must not bring the password into the reason.
  ScriptedSmtpServer server(
      {"220 mx", "250-mx\r\n250 AUTH PLAIN",
       "535 5.7.8 bad credentials for s3cret pw AHJlcG9ydGVyQGV4YW1wbGUuY29tAHMzY3JldCBwdw=="});
  auto result = deliver(withPassword(settingsFor(server.address())));
  EXPECT_EQ(result.outcome, Outcome::PermFail);
  EXPECT_NE(result.reason.find("535 5.7.8 bad credentials"), std::string::npos) << result.reason;
  EXPECT_EQ(result.reason.find(kPassword), std::string::npos) << result.reason;
  EXPECT_EQ(result.reason.find("AHJlcG9y"), std::string::npos) << result.reason;
  EXPECT_EQ(result.reason.find("AUTH PLAIN A"), std::string::npos) << result.reason;
  EXPECT_FALSE(contains(server.received(), "MAIL FROM:<reporter@example.com>"));
}

TEST(SmtpClient, PasswordIsNeverSentInClearOverANetwork) {
  // The server is on 127.0.0.1, taken for a host across a network: no AUTH line at all
  // without TLS, and a reason that names the setting.
  ScriptedSmtpServer server({"220 mx", "250-mx\r\n250 AUTH PLAIN LOGIN"});
  auto s = withPassword(settingsFor(server.address()));
  s.loopbackIsNetworkForTest = true;
  auto result = deliver(s);
  EXPECT_EQ(result.outcome, Outcome::PermFail);
  EXPECT_NE(result.reason.find("BccReporterPassword"), std::string::npos) << result.reason;
  EXPECT_NE(result.reason.find("offers no STARTTLS"), std::string::npos) << result.reason;
  EXPECT_EQ(server.received(), (Strings{"EHLO bccsink.test", "QUIT"}));
}

TEST(SmtpClient, MessageOverTheAdvertisedSizeIsPermFailWithoutSending) {
  ScriptedSmtpServer server({"220 mx", "250-mx\r\n250 SIZE 64"});
  auto result = deliver(settingsFor(server.address()));
  EXPECT_EQ(result.outcome, Outcome::PermFail);
  EXPECT_NE(result.reason.find("at most 64"), std::string::npos) << result.reason;
  EXPECT_EQ(server.received(), (Strings{"EHLO bccsink.test", "QUIT"}));
}

TEST(SmtpClient, ServerThatHangsIsTempFailWithinTheReplyTimeout) {
  ScriptedSmtpServer server({"220 mx", kEhlo, "!hang"});
  auto s = settingsFor(server.address());
  s.replyTimeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto result = deliver(s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_NE(result.reason.find("no reply to MAIL FROM:<reporter@example.com> SIZE=" +
                               std::to_string(kMessage.size()) + " within 0.3 s"),
            std::string::npos)
      << result.reason;
  EXPECT_LT(took, std::chrono::milliseconds(1500));
}

TEST(SmtpClient, ConnectionRefusedIsTempFail) {
  std::uint16_t port = 0;
  {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    port = probe.address().port();
  }
  auto result = deliver(settingsFor("127.0.0.1:" + std::to_string(port)));
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_NE(result.reason.find("cannot connect"), std::string::npos) << result.reason;
}

TEST(SmtpClient, DeliversOverAUnixSocket) {
  test::TempDir dir;
  ScriptedSmtpServer server({"220 mx", kEhlo, "250 ok", "250 ok", "354 go", "250 queued"}, nullptr,
                            dir / "smtp.sock");
  auto result = deliver(withPassword(settingsFor(server.address())),  // local: AUTH allowed
                        {"admin@example.com"});
  EXPECT_EQ(result.outcome, Outcome::PermFail);  // but this server offers no AUTH
  EXPECT_NE(result.reason.find("offers no AUTH"), std::string::npos) << result.reason;

  ScriptedSmtpServer again({"220 mx", kEhlo, "250 ok", "250 ok", "354 go", "250 queued"}, nullptr,
                           dir / "smtp2.sock");
  result = deliver(settingsFor(again.address()));
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_EQ(again.received().at(4), kMessage + ".\r\n");
}

TEST(SmtpClient, AddressesThatCouldInjectCommandsAreRefusedBeforeConnecting) {
  SmtpClient client(settingsFor("127.0.0.1:1"));
  auto result =
      client.send("reporter@example.com", {"a@example.com>\r\nRCPT TO:<x@evil"}, kMessage);
  EXPECT_EQ(result.outcome, Outcome::PermFail);
  EXPECT_EQ(result.reason.find('\n'), std::string::npos);
  EXPECT_EQ(client.send("reporter@example.com", {}, kMessage).outcome, Outcome::PermFail);
}

TEST(SmtpClient, SettingsThatCannotWorkAreRefusedAtStart) {
  for (const char* server :
       {"", "mx.example.com", "::1:25", "[::1:25", "mx:0", "mx:65536", "mx:smtp", "unix:"}) {
    EXPECT_THROW(SmtpClient(settingsFor(server)), std::invalid_argument) << server;
  }
  EXPECT_NO_THROW(SmtpClient(settingsFor("[::1]:25")));
  auto s = settingsFor("127.0.0.1:25");
  s.password = "x";
  EXPECT_THROW(SmtpClient{s}, std::invalid_argument);  // a password without BccReporterAddress
  s = settingsFor("127.0.0.1:25");
  s.caFile = "/nonexistent/ca.pem";
  try {
    SmtpClient{s};
    ADD_FAILURE() << "no error for a missing CA file";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("BccSmtpCaFile"), std::string::npos) << e.what();
  }
  EXPECT_EQ(parseSmtpTls("Required"), SmtpTls::Required);
  EXPECT_EQ(parseSmtpTls("auto"), SmtpTls::Auto);
  EXPECT_EQ(parseSmtpTls("no"), SmtpTls::No);
  EXPECT_EQ(parseSmtpTls("yes"), std::nullopt);
}

TEST(SmtpClient, AServersRepliesReachTheReasonAsPrintableAsciiOnly) {
  SmtpReply reply{550, {"5.1.1 bad \x01\xff\xc3\xa4 user\r\n", "second"}};
  EXPECT_EQ(reply.text(), "550 5.1.1 bad ???? user?? second");
  SmtpReply longReply{250, {std::string(1000, 'x')}};
  EXPECT_EQ(longReply.text().size(), kMaxServerText);
  EXPECT_EQ(longReply.text().substr(kMaxServerText - 3), "...");
}

}  // namespace
}  // namespace bccsink::report
