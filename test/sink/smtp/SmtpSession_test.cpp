#include "sink/smtp/SmtpSession.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sink/smtp/MessageStore.h"

using bccsink::Envelope;
using bccsink::MessageStore;
using bccsink::MessageWriter;
using bccsink::Outcome;
using bccsink::SessionSettings;
using bccsink::SmtpSession;
using bccsink::StoreResult;

namespace {

// --- An in-memory store that records everything and fails on demand ---------------------

struct Committed {
  std::string id;
  std::string bytes;
  Envelope envelope;
  std::string messageId;
};

class FakeStore : public MessageStore {
 public:
  // What the store should do.
  Outcome admitOutcome = Outcome::Ok;
  std::string admitDetail = "pending queue full";
  bool admitNoRoom = true;  // false: a local error (the database is corrupt)
  bool failOpen = false;
  int writesBeforeFailure = -1;  // successful write() calls before they fail; < 0: never
  Outcome commitOutcome = Outcome::Ok;
  std::string commitDetail = "database error";

  // What happened.
  std::vector<std::uint64_t> admitted;  // declaredSize of each admit() call
  int opened = 0;
  int commitCalls = 0;
  int discarded = 0;  // writers destroyed without a successful commit
  std::vector<Committed> committed;

  StoreResult admit(std::uint64_t declaredSize) override {
    admitted.push_back(declaredSize);
    if (admitOutcome != Outcome::Ok) return {admitOutcome, admitDetail, admitNoRoom};
    return {};
  }

  std::unique_ptr<MessageWriter> open(StoreResult& result) override;
};

class FakeWriter : public MessageWriter {
 public:
  FakeWriter(FakeStore& store, std::string id) : store_(store), id_(std::move(id)) {}
  ~FakeWriter() override {
    if (!committed_) ++store_.discarded;
  }

  const std::string& id() const override { return id_; }

  bool write(std::string_view bytes) override {
    if (store_.writesBeforeFailure == 0) return false;
    if (store_.writesBeforeFailure > 0) --store_.writesBeforeFailure;
    bytes_.append(bytes);
    return true;
  }

  void commit(const Envelope& envelope, const std::string& headerMessageId, Done done) override {
    ++store_.commitCalls;
    if (store_.commitOutcome != Outcome::Ok)
      return done({store_.commitOutcome, store_.commitDetail});
    committed_ = true;
    store_.committed.push_back({id_, bytes_, envelope, headerMessageId});
    done({});
  }

 private:
  FakeStore& store_;
  std::string id_;
  std::string bytes_;
  bool committed_ = false;
};

std::unique_ptr<MessageWriter> FakeStore::open(StoreResult& result) {
  if (failOpen) {
    result = {Outcome::TempFail, "cannot create a spool file"};
    return nullptr;
  }
  ++opened;
  return std::make_unique<FakeWriter>(*this, "MSG" + std::to_string(opened));
}

// --- Expected replies ---------------------------------------------------------------------

constexpr const char* kClientIp = "192.0.2.10";
// 2024-03-05T06:07:08Z
constexpr std::time_t kNow = 1709618828;
const std::string kDate = "Tue, 05 Mar 2024 06:07:08 +0000";

const std::string kEhloReply =
    "250-sink.test\r\n"
    "250-PIPELINING\r\n"
    "250-SIZE 1000\r\n"
    "250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250-DSN\r\n"
    "250 SMTPUTF8\r\n";
const std::string kEhloReplyWithTls =
    "250-sink.test\r\n"
    "250-PIPELINING\r\n"
    "250-SIZE 1000\r\n"
    "250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n"
    "250-DSN\r\n"
    "250-STARTTLS\r\n"
    "250 SMTPUTF8\r\n";
const std::string kOk = "250 2.0.0 Ok\r\n";
const std::string kMailOk = "250 2.1.0 Ok\r\n";
const std::string kRcptOk = "250 2.1.5 Ok\r\n";
const std::string kGoAhead = "354 End data with <CR><LF>.<CR><LF>\r\n";
const std::string kBye = "221 2.0.0 Bye\r\n";
const std::string kUnrecognized = "500 5.5.2 Command unrecognized\r\n";
const std::string kLineTooLong = "500 5.5.2 Line too long\r\n";
const std::string kSendHeloFirst = "503 5.5.1 Send HELO/EHLO first\r\n";
const std::string kNeedMail = "503 5.5.1 Need MAIL before RCPT\r\n";
const std::string kTooBig = "552 5.3.4 Message size exceeds fixed limit\r\n";
const std::string kLineTooLongInData = "552 5.3.4 Message line longer than 200 bytes\r\n";
const std::string kBadNotify = "501 5.5.4 Bad NOTIFY parameter\r\n";
const std::string kBadOrcpt = "501 5.5.4 Bad ORCPT parameter\r\n";

std::string queued(const std::string& id) {
  return "250 2.0.0 Ok: queued as " + id + "\r\n";
}

std::string received(const std::string& id, const std::string& with = "ESMTP",
                     const std::string& forClause = "for <watch@bcc.test>; ",
                     const std::string& helo = "client.test") {
  return "Received: from " + helo + " (unknown [192.0.2.10])\r\n\tby sink.test (bccsink) with " +
         with + " id " + id + "\r\n\t" + forClause + kDate + "\r\n";
}

const std::string kMessage =
    "From: sender@client.test\r\n"
    "To: someone@client.test\r\n"
    "Message-ID: <m1@client.test>\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "body line\r\n";

SessionSettings testSettings() {
  SessionSettings s;
  s.hostname = "sink.test";
  s.domains = {"bcc.test", "archive@keep.test"};
  s.maxMessageSize = 1000;
  s.maxRecipients = 3;
  s.maxLineLength = 200;
  s.maxErrors = 20;
  s.now = [] { return std::chrono::system_clock::from_time_t(kNow); };
  return s;
}

// The SMTP wire form of `message`: dot-stuffed, ended by CRLF.CRLF.
std::string wire(const std::string& message) {
  std::string out;
  std::size_t start = 0;
  while (start < message.size()) {
    auto crlf = message.find("\r\n", start);
    auto end = crlf == std::string::npos ? message.size() : crlf + 2;
    if (message[start] == '.') out += '.';
    out.append(message, start, end - start);
    start = end;
  }
  return out + ".\r\n";
}

class SmtpSessionTest : public ::testing::Test {
 protected:
  // Created on first use so that a test may change settings and `allowed` first.
  SmtpSession& session() {
    if (!session_) session_ = std::make_unique<SmtpSession>(settings, store, kClientIp, allowed);
    return *session_;
  }

  // Feeds `bytes` in one piece and returns (and clears) what the session replied.
  std::string send(std::string_view bytes) {
    auto& s = session();
    s.feed(bytes);
    std::string out = s.output();
    s.output().clear();
    return out;
  }

  std::string sendInChunks(std::string_view bytes, std::size_t chunk) {
    std::string out;
    for (std::size_t i = 0; i < bytes.size(); i += chunk) out += send(bytes.substr(i, chunk));
    return out;
  }

  void ehlo() {
    ASSERT_EQ(send("EHLO client.test\r\n"), settings.tlsAvailable ? kEhloReplyWithTls : kEhloReply);
  }

  void startTransaction(const std::string& rcpt = "watch@bcc.test") {
    ASSERT_EQ(send("EHLO client.test\r\n"), settings.tlsAvailable ? kEhloReplyWithTls : kEhloReply);
    ASSERT_EQ(send("MAIL FROM:<sender@client.test>\r\n"), kMailOk);
    ASSERT_EQ(send("RCPT TO:<" + rcpt + ">\r\n"), kRcptOk);
  }

  // DATA, then `message` dot-stuffed with the final dot: returns the replies to both.
  std::string data(const std::string& message) { return send("DATA\r\n" + wire(message)); }

  // A whole transaction of `message`; returns the Message-ID given to commit.
  std::string messageIdOf(const std::string& message) {
    startTransaction();
    EXPECT_EQ(data(message), kGoAhead + queued("MSG1"));
    if (store.committed.size() != 1) {
      ADD_FAILURE() << "nothing committed";
      return "<none>";
    }
    return store.committed.front().messageId;
  }

  SessionSettings settings = testSettings();
  FakeStore store;
  bool allowed = true;
  std::unique_ptr<SmtpSession> session_;  // last: destroyed before the store
};

// --- Greeting and refused clients ---------------------------------------------------------

TEST_F(SmtpSessionTest, GreetingIs220WithHostname) {
  EXPECT_EQ(session().greeting(), "220 sink.test ESMTP bccsink\r\n");
  EXPECT_FALSE(session().closing());
  EXPECT_EQ(session().output(), "");
}

TEST_F(SmtpSessionTest, RefusedClientGets554AndTheSessionEndsThere) {
  // Issue 18: no waiting for a QUIT (RFC 5321 section 3.1) that may never come, holding
  // a connection slot; the shell closes once the 554 is written.
  allowed = false;
  EXPECT_TRUE(session().refused());
  EXPECT_EQ(session().greeting(), "554 5.7.1 sink.test Access denied for 192.0.2.10\r\n");
  EXPECT_TRUE(session().closing());
  EXPECT_EQ(send("EHLO client.test\r\nMAIL FROM:<sender@client.test>\r\nQUIT\r\n"), "");
  EXPECT_TRUE(store.admitted.empty());
}

TEST_F(SmtpSessionTest, TheSessionsEndRefusesTheMessageInDataThenCloses) {
  send("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<w@bcc.test>\r\nDATA\r\nSubject: x\r\n");
  EXPECT_TRUE(session().inData());
  EXPECT_EQ(session().sessionExpired(),
            "451 4.4.2 sink.test Session time limit exceeded, message not taken\r\n"
            "421 4.4.2 sink.test Session time limit exceeded, closing connection\r\n");
  EXPECT_TRUE(session().closing());
  EXPECT_FALSE(session().inData());
  EXPECT_EQ(send(".\r\n"), "") << "nothing after the end";
}

TEST_F(SmtpSessionTest, BetweenCommandsTheSessionsEndIsJust421AndSlownessToo) {
  send("EHLO c\r\n");
  EXPECT_EQ(session().sessionExpired(),
            "421 4.4.2 sink.test Session time limit exceeded, closing connection\r\n");
  EXPECT_EQ(session().tooSlow(),
            "421 4.4.2 sink.test Minimum data rate not met, closing connection\r\n");
}

TEST_F(SmtpSessionTest, ABegunCommandLineIsMidCommandUntilItEnds) {
  EXPECT_FALSE(session().midCommand());
  send("NO");
  EXPECT_TRUE(session().midCommand());
  send("OP\r\nEH");
  EXPECT_TRUE(session().midCommand());
  send("LO c\r\n");
  EXPECT_FALSE(session().midCommand());
  send("MAIL FROM:<a@c>\r\nRCPT TO:<w@bcc.test>\r\nDATA\r\n");
  EXPECT_FALSE(session().midCommand());
  EXPECT_TRUE(session().inData());
}

// --- EHLO and HELO ------------------------------------------------------------------------

TEST_F(SmtpSessionTest, EhloListsTheExtensions) {
  EXPECT_EQ(send("EHLO client.test\r\n"), kEhloReply);
}

TEST_F(SmtpSessionTest, EhloListsStartTlsOnlyWhenAvailable) {
  settings.tlsAvailable = true;
  EXPECT_EQ(send("EHLO client.test\r\n"), kEhloReplyWithTls);
}

TEST_F(SmtpSessionTest, EhloAdvertisesTheConfiguredSize) {
  settings.maxMessageSize = 52428800;
  EXPECT_NE(send("EHLO client.test\r\n").find("\r\n250-SIZE 52428800\r\n"), std::string::npos);
}

TEST_F(SmtpSessionTest, LowerCaseVerbsAreAccepted) {
  EXPECT_EQ(send("ehlo client.test\r\n"), kEhloReply);
  EXPECT_EQ(send("mail from:<sender@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("rcpt to:<watch@bcc.test>\r\n"), kRcptOk);
  EXPECT_EQ(send("data\r\n" + wire(kMessage)), kGoAhead + queued("MSG1"));
}

TEST_F(SmtpSessionTest, HeloReplies250WithoutExtensionsAndMailWorks) {
  // Postfix's smtp-source speaks HELO.
  EXPECT_EQ(send("HELO client.test\r\n"), "250 sink.test\r\n");
  EXPECT_EQ(send("MAIL FROM:<sender@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1", "SMTP") + kMessage);
  EXPECT_FALSE(store.committed[0].envelope.esmtp);
  EXPECT_EQ(store.committed[0].envelope.helo, "client.test");
}

TEST_F(SmtpSessionTest, EhloAndHeloWithoutArgumentAre501) {
  EXPECT_EQ(send("EHLO\r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  EXPECT_EQ(send("HELO\r\n"), "501 5.5.4 Syntax: HELO hostname\r\n");
  EXPECT_EQ(send("EHLO    \r\n"), "501 5.5.4 Syntax: EHLO hostname\r\n");
  // No greeting was accepted, so MAIL is still out of order.
  EXPECT_EQ(send("MAIL FROM:<sender@client.test>\r\n"), kSendHeloFirst);
}

TEST_F(SmtpSessionTest, HeloNameIsTheFirstWordMadePrintable) {
  EXPECT_EQ(send("EHLO bad\x01name.test extra words\r\n"), kEhloReply);
  EXPECT_EQ(send("MAIL FROM:<sender@client.test>\r\nRCPT TO:<watch@bcc.test>\r\n"),
            kMailOk + kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].envelope.helo, "bad?name.test");
  EXPECT_EQ(store.committed[0].bytes,
            received("MSG1", "ESMTP", "for <watch@bcc.test>; ", "bad?name.test") + kMessage);
}

TEST_F(SmtpSessionTest, EhloResetsTheTransaction) {
  startTransaction();
  EXPECT_EQ(send("EHLO client.test\r\n"), kEhloReply);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kNeedMail);
  EXPECT_EQ(send("MAIL FROM:<other@client.test>\r\n"), kMailOk);
}

// --- Command order ------------------------------------------------------------------------

TEST_F(SmtpSessionTest, MailBeforeHeloIs503) {
  EXPECT_EQ(send("MAIL FROM:<sender@client.test>\r\n"), kSendHeloFirst);
  EXPECT_TRUE(store.admitted.empty());
}

TEST_F(SmtpSessionTest, NestedMailIs503) {
  startTransaction();
  EXPECT_EQ(send("MAIL FROM:<other@client.test>\r\n"), "503 5.5.1 Nested MAIL command\r\n");
  // The first transaction is intact.
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].envelope.sender, "sender@client.test");
}

TEST_F(SmtpSessionTest, RcptBeforeMailIs503) {
  ehlo();
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kNeedMail);
}

TEST_F(SmtpSessionTest, DataBeforeMailIs503) {
  ehlo();
  EXPECT_EQ(send("DATA\r\n"), "503 5.5.1 Need MAIL command\r\n");
  EXPECT_FALSE(session().inData());
}

TEST_F(SmtpSessionTest, DataWithoutRecipientIs554) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<sender@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<nobody@elsewhere.test>\r\n").substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(send("DATA\r\n"), "554 5.5.1 No valid recipients\r\n");
  EXPECT_FALSE(session().inData());
  EXPECT_EQ(store.opened, 0);
}

TEST_F(SmtpSessionTest, DataWithArgumentIs501) {
  startTransaction();
  EXPECT_EQ(send("DATA now\r\n"), "501 5.5.4 Syntax: DATA\r\n");
  EXPECT_FALSE(session().inData());
  EXPECT_EQ(send("DATA \r\n"), kGoAhead);
  EXPECT_TRUE(session().inData());
}

// --- MAIL ---------------------------------------------------------------------------------

TEST_F(SmtpSessionTest, MailWithoutFromIs501) {
  ehlo();
  EXPECT_EQ(send("MAIL TO:<sender@client.test>\r\n"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(send("MAIL\r\n"), "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  EXPECT_EQ(send("MAILFROM:<sender@client.test>\r\n"), kUnrecognized);
  EXPECT_TRUE(store.admitted.empty());
}

TEST_F(SmtpSessionTest, MailFromWithSpaceBeforeColonIsAccepted) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM :<sender@client.test>\r\n"), kMailOk);
}

TEST_F(SmtpSessionTest, MailWithBadAddressIs501WithSenderCode) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<sender@client.test\r\n"),
            "501 5.1.7 Bad sender address syntax: missing '>'\r\n");
  EXPECT_EQ(send("MAIL FROM:<sender>\r\n"),
            "501 5.1.7 Bad sender address syntax: address must be local-part@domain\r\n");
  EXPECT_TRUE(store.admitted.empty());
}

TEST_F(SmtpSessionTest, NullSenderIsAccepted) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].envelope.sender, "");
}

TEST_F(SmtpSessionTest, QuotedLocalPartHoldingBracketParses) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<\"odd>name\"@client.test> SIZE=10\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].envelope.sender, "\"odd>name\"@client.test");
  EXPECT_EQ(store.committed[0].envelope.declaredSize, 10u);
}

TEST_F(SmtpSessionTest, MailParametersAreRecordedInTheEnvelope) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<sender@client.test> body=8bitmime RET=hdrs ENVID=QQ+2B31 "
                 "SMTPUTF8 SIZE=500 AUTH=<>\r\n"),
            kMailOk);
  ASSERT_EQ(store.admitted, std::vector<std::uint64_t>{500});
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  const Envelope& env = store.committed[0].envelope;
  EXPECT_EQ(env.sender, "sender@client.test");
  EXPECT_EQ(env.body, "8BITMIME");
  EXPECT_EQ(env.ret, "HDRS");
  EXPECT_EQ(env.envid, "QQ+2B31");
  EXPECT_TRUE(env.smtputf8);
  EXPECT_EQ(env.declaredSize, 500u);
  EXPECT_EQ(env.clientIp, "192.0.2.10");
  EXPECT_EQ(env.helo, "client.test");
  EXPECT_TRUE(env.esmtp);
  EXPECT_FALSE(env.tls);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1", "UTF8SMTP") + kMessage);
}

TEST_F(SmtpSessionTest, MailWithoutParametersLeavesEnvelopeDefaults) {
  startTransaction();
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  const Envelope& env = store.committed[0].envelope;
  EXPECT_EQ(env.body, "");
  EXPECT_EQ(env.ret, "");
  EXPECT_EQ(env.envid, "");
  EXPECT_FALSE(env.smtputf8);
  EXPECT_EQ(env.declaredSize, 0u);
  EXPECT_EQ(store.admitted, std::vector<std::uint64_t>{0});
}

TEST_F(SmtpSessionTest, BadMailParameterValuesAre501) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test> BODY=BINARYMIME\r\n"),
            "501 5.5.4 Bad BODY parameter\r\n");
  EXPECT_EQ(send("MAIL FROM:<s@client.test> RET=ALL\r\n"), "501 5.5.4 Bad RET parameter\r\n");
  EXPECT_EQ(send("MAIL FROM:<s@client.test> ENVID=a=b\r\n"), "501 5.5.4 Bad ENVID parameter\r\n");
  EXPECT_EQ(send("MAIL FROM:<s@client.test> ENVID=\r\n"), "501 5.5.4 Bad ENVID parameter\r\n");
  EXPECT_EQ(send("MAIL FROM:<s@client.test> ENVID=" + std::string(101, 'e') + "\r\n"),
            "501 5.5.4 Bad ENVID parameter\r\n");
  EXPECT_EQ(send("MAIL FROM:<s@client.test> SIZE=abc\r\n"), "501 5.5.4 Bad SIZE parameter\r\n");
  EXPECT_EQ(send("MAIL FROM:<s@client.test> SIZE=\r\n"), "501 5.5.4 Bad SIZE parameter\r\n");
  EXPECT_EQ(send("MAIL FROM:<s@client.test> SIZE=-1\r\n"), "501 5.5.4 Bad SIZE parameter\r\n");
  EXPECT_EQ(send("MAIL FROM:<s@client.test> SIZE=99999999999999999999\r\n"),
            "501 5.5.4 Bad SIZE parameter\r\n");
  EXPECT_TRUE(store.admitted.empty());
  // None of them started a transaction.
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
}

TEST_F(SmtpSessionTest, UnknownMailParameterIs555) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test> XYZZY=1\r\n"),
            "555 5.5.4 Unsupported parameter XYZZY\r\n");
  EXPECT_TRUE(store.admitted.empty());
}

TEST_F(SmtpSessionTest, DeclaredSizeAboveTheLimitIs552) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test> SIZE=1001\r\n"), kTooBig);
  EXPECT_TRUE(store.admitted.empty());
  EXPECT_EQ(send("MAIL FROM:<s@client.test> SIZE=1000\r\n"), kMailOk);
  EXPECT_EQ(store.admitted, std::vector<std::uint64_t>{1000});
}

TEST_F(SmtpSessionTest, StoreRefusingAdmissionIs452AtMail) {
  store.admitOutcome = Outcome::TempFail;
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"),
            "452 4.3.1 Insufficient system storage: pending queue full\r\n");
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kNeedMail);
  store.admitOutcome = Outcome::Ok;
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
}

TEST_F(SmtpSessionTest, StorePermanentlyRefusingAdmissionIsStillTransient) {
  // A 5xx would make the MTA drop a NOTIFY=NEVER copy; storage trouble is always 4xx.
  store.admitOutcome = Outcome::PermFail;
  store.admitDetail = "spool disk nearly full";
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"),
            "452 4.3.1 Insufficient system storage: spool disk nearly full\r\n");
}

TEST_F(SmtpSessionTest, StoreRefusingAdmissionForALocalErrorIs451AtMail) {
  // A corrupt database (db/Health.h): not storage, but the MTA must keep the copy all the
  // same.
  store.admitOutcome = Outcome::TempFail;
  store.admitNoRoom = false;
  store.admitDetail = "the database is corrupt (see the daemon's log)";
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"),
            "451 4.3.0 Local error in processing: the database is corrupt (see the daemon's "
            "log)\r\n");
}

// --- RCPT ---------------------------------------------------------------------------------

TEST_F(SmtpSessionTest, RecipientOutsideTheDomainsIs550) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<someone@elsewhere.test>\r\n"),
            "550 5.1.1 <someone@elsewhere.test>: Recipient address rejected: not a BCC domain "
            "here\r\n");
  EXPECT_EQ(send("RCPT TO:<someone@sub.bcc.test>\r\n").substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(send("RCPT TO:<someone@xbcc.test>\r\n").substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(send("RCPT TO:<postmaster>\r\n").substr(0, 10), "550 5.1.1 ");
}

TEST_F(SmtpSessionTest, RejectedRecipientIsPrintableInTheReply) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<\"a\xff\"@elsewhere.test>\r\n"),
            "550 5.1.1 <\"a?\"@elsewhere.test>: Recipient address rejected: not a BCC domain "
            "here\r\n");
}

TEST_F(SmtpSessionTest, DomainEntryAcceptsAnyLocalPartIgnoringCase) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kRcptOk);
  EXPECT_EQ(send("RCPT TO:<Other.User@BCC.Test>\r\n"), kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  const auto& rcpts = store.committed[0].envelope.recipients;
  ASSERT_EQ(rcpts.size(), 2u);
  EXPECT_EQ(rcpts[0].address, "watch@bcc.test");
  EXPECT_EQ(rcpts[1].address, "Other.User@BCC.Test");  // kept as sent
  EXPECT_EQ(rcpts[0].notify, "");
  EXPECT_EQ(rcpts[0].orcpt, "");
}

TEST_F(SmtpSessionTest, AddressEntryAcceptsThatAddressIgnoringCase) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<archive@keep.test>\r\n"), kRcptOk);
  EXPECT_EQ(send("RCPT TO:<ARCHIVE@Keep.Test>\r\n"), kRcptOk);
  EXPECT_EQ(send("RCPT TO:<other@keep.test>\r\n").substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(send("RCPT TO:<xarchive@keep.test>\r\n").substr(0, 10), "550 5.1.1 ");
}

TEST_F(SmtpSessionTest, AddressEntryAcceptsItsSubaddressesThatCarryOriginalRecipients) {
  // recipient_bcc_maps' copies: archive+LOCAL=DOMAIN@ (deploy/postfix/recipient_bcc.pcre).
  settings.maxRecipients = 10;
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<archive+bob=example.org@keep.test>\r\n"), kRcptOk);
  EXPECT_EQ(send("RCPT TO:<Archive+Ann+News=Example.COM@KEEP.test>\r\n"), kRcptOk);
  EXPECT_EQ(send("RCPT TO:<\"archive+john smith=example.org\"@keep.test>\r\n"), kRcptOk);
  EXPECT_EQ(send("RCPT TO:<archive+anything@keep.test>\r\n"), kRcptOk);  // RFC 5233 detail
  EXPECT_EQ(send("RCPT TO:<archive+@keep.test>\r\n").substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(send("RCPT TO:<archivist+bob=example.org@keep.test>\r\n").substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(send("RCPT TO:<other+archive@keep.test>\r\n").substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(send("RCPT TO:<archive+bob=example.org@other.test>\r\n").substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  const auto& rcpts = store.committed[0].envelope.recipients;
  ASSERT_EQ(rcpts.size(), 4u);
  EXPECT_EQ(rcpts[0].address, "archive+bob=example.org@keep.test");  // decoded by the queue
  EXPECT_EQ(rcpts[2].address, "\"archive+john smith=example.org\"@keep.test");
}

TEST_F(SmtpSessionTest, RecipientsBeyondTheLimitAre452) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<a@bcc.test>\r\nRCPT TO:<b@bcc.test>\r\nRCPT TO:<c@bcc.test>\r\n"),
            kRcptOk + kRcptOk + kRcptOk);
  EXPECT_EQ(send("RCPT TO:<d@bcc.test>\r\n"), "452 4.5.3 Too many recipients\r\n");
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  const auto& rcpts = store.committed[0].envelope.recipients;
  ASSERT_EQ(rcpts.size(), 3u);
  EXPECT_EQ(rcpts[2].address, "c@bcc.test");
}

TEST_F(SmtpSessionTest, RcptWithoutToIs501AndBadAddressIs501WithRecipientCode) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT FROM:<watch@bcc.test>\r\n"), "501 5.5.4 Syntax: RCPT TO:<address>\r\n");
  EXPECT_EQ(send("RCPT TO:<>\r\n"), "501 5.1.3 Bad recipient address syntax: empty address\r\n");
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test\r\n"),
            "501 5.1.3 Bad recipient address syntax: missing '>'\r\n");
  EXPECT_EQ(send("RCPT TO :<watch@bcc.test>\r\n"), kRcptOk);
}

// --- DSN ----------------------------------------------------------------------------------

TEST_F(SmtpSessionTest, NotifyNeverAndOrcptAreRecorded) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test> RET=HDRS ENVID=abc\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> NOTIFY=NEVER ORCPT=rfc822;watch@bcc.test\r\n"), kRcptOk);
  EXPECT_EQ(send("RCPT TO:<copy@bcc.test> notify=success,delay ORCPT=rfc822;a+2Bb@x.test\r\n"),
            kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  const auto& rcpts = store.committed[0].envelope.recipients;
  ASSERT_EQ(rcpts.size(), 2u);
  EXPECT_EQ(rcpts[0].address, "watch@bcc.test");
  EXPECT_EQ(rcpts[0].notify, "NEVER");
  EXPECT_EQ(rcpts[0].orcpt, "rfc822;watch@bcc.test");
  EXPECT_EQ(rcpts[1].notify, "SUCCESS,DELAY");
  EXPECT_EQ(rcpts[1].orcpt, "rfc822;a+2Bb@x.test");
}

TEST_F(SmtpSessionTest, BadNotifyIs501) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> NOTIFY=NEVER,SUCCESS\r\n"), kBadNotify);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> NOTIFY=FOO\r\n"), kBadNotify);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> NOTIFY=\r\n"), kBadNotify);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> NOTIFY=SUCCESS,\r\n"), kBadNotify);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> NOTIFY=,FAILURE\r\n"), kBadNotify);
  EXPECT_EQ(send("DATA\r\n"), "554 5.5.1 No valid recipients\r\n");
}

TEST_F(SmtpSessionTest, BadOrcptIs501) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> ORCPT=watch@bcc.test\r\n"), kBadOrcpt);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> ORCPT=;watch@bcc.test\r\n"), kBadOrcpt);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> ORCPT=rfc822;a=b@bcc.test\r\n"), kBadOrcpt);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> ORCPT=rfc822;a+ZZ@bcc.test\r\n"), kBadOrcpt);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> ORCPT=rfc822;" + std::string(500, 'o') + "\r\n"),
            kBadOrcpt);
}

TEST_F(SmtpSessionTest, UnknownRcptParameterIs555) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> FOO=bar\r\n"),
            "555 5.5.4 Unsupported parameter FOO\r\n");
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test> NOTIFY=NEVER NOTIFY=NEVER\r\n"),
            "501 5.1.3 Bad recipient address syntax: duplicate parameter NOTIFY\r\n");
}

// --- DATA: success and the stored bytes ---------------------------------------------------

TEST_F(SmtpSessionTest, SuccessfulDataIsQueuedWithTheWriterId) {
  startTransaction();
  EXPECT_EQ(send("DATA\r\n"), kGoAhead);
  EXPECT_TRUE(session().inData());
  EXPECT_EQ(send(kMessage), "");
  EXPECT_TRUE(session().inData());
  EXPECT_EQ(send(".\r\n"), queued("MSG1"));
  EXPECT_FALSE(session().inData());
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].id, "MSG1");
  EXPECT_EQ(store.discarded, 0);
}

TEST_F(SmtpSessionTest, StoredBytesAreTheReceivedHeaderThenTheMessageExactly) {
  startTransaction();
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes,
            "Received: from client.test (unknown [192.0.2.10])\r\n"
            "\tby sink.test (bccsink) with ESMTP id MSG1\r\n"
            "\tfor <watch@bcc.test>; Tue, 05 Mar 2024 06:07:08 +0000\r\n" +
                kMessage);
}

TEST_F(SmtpSessionTest, ReceivedHeaderHasNoForClauseWithSeveralRecipients) {
  startTransaction();
  EXPECT_EQ(send("RCPT TO:<archive@keep.test>\r\n"), kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1", "ESMTP", "; ") + kMessage);
}

TEST_F(SmtpSessionTest, AnIPv6ClientIsAnIPv6AddressLiteralInTheReceivedHeader) {
  FakeStore localStore;
  SmtpSession s(settings, localStore, "2001:db8::25", true);
  s.feed("EHLO client.test\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\n");
  s.feed("DATA\r\nSubject: x\r\n\r\nbody\r\n.\r\n");
  ASSERT_EQ(localStore.committed.size(), 1u);
  EXPECT_EQ(localStore.committed[0].bytes.rfind(
                "Received: from client.test (unknown [IPv6:2001:db8::25])\r\n", 0),
            0u)
      << localStore.committed[0].bytes;
}

TEST_F(SmtpSessionTest, EmptyMessageStoresOnlyTheReceivedHeader) {
  startTransaction();
  EXPECT_EQ(send("DATA\r\n.\r\n"), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1"));
  EXPECT_EQ(store.committed[0].messageId, "");
}

TEST_F(SmtpSessionTest, LeadingDotsAreUnstuffed) {
  startTransaction();
  EXPECT_EQ(send("DATA\r\nSubject: dots\r\n\r\n..x\r\n...\r\n..\r\n. \r\nx.\r\n.\r\n"),
            kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes,
            received("MSG1") + "Subject: dots\r\n\r\n.x\r\n..\r\n.\r\n \r\nx.\r\n");
}

TEST_F(SmtpSessionTest, EightBitAndNulBytesAreStoredUnchanged) {
  startTransaction();
  std::string body = std::string("Subject: bin\r\n\r\n\xc3\xa4\xff") + '\0' + "\x01z\r\n";
  EXPECT_EQ(data(body), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1") + body);
}

TEST_F(SmtpSessionTest, OnlyCrLfDotCrLfEndsTheMessage) {
  // SMTP smuggling: a bare LF or CR around the dot is message content.
  const std::vector<std::string> fakeEnds = {"\n.\n",   "\r.\r",   "\n.\r\n", "\r.\r\n",
                                             "\r\n.\n", "\r\n.\r", "\r.\n"};
  for (const auto& fakeEnd : fakeEnds) {
    SCOPED_TRACE(::testing::PrintToString(fakeEnd));
    FakeStore localStore;
    SmtpSession s(settings, localStore, kClientIp, true);
    s.feed("EHLO client.test\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\n");
    s.output().clear();
    s.feed("DATA\r\nSubject: x\r\n\r\nbody" + fakeEnd + "NOOP\r\n");
    EXPECT_EQ(s.output(), kGoAhead);
    EXPECT_TRUE(s.inData());
    s.output().clear();
    s.feed("tail\r\n.\r\n");
    EXPECT_EQ(s.output(), queued("MSG1"));
    ASSERT_EQ(localStore.committed.size(), 1u);
    const std::string& bytes = localStore.committed[0].bytes;
    EXPECT_NE(bytes.find("NOOP\r\ntail\r\n"), std::string::npos);
    EXPECT_EQ(bytes.substr(bytes.size() - 6), "tail\r\n");
  }
}

TEST_F(SmtpSessionTest, SecondTransactionSmuggledBehindBareLfDotIsStoredAsContent) {
  startTransaction();
  const std::string smuggled =
      "Subject: first\r\n"
      "\r\n"
      "innocent\n.\n"
      "MAIL FROM:<evil@attacker.test>\r\n"
      "RCPT TO:<victim@bcc.test>\r\n"
      "DATA\r\n"
      "Subject: forged\r\n"
      "\r\n"
      "forged body\r\n";
  EXPECT_EQ(send("DATA\r\n" + smuggled + ".\r\n"), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1") + smuggled);
  ASSERT_EQ(store.committed[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(store.committed[0].envelope.recipients[0].address, "watch@bcc.test");
  EXPECT_EQ(store.admitted.size(), 1u);  // the smuggled MAIL never ran
  EXPECT_EQ(store.opened, 1);
}

TEST_F(SmtpSessionTest, CommandsMayEndWithBareLf) {
  EXPECT_EQ(send("EHLO client.test\n"), kEhloReply);
  EXPECT_EQ(send("NOOP\n"), kOk);
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\nRCPT TO:<watch@bcc.test>\nDATA\n"),
            kMailOk + kRcptOk + kGoAhead);
  EXPECT_EQ(send("Subject: x\r\n\r\nbody\r\n.\r\n"), queued("MSG1"));
}

// --- DATA: limits -------------------------------------------------------------------------

TEST_F(SmtpSessionTest, MessageOfExactlyTheSizeLimitIsAccepted) {
  startTransaction();
  std::string message;
  for (int i = 0; i < 10; ++i) message += std::string(98, 'a') + "\r\n";
  ASSERT_EQ(message.size(), 1000u);
  EXPECT_EQ(data(message), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1") + message);
}

TEST_F(SmtpSessionTest, DataBeyondTheSizeLimitIs552AfterTheFinalDotAndNothingIsCommitted) {
  startTransaction();
  std::string message;
  for (int i = 0; i < 10; ++i) message += std::string(98, 'a') + "\r\n";
  message += "b\r\n";
  EXPECT_EQ(send("DATA\r\n" + message), kGoAhead);  // no early reply
  EXPECT_TRUE(session().inData());
  EXPECT_EQ(send("more\r\n.\r\n"), kTooBig);
  EXPECT_FALSE(session().inData());
  EXPECT_EQ(store.commitCalls, 0);
  EXPECT_EQ(store.discarded, 1);
  // The connection goes on.
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\n"), kMailOk + kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG2"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG2") + kMessage);
}

TEST_F(SmtpSessionTest, DataLineOfExactlyTheLineLimitIsAccepted) {
  startTransaction();
  std::string message = std::string(198, 'l') + "\r\n";  // 200 with CRLF
  EXPECT_EQ(data(message), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1") + message);
}

TEST_F(SmtpSessionTest, DataLineLongerThanTheLimitIs552AndTheSessionGoesOn) {
  startTransaction();
  std::string message = "Subject: long\r\n\r\n" + std::string(199, 'l') + "\r\nafter\r\n";
  EXPECT_EQ(data(message), kGoAhead + kLineTooLongInData);
  EXPECT_EQ(store.commitCalls, 0);
  EXPECT_EQ(store.discarded, 1);

  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\n"), kMailOk + kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG2"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG2") + kMessage);
}

TEST_F(SmtpSessionTest, OverlongDataLineArrivingInPiecesIs552) {
  startTransaction();
  EXPECT_EQ(send("DATA\r\nSubject: long\r\n\r\n"), kGoAhead);
  // Far more than the limit, without a line end yet: buffered only up to the limit.
  for (int i = 0; i < 20; ++i) EXPECT_EQ(send(std::string(150, 'l')), "");
  // The CR of the line end in one piece, the LF in the next.
  EXPECT_EQ(send(std::string(150, 'l') + "\r"), "");
  EXPECT_TRUE(session().inData());
  // The tail of the long line must not be taken as the final dot.
  EXPECT_EQ(send("\n.x\r\n"), "");
  EXPECT_TRUE(session().inData());
  EXPECT_EQ(send(".\r\n"), kLineTooLongInData);
  EXPECT_EQ(store.commitCalls, 0);
  EXPECT_EQ(send("NOOP\r\n"), kOk);
}

TEST_F(SmtpSessionTest, OverlongDataLineEndingInADotDoesNotEndTheMessage) {
  startTransaction();
  EXPECT_EQ(send("DATA\r\n"), kGoAhead);
  // The long line's last byte is a dot and its CRLF comes in the next piece: that dot is
  // the line's tail, not a line of its own.
  EXPECT_EQ(send(std::string(300, 'l') + "."), "");
  EXPECT_EQ(send("\r\n"), "");
  EXPECT_TRUE(session().inData());
  EXPECT_EQ(send("x\r\n.\r\n"), kLineTooLongInData);
  EXPECT_EQ(store.commitCalls, 0);
}

TEST_F(SmtpSessionTest, OverlongDataLineWhoseCrEndsAPieceEndsAtTheLfOfTheNextPiece) {
  startTransaction();
  EXPECT_EQ(send("DATA\r\n"), kGoAhead);
  EXPECT_EQ(send(std::string(300, 'l') + "\r"), "");
  EXPECT_EQ(send("\n.\r\n"), kLineTooLongInData);
  EXPECT_FALSE(session().inData());
  EXPECT_EQ(store.commitCalls, 0);
}

TEST_F(SmtpSessionTest, SizeIsCountedAfterDotUnstuffing) {
  startTransaction();
  std::string message;
  for (int i = 0; i < 10; ++i) message += "." + std::string(97, 'a') + "\r\n";
  ASSERT_EQ(message.size(), 1000u);  // 1010 bytes on the wire
  EXPECT_EQ(data(message), kGoAhead + queued("MSG1"));
}

// --- DATA: storage failures ---------------------------------------------------------------

TEST_F(SmtpSessionTest, OpenFailureIs451AtData) {
  store.failOpen = true;
  startTransaction();
  EXPECT_EQ(send("DATA\r\n"),
            "451 4.3.0 Local error in processing: cannot create a spool file\r\n");
  EXPECT_FALSE(session().inData());
  store.failOpen = false;
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
}

TEST_F(SmtpSessionTest, WriteFailureOfTheReceivedHeaderIs451AfterTheFinalDot) {
  store.writesBeforeFailure = 0;
  startTransaction();
  EXPECT_EQ(data(kMessage),
            kGoAhead + "451 4.3.0 Local error in processing: cannot write the spool\r\n");
  EXPECT_EQ(store.commitCalls, 0);
  EXPECT_EQ(store.discarded, 1);
}

TEST_F(SmtpSessionTest, WriteFailureInTheBodyIs451AfterTheFinalDot) {
  store.writesBeforeFailure = 3;
  startTransaction();
  EXPECT_EQ(send("DATA\r\n" + kMessage), kGoAhead);
  EXPECT_TRUE(session().inData());
  EXPECT_EQ(send(".\r\n"), "451 4.3.0 Local error in processing: cannot write the spool\r\n");
  EXPECT_EQ(store.commitCalls, 0);
  EXPECT_EQ(send("NOOP\r\n"), kOk);
}

TEST_F(SmtpSessionTest, CommitTempFailIs451) {
  store.commitOutcome = Outcome::TempFail;
  startTransaction();
  EXPECT_EQ(data(kMessage), kGoAhead + "451 4.3.0 Local error in processing: database error\r\n");
  EXPECT_EQ(store.commitCalls, 1);
  EXPECT_TRUE(store.committed.empty());
  EXPECT_EQ(store.discarded, 1);
  // The transaction is over: the client starts again.
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kNeedMail);
}

TEST_F(SmtpSessionTest, CommitPermFailIs554) {
  store.commitOutcome = Outcome::PermFail;
  store.commitDetail = "rejected by policy";
  startTransaction();
  EXPECT_EQ(data(kMessage), kGoAhead + "554 5.3.0 Transaction failed: rejected by policy\r\n");
  EXPECT_TRUE(store.committed.empty());
}

TEST_F(SmtpSessionTest, TimeoutDuringDataDiscardsTheMessage) {
  startTransaction();
  EXPECT_EQ(send("DATA\r\nSubject: x\r\n"), kGoAhead);
  EXPECT_EQ(session().timeout(), "421 4.4.2 sink.test Timeout exceeded, closing connection\r\n");
  EXPECT_TRUE(session().closing());
  session_.reset();
  EXPECT_EQ(store.commitCalls, 0);
  EXPECT_EQ(store.discarded, 1);
}

// --- Message-ID ---------------------------------------------------------------------------

TEST_F(SmtpSessionTest, MessageIdHeaderIsPassedToCommit) {
  EXPECT_EQ(messageIdOf(kMessage), "<m1@client.test>");
}

TEST_F(SmtpSessionTest, MessageIdHeaderNameIsCaseInsensitive) {
  EXPECT_EQ(messageIdOf("Subject: x\r\nmessage-id:   <lower@client.test>  \r\n\r\nbody\r\n"),
            "<lower@client.test>");
}

TEST_F(SmtpSessionTest, FoldedMessageIdIsUnfolded) {
  EXPECT_EQ(messageIdOf("Message-ID:\r\n <folded@client.test>\r\nSubject: x\r\n\r\nbody\r\n"),
            "<folded@client.test>");
}

TEST_F(SmtpSessionTest, MessageIdFoldedWithATabIsUnfolded) {
  EXPECT_EQ(messageIdOf("Message-ID:\r\n\t<tab@client.test>\r\n\r\nbody\r\n"), "<tab@client.test>");
}

TEST_F(SmtpSessionTest, MessageIdAfterATabIsTrimmed) {
  EXPECT_EQ(messageIdOf("Message-Id:\t<tab@client.test>\r\n\r\nbody\r\n"), "<tab@client.test>");
}

TEST_F(SmtpSessionTest, OnlyTheFirstMessageIdHeaderCounts) {
  EXPECT_EQ(messageIdOf("Message-ID: <first@client.test>\r\nMessage-ID: <second@client.test>\r\n"
                        " <folded-second@client.test>\r\n\r\nbody\r\n"),
            "<first@client.test>");
}

TEST_F(SmtpSessionTest, ContinuationOfAnotherHeaderIsNotTheMessageId) {
  EXPECT_EQ(messageIdOf("Message-ID: <id@client.test>\r\nSubject: a\r\n <not-an-id@x>\r\n\r\n"),
            "<id@client.test>");
}

TEST_F(SmtpSessionTest, MessageIdOnlyInTheBodyIsIgnored) {
  EXPECT_EQ(messageIdOf("Subject: x\r\n\r\nMessage-ID: <body@client.test>\r\n"), "");
}

TEST_F(SmtpSessionTest, SimilarHeaderNamesAreNotTheMessageId) {
  EXPECT_EQ(messageIdOf("Resent-Message-ID: <r@client.test>\r\nMessage-IDs: <s@client.test>\r\n"
                        "X-Message-ID: <x@client.test>\r\n\r\nbody\r\n"),
            "");
}

TEST_F(SmtpSessionTest, MessageIdIsMadePrintable) {
  EXPECT_EQ(messageIdOf("Message-ID: <a\x01\xff@client.test>\r\n\r\n"), "<a??@client.test>");
}

TEST_F(SmtpSessionTest, MessageIdIsResetBetweenTransactions) {
  startTransaction();
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\n"), kMailOk + kRcptOk);
  EXPECT_EQ(data("Subject: no id\r\n\r\nbody\r\n"), kGoAhead + queued("MSG2"));
  ASSERT_EQ(store.committed.size(), 2u);
  EXPECT_EQ(store.committed[0].messageId, "<m1@client.test>");
  EXPECT_EQ(store.committed[1].messageId, "");
}

// --- PIPELINING and chunking --------------------------------------------------------------

TEST_F(SmtpSessionTest, PipelinedCommandsAreAnsweredInOrder) {
  ehlo();
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"
                 "RCPT TO:<a@bcc.test>\r\n"
                 "RCPT TO:<nobody@elsewhere.test>\r\n"
                 "RCPT TO:<b@bcc.test>\r\n"
                 "DATA\r\n"),
            kMailOk + kRcptOk +
                "550 5.1.1 <nobody@elsewhere.test>: Recipient address rejected: not a BCC "
                "domain here\r\n" +
                kRcptOk + kGoAhead);
  EXPECT_TRUE(session().inData());
}

TEST_F(SmtpSessionTest, WholeConversationInOneFeed) {
  EXPECT_EQ(send("EHLO client.test\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\n"
                 "DATA\r\n" +
                 wire(kMessage) + "QUIT\r\nNOOP\r\n"),
            kEhloReply + kMailOk + kRcptOk + kGoAhead + queued("MSG1") + kBye);
  EXPECT_TRUE(session().closing());
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1") + kMessage);
}

TEST_F(SmtpSessionTest, AnyChunkingGivesTheSameRepliesAndStoredBytes) {
  const std::string message =
      "From: sender@client.test\r\n"
      "Message-ID:\r\n"
      " <chunks@client.test>\r\n"
      "\r\n"
      ".leading dot\r\n"
      "bare\nlf\n.\nand\rcr\r.\r\n"
      "\r\n"
      "..\r\n"
      "last";  // no final CRLF: the wire adds none, so end with one below
  const std::string conversation =
      "EHLO client.test\r\nMAIL FROM:<s@client.test> SIZE=300\r\nRCPT TO:<watch@bcc.test>\r\n"
      "DATA\r\n" +
      wire(message + "\r\n") + "MAIL FROM:<>\r\nRCPT TO:<archive@keep.test>\r\nDATA\r\n" +
      wire("Subject: second\r\n\r\n" + std::string(198, 'x') + "\r\n") + "QUIT\r\n";

  FakeStore wholeStore;
  SmtpSession whole(settings, wholeStore, kClientIp, true);
  whole.feed(conversation);
  const std::string expectedReplies = kEhloReply + kMailOk + kRcptOk + kGoAhead + queued("MSG1") +
                                      kMailOk + kRcptOk + kGoAhead + queued("MSG2") + kBye;
  ASSERT_EQ(whole.output(), expectedReplies);
  ASSERT_EQ(wholeStore.committed.size(), 2u);
  EXPECT_EQ(wholeStore.committed[0].bytes, received("MSG1") + message + "\r\n");
  EXPECT_EQ(wholeStore.committed[0].messageId, "<chunks@client.test>");

  for (std::size_t chunk : {1, 2, 3, 5, 7, 64}) {
    SCOPED_TRACE("chunk size " + std::to_string(chunk));
    FakeStore chunkStore;
    SmtpSession s(settings, chunkStore, kClientIp, true);
    std::string replies;
    for (std::size_t i = 0; i < conversation.size(); i += chunk) {
      s.feed(std::string_view(conversation).substr(i, chunk));
      replies += s.output();
      s.output().clear();
    }
    EXPECT_EQ(replies, expectedReplies);
    EXPECT_TRUE(s.closing());
    ASSERT_EQ(chunkStore.committed.size(), 2u);
    for (std::size_t m = 0; m < 2; ++m) {
      EXPECT_EQ(chunkStore.committed[m].bytes, wholeStore.committed[m].bytes);
      EXPECT_EQ(chunkStore.committed[m].messageId, wholeStore.committed[m].messageId);
    }
  }
}

TEST_F(SmtpSessionTest, OneByteChunksGiveTheSameStoredBytesAsOneChunk) {
  startTransaction();
  EXPECT_EQ(send("DATA\r\n"), kGoAhead);
  const std::string bytes = wire(kMessage + "..x\r\n\n.\n\r\n");
  EXPECT_EQ(sendInChunks(bytes, 1), queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1") + kMessage + "..x\r\n\n.\n\r\n");
  EXPECT_EQ(store.committed[0].messageId, "<m1@client.test>");
}

// --- Several transactions -----------------------------------------------------------------

TEST_F(SmtpSessionTest, SeveralTransactionsOnOneConnection) {
  startTransaction();
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  EXPECT_EQ(send("MAIL FROM:<second@client.test>\r\nRCPT TO:<archive@keep.test>\r\n"),
            kMailOk + kRcptOk);
  EXPECT_EQ(data("Subject: two\r\n\r\n"), kGoAhead + queued("MSG2"));
  ASSERT_EQ(store.committed.size(), 2u);
  EXPECT_EQ(store.committed[1].envelope.sender, "second@client.test");
  ASSERT_EQ(store.committed[1].envelope.recipients.size(), 1u);
  EXPECT_EQ(store.committed[1].envelope.recipients[0].address, "archive@keep.test");
  EXPECT_EQ(store.committed[1].bytes,
            received("MSG2", "ESMTP", "for <archive@keep.test>; ") + "Subject: two\r\n\r\n");
}

TEST_F(SmtpSessionTest, RsetAbandonsTheTransaction) {
  startTransaction();
  EXPECT_EQ(send("RSET\r\n"), kOk);
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kNeedMail);
  EXPECT_EQ(send("DATA\r\n"), "503 5.5.1 Need MAIL command\r\n");
  EXPECT_EQ(send("MAIL FROM:<new@client.test>\r\nRCPT TO:<other@bcc.test>\r\n"), kMailOk + kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].envelope.sender, "new@client.test");
  ASSERT_EQ(store.committed[0].envelope.recipients.size(), 1u);
  EXPECT_EQ(store.committed[0].envelope.recipients[0].address, "other@bcc.test");
}

TEST_F(SmtpSessionTest, RsetKeepsTheHelo) {
  ehlo();
  EXPECT_EQ(send("RSET\r\n"), kOk);
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
}

// --- Other commands -----------------------------------------------------------------------

TEST_F(SmtpSessionTest, NoopVrfyHelpReplies) {
  EXPECT_EQ(send("NOOP\r\n"), kOk);
  EXPECT_EQ(send("NOOP anything\r\n"), kOk);
  EXPECT_EQ(send("VRFY watch@bcc.test\r\n"),
            "252 2.5.0 Cannot VRFY user, but will accept message\r\n");
  const std::string help = send("HELP\r\n");
  EXPECT_EQ(help.substr(0, 10), "214 2.0.0 ");
  EXPECT_EQ(help.substr(help.size() - 2), "\r\n");
  EXPECT_EQ(help.find("\r\n"), help.size() - 2);
}

TEST_F(SmtpSessionTest, QuitReplies221AndClosesIgnoringWhatFollows) {
  ehlo();
  EXPECT_EQ(send("QUIT\r\nNOOP\r\nMAIL FROM:<s@client.test>\r\n"), kBye);
  EXPECT_TRUE(session().closing());
  EXPECT_TRUE(store.admitted.empty());
}

TEST_F(SmtpSessionTest, QuitWorksBeforeHelo) {
  EXPECT_EQ(send("QUIT\r\n"), kBye);
  EXPECT_TRUE(session().closing());
}

TEST_F(SmtpSessionTest, UnknownVerbIs500) {
  EXPECT_EQ(send("XYZZY\r\n"), kUnrecognized);
  EXPECT_EQ(send("\r\n"), kUnrecognized);
  EXPECT_EQ(send("AUTH PLAIN AGFAYg==\r\n"), kUnrecognized);
  EXPECT_FALSE(session().closing());
}

TEST_F(SmtpSessionTest, BdatAndExpnAre502) {
  ehlo();
  EXPECT_EQ(send("BDAT 10 LAST\r\n"), "502 5.5.1 CHUNKING not offered\r\n");
  EXPECT_EQ(send("EXPN staff\r\n"), "502 5.5.1 EXPN not implemented\r\n");
  EXPECT_EQ(send("NOOP\r\n"), kOk);
}

TEST_F(SmtpSessionTest, TooManyErrorsGive421AndClose) {
  settings.maxErrors = 3;
  EXPECT_EQ(send("BAD1\r\n"), kUnrecognized);
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kSendHeloFirst);
  EXPECT_EQ(send("EXPN x\r\n"), "502 5.5.1 EXPN not implemented\r\n");
  EXPECT_FALSE(session().closing());
  EXPECT_EQ(send("BAD4\r\nNOOP\r\n"),
            "421 4.7.0 sink.test Too many errors, closing connection\r\n");
  EXPECT_TRUE(session().closing());
  EXPECT_EQ(send("NOOP\r\n"), "");
}

TEST_F(SmtpSessionTest, ErrorsInOnePipelinedFeedStopAt421) {
  settings.maxErrors = 2;
  EXPECT_EQ(send("A\r\nB\r\nC\r\nD\r\nE\r\n"),
            kUnrecognized + kUnrecognized +
                "421 4.7.0 sink.test Too many errors, closing connection\r\n");
  EXPECT_TRUE(session().closing());
}

TEST_F(SmtpSessionTest, SuccessfulCommandsDoNotCountAsErrors) {
  settings.maxErrors = 1;
  EXPECT_EQ(send("NOOP\r\nNOOP\r\nEHLO client.test\r\nRSET\r\n"), kOk + kOk + kEhloReply + kOk);
  EXPECT_EQ(send("BAD\r\n"), kUnrecognized);
  EXPECT_FALSE(session().closing());
}

TEST_F(SmtpSessionTest, TimeoutIs421AndCloses) {
  ehlo();
  EXPECT_EQ(session().timeout(), "421 4.4.2 sink.test Timeout exceeded, closing connection\r\n");
  EXPECT_TRUE(session().closing());
}

// --- Command line length ------------------------------------------------------------------

TEST_F(SmtpSessionTest, CommandLongerThan2048BytesIs500Once) {
  ehlo();
  EXPECT_EQ(send("NOOP " + std::string(3000, 'x') + "\r\n"), kLineTooLong);
  EXPECT_EQ(send("NOOP\r\n"), kOk);
}

TEST_F(SmtpSessionTest, CommandOf2048BytesIsAcceptedAnd2049IsNot) {
  ehlo();
  std::string noop = "NOOP " + std::string(2043, 'x');
  ASSERT_EQ(noop.size(), 2048u);
  EXPECT_EQ(send(noop + "\r\n"), kOk);
  EXPECT_EQ(send(noop + "y\r\n"), kLineTooLong);
}

TEST_F(SmtpSessionTest, CommandOf2048BytesFedByteByByteIsAccepted) {
  ehlo();
  std::string noop = "NOOP " + std::string(2043, 'x');
  EXPECT_EQ(sendInChunks(noop + "\r\n", 1), kOk);
  EXPECT_EQ(sendInChunks(noop + "y\r\n", 1), kLineTooLong);
  EXPECT_EQ(send("NOOP\r\n"), kOk);
}

TEST_F(SmtpSessionTest, OverlongCommandInPiecesIs500OnceAndItsTailIsNotExecuted) {
  ehlo();
  EXPECT_EQ(send(std::string(2100, 'x')), kLineTooLong);
  EXPECT_EQ(send(std::string(5000, 'x')), "");
  // "QUIT" is the end of the overlong line, not a command; NOOP is the next command.
  EXPECT_EQ(send("QUIT\r\nNOOP\r\n"), kOk);
  EXPECT_FALSE(session().closing());
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kMailOk);
}

TEST_F(SmtpSessionTest, OverlongCommandsCountAsErrors) {
  settings.maxErrors = 1;
  EXPECT_EQ(send(std::string(3000, 'x') + "\r\n"), kLineTooLong);
  EXPECT_EQ(send(std::string(3000, 'x')),
            "421 4.7.0 sink.test Too many errors, closing connection\r\n");
  EXPECT_TRUE(session().closing());
}

// --- STARTTLS -----------------------------------------------------------------------------

TEST_F(SmtpSessionTest, StartTlsWhenNotAvailableIs502) {
  ehlo();
  EXPECT_EQ(send("STARTTLS\r\n"), "502 5.5.1 STARTTLS not available\r\n");
  EXPECT_FALSE(session().tlsPending());
}

TEST_F(SmtpSessionTest, StartTlsWhenAvailableIs220AndPending) {
  settings.tlsAvailable = true;
  EXPECT_EQ(send("EHLO client.test\r\n"), kEhloReplyWithTls);
  EXPECT_EQ(send("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(session().tlsPending());
  EXPECT_FALSE(session().closing());
  session().tlsStarted();
  EXPECT_FALSE(session().tlsPending());
}

TEST_F(SmtpSessionTest, StartTlsWithArgumentIs501) {
  settings.tlsAvailable = true;
  ehlo();
  EXPECT_EQ(send("STARTTLS now\r\n"), "501 5.5.4 Syntax: STARTTLS\r\n");
  EXPECT_FALSE(session().tlsPending());
}

TEST_F(SmtpSessionTest, BytesPipelinedAfterStartTlsAreDiscarded) {
  settings.tlsAvailable = true;
  EXPECT_EQ(send("EHLO client.test\r\n"), kEhloReplyWithTls);
  EXPECT_EQ(send("STARTTLS\r\nMAIL FROM:<evil@attacker.test>\r\nQUIT\r\nNOO"),
            "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_TRUE(store.admitted.empty());
  EXPECT_FALSE(session().closing());
  session().tlsStarted();
  // Neither the MAIL nor the partial "NOO" survive the handshake.
  EXPECT_EQ(send("P\r\n"), kUnrecognized);
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kSendHeloFirst);
}

TEST_F(SmtpSessionTest, AfterTlsTheClientMustGreetAgain) {
  settings.tlsAvailable = true;
  startTransaction();
  EXPECT_EQ(send("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
  session().tlsStarted();
  EXPECT_EQ(send("RCPT TO:<watch@bcc.test>\r\n"), kNeedMail);
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\n"), kSendHeloFirst);
  EXPECT_EQ(send("EHLO client.test\r\n"), kEhloReply);  // no STARTTLS any more
  EXPECT_EQ(send("STARTTLS\r\n"), "503 5.5.1 TLS already active\r\n");
  EXPECT_FALSE(session().tlsPending());
  EXPECT_EQ(send("MAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\n"), kMailOk + kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_TRUE(store.committed[0].envelope.tls);
  EXPECT_TRUE(store.committed[0].envelope.esmtp);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1", "ESMTPS") + kMessage);
}

TEST_F(SmtpSessionTest, Smtputf8OverTlsIsNamedInTheReceivedHeader) {
  settings.tlsAvailable = true;
  EXPECT_EQ(send("EHLO client.test\r\nSTARTTLS\r\n"),
            kEhloReplyWithTls + "220 2.0.0 Ready to start TLS\r\n");
  session().tlsStarted();
  EXPECT_EQ(send("EHLO client.test\r\nMAIL FROM:<s@client.test> SMTPUTF8\r\n"
                 "RCPT TO:<watch@bcc.test>\r\n"),
            kEhloReply + kMailOk + kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  EXPECT_EQ(store.committed[0].bytes, received("MSG1", "UTF8SMTPS") + kMessage);
}

}  // namespace

// --- SMTP mode (SessionSettings::holdMode) -------------------------------------------------

TEST_F(SmtpSessionTest, HoldModeTakesAnyRecipientAndMarksTheMessageHeld) {
  settings.holdMode = true;
  auto ehlo = send("EHLO mta.test\r\n");
  EXPECT_NE(ehlo.find("250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE\r\n"), std::string::npos)
      << ehlo;
  EXPECT_EQ(send("MAIL FROM:<sender@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<anyone@example.org>\r\n"), kRcptOk);
  EXPECT_EQ(send("RCPT TO:<other@example.net> NOTIFY=NEVER\r\n"), kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  ASSERT_EQ(store.committed.size(), 1u);
  const auto& env = store.committed[0].envelope;
  EXPECT_TRUE(env.hold);
  ASSERT_EQ(env.recipients.size(), 2u);
  EXPECT_EQ(env.recipients[1].notify, "NEVER");
  EXPECT_EQ(env.xforward, "");
}

TEST_F(SmtpSessionTest, XforwardIsKeptForTheNextTransactionOnly) {
  settings.holdMode = true;
  send("EHLO mta.test\r\n");
  EXPECT_EQ(send("XFORWARD NAME=mail.example.net ADDR=192.0.2.7\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(send("xforward PROTO=ESMTP HELO=[UNAVAILABLE]\r\n"), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(send("MAIL FROM:<sender@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("XFORWARD NAME=late.example.net\r\n"),
            "503 5.5.1 MAIL transaction in progress\r\n");
  EXPECT_EQ(send("RCPT TO:<anyone@example.org>\r\n"), kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG1"));
  EXPECT_EQ(send("MAIL FROM:<sender@client.test>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<anyone@example.org>\r\n"), kRcptOk);
  EXPECT_EQ(data(kMessage), kGoAhead + queued("MSG2"));
  ASSERT_EQ(store.committed.size(), 2u);
  EXPECT_EQ(store.committed[0].envelope.xforward,
            "NAME=mail.example.net\nADDR=192.0.2.7\nPROTO=ESMTP\nHELO=[UNAVAILABLE]\n");
  EXPECT_EQ(store.committed[1].envelope.xforward, "");
}

TEST_F(SmtpSessionTest, XforwardRefusesUnknownAttributesAndIsNotOfferedInBccMode) {
  settings.holdMode = true;
  send("EHLO mta.test\r\n");
  EXPECT_EQ(send("XFORWARD COLOR=blue\r\n"), "501 5.5.4 Bad XFORWARD attribute\r\n");
  EXPECT_EQ(send("XFORWARD\r\n"), "501 5.5.4 Syntax: XFORWARD attribute=value...\r\n");
  // Commands are short (512 bytes); many of them are bounded too.
  const std::string big = "XFORWARD NAME=" + std::string(450, 'x') + "\r\n";
  for (int i = 0; i < 4; ++i) EXPECT_EQ(send(big), "250 2.0.0 Ok\r\n") << i;
  EXPECT_EQ(send(big), "501 5.5.4 Too many XFORWARD attributes\r\n");
  SmtpSessionTest::session_.reset();
  settings.holdMode = false;
  EXPECT_EQ(send("EHLO client.test\r\n"), kEhloReply);
  EXPECT_EQ(send("XFORWARD NAME=a\r\n"), "500 5.5.2 Command unrecognized\r\n");
  EXPECT_NE(send("MAIL FROM:<s@client.test>\r\nRCPT TO:<anyone@example.org>\r\n").find("550 5.1.1"),
            std::string::npos);
}

TEST_F(SmtpSessionTest, AUtf8OrcptIsTakenInASmtputf8Transaction) {
  // RFC 6533: what Postfix sends for a non-ASCII recipient; refusing it bounces real mail in
  // SMTP mode.
  settings.holdMode = true;
  send("EHLO mta.test\r\n");
  EXPECT_EQ(send("MAIL FROM:<s@example.com> SMTPUTF8\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<j\xc3\xb6rg@example.org> ORCPT=utf-8;j\xc3\xb6rg@example.org\r\n"),
            kRcptOk);
  EXPECT_EQ(send("RCPT TO:<a@example.org> ORCPT=utf-8;a=b@example.org\r\n"),
            "501 5.5.4 Bad ORCPT parameter\r\n");
  EXPECT_EQ(send("RSET\r\n"), "250 2.0.0 Ok\r\n");
  // Without SMTPUTF8 an ORCPT stays xtext.
  EXPECT_EQ(send("MAIL FROM:<s@example.com>\r\n"), kMailOk);
  EXPECT_EQ(send("RCPT TO:<a@example.org> ORCPT=utf-8;j\xc3\xb6rg@example.org\r\n"),
            "501 5.5.4 Bad ORCPT parameter\r\n");
}
