// SmtpClient::relay, SMTP mode's re-injection, against a scripted server
// (ScriptedSmtpServer.h): the original envelope replayed with only the extensions the
// server offers, XFORWARD, recipients by position, and the outcomes the hold stage acts on.

#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "report/delivery/SmtpClient.h"
#include "test/report/delivery/ScriptedSmtpServer.h"

namespace bccsink::report {
namespace {

using test::ScriptedSmtpServer;
using Strings = std::vector<std::string>;

const std::string kMessage =
    "Received: from mx (unknown [192.0.2.1])\r\n\tby filter (bccsink) with ESMTP id 01J\r\n"
    "From: <a@example.com>\r\nTo: <b@example.org>\r\nSubject: hi\r\n\r\n.dot line\r\nbody\r\n";
const std::string kFullEhlo =
    "250-relay.example.com\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
    "250-DSN\r\n250-XFORWARD NAME ADDR PROTO HELO\r\n250 SMTPUTF8";
const std::string kPlainEhlo = "250-relay.example.com\r\n250 PIPELINING";

SmtpSettings settingsFor(const std::string& server) {
  SmtpSettings s;
  s.server = server;
  s.heloName = "filter.test";
  s.tls = SmtpTls::No;
  s.connectTimeout = std::chrono::milliseconds(2000);
  s.replyTimeout = std::chrono::milliseconds(3000);
  return s;
}

RelayEnvelope sampleEnvelope() {
  RelayEnvelope e;
  e.sender = "a@example.com";
  e.recipients = {{"b@example.org", "SUCCESS,FAILURE", "rfc822;b@example.org"},
                  {"c@example.org", "", ""}};
  e.body = "8BITMIME";
  e.ret = "HDRS";
  e.envid = "QQ314159";
  e.xforward = {{"NAME", "mail.example.net"},
                {"ADDR", "192.0.2.7"},
                {"PORT", "4711"},  // not offered by the server: left out
                {"HELO", "mail.example.net"}};
  return e;
}

TEST(SmtpClientRelay, ReplaysTheEnvelopeWithEveryOfferedExtension) {
  ScriptedSmtpServer server({"220 relay ESMTP", kFullEhlo, "250 2.0.0 Ok", "250 2.1.0 Ok",
                             "250 2.1.5 Ok", "250 2.1.5 Ok", "354 go",
                             "250 2.0.0 Ok: queued as 9XYZ"});
  auto result = SmtpClient(settingsFor(server.address())).relay(sampleEnvelope(), kMessage);
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_EQ(result.receipt, "250 2.0.0 Ok: queued as 9XYZ");
  EXPECT_EQ(result.acceptedPositions, (std::vector<std::size_t>{0, 1}));
  const auto& got = server.received();
  ASSERT_GE(got.size(), 7u);
  EXPECT_EQ(got[1], "XFORWARD NAME=mail.example.net ADDR=192.0.2.7 HELO=mail.example.net");
  EXPECT_EQ(got[2], "MAIL FROM:<a@example.com> SIZE=" + std::to_string(kMessage.size()) +
                        " BODY=8BITMIME RET=HDRS ENVID=QQ314159");
  EXPECT_EQ(got[3], "RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.org");
  EXPECT_EQ(got[4], "RCPT TO:<c@example.org>");
  EXPECT_EQ(got[5], "DATA");
  // Byte for byte, dot-stuffed on the wire.
  EXPECT_EQ(got[6], smtpDataBlock(kMessage));
}

TEST(SmtpClientRelay, LeavesOutWhatTheServerDoesNotOffer) {
  ScriptedSmtpServer server({"220 relay ESMTP", kPlainEhlo, "250 2.1.0 Ok", "250 2.1.5 Ok",
                             "250 2.1.5 Ok", "354 go", "250 2.0.0 Ok"});
  auto result = SmtpClient(settingsFor(server.address())).relay(sampleEnvelope(), kMessage);
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  const auto& got = server.received();
  EXPECT_EQ(got[1], "MAIL FROM:<a@example.com>");
  EXPECT_EQ(got[2], "RCPT TO:<b@example.org>");
}

TEST(SmtpClientRelay, AnSmtputf8EnvelopeNeedsTheExtension) {
  auto envelope = sampleEnvelope();
  envelope.smtputf8 = true;
  envelope.sender = "ü@example.com";
  {
    ScriptedSmtpServer server({"220 relay ESMTP", kPlainEhlo});
    auto result = SmtpClient(settingsFor(server.address())).relay(envelope, kMessage);
    EXPECT_EQ(result.outcome, Outcome::PermFail);
    EXPECT_NE(result.reason.find("SMTPUTF8"), std::string::npos) << result.reason;
  }
  ScriptedSmtpServer server(
      {"220 relay ESMTP", kFullEhlo, "250 Ok", "250 Ok", "250 Ok", "250 Ok", "354 go", "250 Ok"});
  auto result = SmtpClient(settingsFor(server.address())).relay(envelope, kMessage);
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_NE(server.received()[2].find(" SMTPUTF8"), std::string::npos) << server.received()[2];
}

TEST(SmtpClientRelay, RecipientsAreReportedByPosition) {
  ScriptedSmtpServer server({"220 relay ESMTP", kPlainEhlo, "250 Ok",
                             "450 4.2.0 <b@example.org>: mailbox busy", "250 Ok", "354 go",
                             "250 Ok"});
  auto result = SmtpClient(settingsFor(server.address())).relay(sampleEnvelope(), kMessage);
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_EQ(result.acceptedPositions, (std::vector<std::size_t>{1}));
  ASSERT_EQ(result.rejected.size(), 1u);
  EXPECT_EQ(result.rejected[0].position, 0u);
  EXPECT_TRUE(result.rejected[0].temporary);
}

TEST(SmtpClientRelay, EveryRecipientRefusedForGoodIsPermFailWithPositions) {
  ScriptedSmtpServer server(
      {"220 relay ESMTP", kPlainEhlo, "250 Ok", "550 5.1.1 unknown", "550 5.1.1 unknown"});
  auto result = SmtpClient(settingsFor(server.address())).relay(sampleEnvelope(), kMessage);
  EXPECT_EQ(result.outcome, Outcome::PermFail);
  ASSERT_EQ(result.rejected.size(), 2u);
  EXPECT_EQ(result.rejected[1].position, 1u);
  EXPECT_TRUE(result.acceptedPositions.empty());
}

TEST(SmtpClientRelay, ARefusedXforwardIsAnOutcomeOfItsOwn) {
  ScriptedSmtpServer server({"220 relay ESMTP", kFullEhlo, "421 4.3.0 try later"});
  auto result = SmtpClient(settingsFor(server.address())).relay(sampleEnvelope(), kMessage);
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_NE(result.reason.find("XFORWARD"), std::string::npos) << result.reason;
}

TEST(SmtpClientRelay, AClosedPortIsTempFail) {
  std::string address;
  {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    address = "127.0.0.1:" + std::to_string(probe.address().port());
  }  // closed: nothing listens there now
  auto result = SmtpClient(settingsFor(address)).relay(sampleEnvelope(), kMessage);
  EXPECT_EQ(result.outcome, Outcome::TempFail) << result.reason;
}

TEST(SmtpClientRelay, AParameterThatWouldInjectIsRefusedBeforeConnecting) {
  auto envelope = sampleEnvelope();
  envelope.envid = "X\r\nRCPT TO:<evil@example.net>";
  auto result = SmtpClient(settingsFor("127.0.0.1:9")).relay(envelope, kMessage);
  EXPECT_EQ(result.outcome, Outcome::PermFail);
  EXPECT_NE(result.reason.find("MAIL parameters"), std::string::npos) << result.reason;
}

}  // namespace
}  // namespace bccsink::report

namespace bccsink::report {
namespace {

TEST(SmtpClientRelay, AChannelKeepsItsConnectionAcrossMessagesWithRset) {
  ScriptedSmtpServer server({"220 relay ESMTP", kPlainEhlo, "250 2.1.0 Ok", "250 2.1.5 Ok",
                             "250 2.1.5 Ok", "354 go", "250 2.0.0 Ok: queued as 1", "250 2.0.0 Ok",
                             "250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok", "354 go",
                             "250 2.0.0 Ok: queued as 2"});
  SmtpClient client(settingsFor(server.address()));
  {
    RelayChannel channel(client);
    auto first = channel.relay(sampleEnvelope(), kMessage);
    ASSERT_EQ(first.outcome, Outcome::Ok) << first.reason;
    EXPECT_TRUE(channel.connected());
    auto second = channel.relay(sampleEnvelope(), kMessage);
    ASSERT_EQ(second.outcome, Outcome::Ok) << second.reason;
    EXPECT_EQ(second.receipt, "250 2.0.0 Ok: queued as 2");
  }  // QUIT
  const auto& got = server.received();
  ASSERT_GE(got.size(), 13u);
  EXPECT_EQ(got[0], "EHLO filter.test");
  EXPECT_EQ(got[6], "RSET");
  EXPECT_EQ(got[7], "MAIL FROM:<a@example.com>");
  EXPECT_EQ(got[12], "QUIT");
}

TEST(SmtpClientRelay, AFailureEndsAChannelsConnection) {
  ScriptedSmtpServer server({"220 relay ESMTP", kPlainEhlo, "451 4.3.0 try later"});
  SmtpClient client(settingsFor(server.address()));
  RelayChannel channel(client);
  auto result = channel.relay(sampleEnvelope(), kMessage);
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_FALSE(channel.connected());
}

}  // namespace
}  // namespace bccsink::report

namespace bccsink::report {
namespace {

// A failure on a kept connection ends it; the result is read before it goes (this ran
// over freed memory once: run under ASan or valgrind to see it).
TEST(SmtpClientRelay, AFailureOnAKeptConnectionEndsItCleanly) {
  ScriptedSmtpServer server({"220 relay ESMTP", kPlainEhlo, "250 2.1.0 Ok", "250 2.1.5 Ok",
                             "250 2.1.5 Ok", "354 go", "250 2.0.0 Ok: queued as 1", "250 2.0.0 Ok",
                             "452 4.3.1 insufficient system storage"});
  SmtpClient client(settingsFor(server.address()));
  RelayChannel channel(client);
  ASSERT_EQ(channel.relay(sampleEnvelope(), kMessage).outcome, Outcome::Ok);
  auto second = channel.relay(sampleEnvelope(), kMessage);
  EXPECT_EQ(second.outcome, Outcome::TempFail);
  EXPECT_NE(second.reason.find("452 4.3.1"), std::string::npos) << second.reason;
  EXPECT_FALSE(channel.connected());
}

}  // namespace
}  // namespace bccsink::report

namespace bccsink::report {
namespace {

TEST(SmtpClientRelay, AUtf8OrcptGoesOutInASmtputf8Transaction) {
  auto envelope = sampleEnvelope();
  envelope.smtputf8 = true;
  envelope.recipients = {{"j\xc3\xb6rg@example.org", "", "utf-8;j\xc3\xb6rg@example.org"}};
  ScriptedSmtpServer server(
      {"220 relay ESMTP", kFullEhlo, "250 Ok", "250 Ok", "250 Ok", "354 go", "250 Ok"});
  auto result = SmtpClient(settingsFor(server.address())).relay(envelope, kMessage);
  ASSERT_EQ(result.outcome, Outcome::Ok) << result.reason;
  EXPECT_EQ(server.received()[3],
            "RCPT TO:<j\xc3\xb6rg@example.org> ORCPT=utf-8;j\xc3\xb6rg@example.org");
  envelope.smtputf8 = false;  // UTF-8 in a parameter of a plain transaction: refused
  EXPECT_EQ(SmtpClient(settingsFor("127.0.0.1:9")).relay(envelope, kMessage).outcome,
            Outcome::PermFail);
}

}  // namespace
}  // namespace bccsink::report
