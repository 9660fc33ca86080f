// sink/hold/HoldStage on both engines, against scripted relays on loopback
// (test/report/delivery/ScriptedSmtpServer.h): the hold/action state machine, re-injection
// byte for byte with the original envelope, retries with back-off, 5xx to the
// administrator, partial deliveries, SmtpMaxHold, SmtpHoldUnknown=no and a restart.

#include "sink/hold/HoldStage.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/Clock.h"
#include "db/FileRepository.h"
#include "db/HoldQueue.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "sink/hold/Tagging.h"
#include "test/LogCapture.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"
#include "test/report/delivery/ScriptedSmtpServer.h"

namespace bccsink {
namespace {

using test::ScriptedSmtpServer;
using Strings = std::vector<std::string>;
using namespace std::chrono_literals;

const std::string kId = "01HOLD0000000000000000000A";
const std::string kMessage =
    "Received: from mx (unknown [192.0.2.1])\r\n\tby filter (bccsink) with ESMTP id 01J\r\n"
    "From: <a@example.com>\r\nTo: <b@example.org>\r\nSubject: Invoice\r\n"
    "Message-ID: <1@example.com>\r\n\r\n.dot line\r\nbody\r\n";
const std::string kEhlo =
    "250-relay.example.com\r\n250-PIPELINING\r\n250-SIZE 100000\r\n250-8BITMIME\r\n"
    "250-DSN\r\n250-XFORWARD NAME ADDR PROTO HELO\r\n250 SMTPUTF8";
const std::string kQueued = "250 2.0.0 Ok: queued as 9XYZ";

// The relay takes the message for `recipients` recipients.
Strings accepting(int recipients, const std::string& queued = kQueued) {
  Strings s = {"220 relay ESMTP", kEhlo, "250 2.0.0 Ok", "250 2.1.0 Ok"};
  for (int i = 0; i < recipients; ++i) s.push_back("250 2.1.5 Ok");
  s.push_back("354 go");
  s.push_back(queued);
  return s;
}

// An address on loopback where nothing listens: the relay is down.
std::string downAddress() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  auto port = s.address().port();
  s.close();
  return "127.0.0.1:" + std::to_string(port);
}

std::string isoOf(std::int64_t ms) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000), "%Y-%m-%dT%H:%M:%S.%iZ");
}

// The spool folder: not a test::TempDir, whose name the engine's SQLite folder takes.
class SpoolFolder {
 public:
  SpoolFolder() {
    static std::atomic<int> n{0};
    path_ = std::filesystem::temp_directory_path() /
            ("bccsink-hold-spool-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~SpoolFolder() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

class HoldStageTest : public test::EngineTest {
 protected:
  // An SMTP-mode message as the intake leaves it: spooled, its row and its held row.
  void take(const std::string& id, std::int64_t heldMs = nowMs(),
            const std::string& bytes = kMessage) {
    std::ofstream(spool_.path() + "/" + id + ".eml", std::ios::binary) << bytes;
    auto r = test::sampleRecord(id, isoOf(heldMs), "sink-a");
    r.hold = true;
    r.sender = "a@example.com";
    r.recipients = {{"b@example.org", "rfc822;b@example.org", "SUCCESS,FAILURE"},
                    {"c@example.org", "", ""}};
    r.body = "8BITMIME";
    r.ret = "HDRS";
    r.envid = "QQ314159";
    r.xforward = "NAME=mail.example.net\nADDR=192.0.2.7\nHELO=mail.example.net\n";
    r.size = static_cast<std::int64_t>(bytes.size());
    db::MessageQueue(database()).insertPending({r});
  }
  // The pipeline's part: the message checked with `verdict`.
  void check(const std::string& id, const std::string& verdict) {
    db::MessageQueue q(database());
    for (auto& m : q.claim("sink-a", 10, 4102444800000, 4102444800000, isoNow())) {
      if (m.id == id)
        q.markChecked(m.id, "sink-a", verdict, isoNow());
      else
        q.release(m.id, "sink-a", "not this test's");
    }
  }
  HoldSettings settings(const std::string& relay) {
    HoldSettings s;
    s.databaseUrl = store_.url();
    s.spoolDir = spool_.path();
    s.sink = "sink-a";
    s.relay.server = relay;
    s.relay.heloName = "filter.test";
    s.relay.tls = report::SmtpTls::No;
    s.relay.connectTimeout = 2000ms;
    s.relay.replyTimeout = 3000ms;
    s.retryFirst = 200ms;
    s.retryMax = 300ms;
    s.idleRound = 20ms;
    return s;
  }
  db::HeldMessage held(const std::string& id = kId) {
    auto h = db::HoldQueue(database()).find(id);
    EXPECT_TRUE(h);
    return h ? *h : db::HeldMessage{};
  }
  // Waits until the row's next try is due.
  void waitForRetry(const std::string& id = kId) {
    auto next = held(id).nextMs;
    while (nowMs() <= next) std::this_thread::sleep_for(20ms);
  }

  SpoolFolder spool_;
};

TEST_P(HoldStageTest, ACleanMessageIsDeliveredByteForByteWithItsEnvelope) {
  test::LogCapture logs("bccsink.hold");
  take(kId);
  check(kId, "clean");
  ScriptedSmtpServer relay(accepting(2));
  HoldStage stage(settings(relay.address()));
  int reportDue = 0;
  stage.onReportDue([&] { ++reportDue; });
  EXPECT_EQ(stage.runOnce(), 2u);  // one decision, one delivery

  const auto& got = relay.received();
  ASSERT_GE(got.size(), 7u);
  EXPECT_EQ(got[1], "XFORWARD NAME=mail.example.net ADDR=192.0.2.7 HELO=mail.example.net");
  EXPECT_EQ(got[2], "MAIL FROM:<a@example.com> SIZE=" + std::to_string(kMessage.size()) +
                        " BODY=8BITMIME RET=HDRS ENVID=QQ314159");
  EXPECT_EQ(got[3], "RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.org");
  EXPECT_EQ(got[4], "RCPT TO:<c@example.org>");
  EXPECT_EQ(got[5], "DATA");
  EXPECT_EQ(got[6], report::smtpDataBlock(kMessage));

  auto h = held();
  EXPECT_EQ(h.state, db::hold_state::kDelivered);
  EXPECT_EQ(h.action, db::hold_action::kPass);
  EXPECT_EQ(h.why, "clean");
  EXPECT_EQ(h.relayReply, kQueued);
  EXPECT_EQ(h.tries, 1);
  EXPECT_GT(h.deliveredMs, 0);
  // The report is the reporter's again, and it was woken.
  EXPECT_EQ(db::ReportQueue(database()).unjudged("sink-a", 10), Strings{kId});
  EXPECT_GE(reportDue, 1);
  const auto& c = stage.counters();
  EXPECT_EQ(c.delivered.load(), 1u);
  EXPECT_EQ(c.holdCount.load(), 1u);
  EXPECT_EQ(c.actions[holdIndex(kHoldCauses, "clean")][holdIndex(kHoldActions, "pass")].load(), 1u);
  EXPECT_EQ(logs.count("hold: id=" + kId + " action=pass why=clean"), 1) << logs.all();
  EXPECT_EQ(logs.count("hold: id=" + kId + " delivered to " + relay.address() + ": " + kQueued), 1)
      << logs.all();

  EXPECT_EQ(stage.runOnce(), 0u);  // delivered once
}

TEST_P(HoldStageTest, ADangerousMessageIsQuarantinedWithItsFindingsAndNotDelivered) {
  take(kId);
  // What the pipeline records: the message's files and the analyzers' verdicts.
  const std::string sha(64, 'e');
  db::FileRepository files(database());
  db::FileRow row;
  row.sha256 = sha;
  row.md5 = std::string(32, 'f');
  row.size = 68;
  files.recordSeen({row}, isoNow());
  db::StoredVerdict v;
  v.sha256 = sha;
  v.analyzer = "clamd";
  v.verdict = "dangerous";
  v.threats = {"Eicar-Test-Signature"};
  v.decidedAt = isoNow();
  v.decidedMs = nowMs();
  files.recordVerdict(v);
  db::MessageFile f;
  f.position = 0;
  f.sha256 = sha;
  f.name = f.path = "eicar.com";
  f.size = 68;
  f.selected = true;
  f.verdict = "dangerous";
  db::MessageFiles(database()).save(kId, {f}, "", isoNow());
  check(kId, "dangerous");

  HoldStage stage(settings(downAddress()));
  EXPECT_EQ(stage.runOnce(), 1u);  // decided; nothing to deliver
  auto h = held();
  EXPECT_EQ(h.state, db::hold_state::kQuarantined);
  EXPECT_EQ(h.action, db::hold_action::kQuarantine);
  EXPECT_EQ(h.why, "dangerous: Eicar-Test-Signature in eicar.com (clamd)");
  EXPECT_EQ(h.tries, 0);
  EXPECT_EQ(stage.counters().delivered.load(), 0u);
  EXPECT_EQ(stage.counters()
                .actions[holdIndex(kHoldCauses, "dangerous")][holdIndex(kHoldActions, "quarantine")]
                .load(),
            1u);
  EXPECT_EQ(stage.runOnce(), 0u);
}

TEST_P(HoldStageTest, ASuspiciousMessageIsTaggedOnItsWayOut) {
  take(kId);
  check(kId, "suspicious");
  ScriptedSmtpServer relay(accepting(2));
  HoldStage stage(settings(relay.address()));
  stage.runOnce();
  const auto& got = relay.received();
  ASSERT_GE(got.size(), 7u);
  EXPECT_EQ(got[6], report::smtpDataBlock(tagMessage(kMessage, "[suspicious]", "suspicious")));
  EXPECT_NE(got[6].find("\r\nSubject: [suspicious] Invoice\r\n"), std::string::npos);
  EXPECT_EQ(got[6].rfind("X-Bccsink-Verdict: suspicious\r\n", 0), 0u);
  EXPECT_EQ(held().state, db::hold_state::kDelivered);
  EXPECT_EQ(held().action, db::hold_action::kTag);
}

TEST_P(HoldStageTest, A4xxIsRetriedWithBackOffTheTriesAndErrorInTheQueue) {
  take(kId);
  check(kId, "clean");
  std::int64_t before = 0;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    ScriptedSmtpServer relay(
        {"220 relay ESMTP", kEhlo, "250 2.0.0 Ok", "451 4.3.0 try again later"});
    HoldStage stage(settings(relay.address()));
    before = nowMs();
    stage.runOnce();
    const auto after = nowMs();
    auto h = held();
    EXPECT_EQ(h.state, db::hold_state::kDeliver);
    EXPECT_EQ(h.tries, attempt);
    EXPECT_NE(h.lastError.find("451 4.3.0 try again later"), std::string::npos) << h.lastError;
    // 200 ms, then doubled but capped at SmtpRelayRetryMax (300 ms).
    const std::int64_t delay = attempt == 1 ? 200 : 300;
    EXPECT_GE(h.nextMs, before + delay);
    EXPECT_LE(h.nextMs, after + delay);
    EXPECT_EQ(stage.counters().deferred.load(), 1u);
    EXPECT_EQ(stage.runOnce(), 0u);  // not due yet: no connection
    waitForRetry();
  }
  ScriptedSmtpServer relay(accepting(2));
  HoldStage stage(settings(relay.address()));
  EXPECT_EQ(stage.runOnce(), 1u);
  auto h = held();
  EXPECT_EQ(h.state, db::hold_state::kDelivered);
  EXPECT_EQ(h.tries, 3);
  EXPECT_EQ(h.lastError, "");
}

TEST_P(HoldStageTest, ARelayThatIsDownIsTriedAgain) {
  test::LogCapture logs("bccsink.hold");
  take(kId);
  check(kId, "clean");
  HoldStage stage(settings(downAddress()));
  EXPECT_EQ(stage.runOnce(), 2u);
  auto h = held();
  EXPECT_EQ(h.state, db::hold_state::kDeliver);
  EXPECT_EQ(h.tries, 1);
  EXPECT_FALSE(h.lastError.empty());
  EXPECT_EQ(stage.counters().deferred.load(), 1u);
  EXPECT_EQ(logs.count("hold: id=" + kId + " deferred (try 1, again in 0.2s)"), 1) << logs.all();
}

TEST_P(HoldStageTest, AMessageUndeliveredForFiveDaysGoesToTheAdministrator) {
  take(kId);
  const auto day = std::int64_t{24} * 3600 * 1000;
  ASSERT_TRUE(db::HoldQueue(database())
                  .decide(kId, db::hold_state::kDeliver, db::hold_action::kPass, "clean",
                          nowMs() - 6 * day));
  HoldStage stage(settings(downAddress()));
  stage.runOnce();
  auto h = held();
  EXPECT_EQ(h.state, db::hold_state::kRejected);
  EXPECT_EQ(h.lastError.rfind("not delivered for 432000s, the last try: ", 0), 0u) << h.lastError;
  EXPECT_EQ(stage.counters().rejected.load(), 1u);
}

TEST_P(HoldStageTest, A5xxRejectsTheMessageAndTheAdministratorIsTold) {
  take(kId);
  check(kId, "clean");
  int reportDue = 0;
  {
    ScriptedSmtpServer relay(
        {"220 relay ESMTP", kEhlo, "250 2.0.0 Ok", "554 5.7.1 rejected by policy"});
    HoldStage stage(settings(relay.address()));
    stage.onReportDue([&] { ++reportDue; });
    stage.runOnce();
    auto h = held();
    EXPECT_EQ(h.state, db::hold_state::kRejected);
    EXPECT_NE(h.lastError.find("554 5.7.1 rejected by policy"), std::string::npos);
    EXPECT_EQ(stage.counters().rejected.load(), 1u);
    // Not judged yet: the reporter judges it. One that read its hold state just before
    // the 5xx judges a clean message's report not due ...
    db::ReportQueue reports(database());
    EXPECT_EQ(reports.unjudged("sink-a", 10), Strings{kId});
    reports.judge(kId, false, "", false);
    EXPECT_TRUE(reports.due("sink-a", nowMs(), 10).empty());
    // ... so the stage makes it due once it is judged.
    const int woken = reportDue;
    std::this_thread::sleep_for(150ms);
    stage.runOnce();
    EXPECT_EQ(reports.due("sink-a", nowMs(), 10), Strings{kId});
    EXPECT_GT(reportDue, woken);
  }
  // Released by the administrator and refused again: its (sent) report is due again at once.
  db::ReportQueue(database()).markSent({kId}, isoNow());
  ASSERT_TRUE(db::HoldQueue(database()).release(kId, "admin", nowMs()));
  ScriptedSmtpServer relay({"220 relay ESMTP", kEhlo, "250 2.0.0 Ok", "550 5.1.0 no"});
  HoldStage stage(settings(relay.address()));
  EXPECT_EQ(stage.runOnce(), 1u);
  EXPECT_EQ(held().state, db::hold_state::kRejected);
  EXPECT_EQ(db::ReportQueue(database()).due("sink-a", nowMs(), 10), Strings{kId});
}

TEST_P(HoldStageTest, RecipientsAcceptedOnceAreNotSentToAgain) {
  take(kId);
  check(kId, "clean");
  {
    ScriptedSmtpServer relay({"220 relay ESMTP", kEhlo, "250 2.0.0 Ok", "250 2.1.0 Ok",
                              "250 2.1.5 Ok", "450 4.2.0 <c@example.org> mailbox busy", "354 go",
                              "250 2.0.0 Ok: queued as 1"});
    HoldStage stage(settings(relay.address()));
    stage.runOnce();
    auto h = held();
    EXPECT_EQ(h.state, db::hold_state::kDeliver);
    EXPECT_EQ(h.doneRecipients, std::vector<int>{0});
    EXPECT_EQ(h.tries, 1);
    EXPECT_NE(h.lastError.find("450 4.2.0 <c@example.org> mailbox busy"), std::string::npos)
        << h.lastError;
    EXPECT_EQ(stage.counters().deferred.load(), 1u);
  }
  waitForRetry();
  ScriptedSmtpServer relay(accepting(1, "250 2.0.0 Ok: queued as 2"));
  HoldStage stage(settings(relay.address()));
  EXPECT_EQ(stage.runOnce(), 1u);
  const auto& got = relay.received();
  ASSERT_GE(got.size(), 5u);
  EXPECT_EQ(got[3], "RCPT TO:<c@example.org>");
  EXPECT_EQ(got[4], "DATA");
  auto h = held();
  EXPECT_EQ(h.state, db::hold_state::kDelivered);
  EXPECT_EQ(h.relayReply, "250 2.0.0 Ok: queued as 2");
}

TEST_P(HoldStageTest, ARecipientRefusedForGoodDoesNotHoldUpTheOthers) {
  take(kId);
  check(kId, "clean");
  ScriptedSmtpServer relay({"220 relay ESMTP", kEhlo, "250 2.0.0 Ok", "250 2.1.0 Ok",
                            "250 2.1.5 Ok", "550 5.1.1 <c@example.org> unknown user", "354 go",
                            kQueued});
  HoldStage stage(settings(relay.address()));
  stage.runOnce();
  auto h = held();
  EXPECT_EQ(h.state, db::hold_state::kDelivered);
  EXPECT_EQ(h.relayReply,
            kQueued + "; refused: <c@example.org> 550 5.1.1 <c@example.org> unknown user");
  // The 5xx goes to the administrator: the report of a clean message judged "none" (it
  // was not judged when the relay answered) is made due once it is judged.
  EXPECT_EQ(h.lastError,
            "refused for good: <c@example.org> 550 5.1.1 <c@example.org> unknown user");
  db::ReportQueue(database()).judge(kId, false, "", false, "");
  std::this_thread::sleep_for(150ms);  // the sweep's pause (5 idle rounds)
  stage.runOnce();
  EXPECT_EQ(db::MessageQueue(database()).find(kId)->reportStatus, db::report_status::kDue);
  EXPECT_TRUE(db::HoldQueue(database()).awaitingReport("sink-a", 10).empty());
}

TEST_P(HoldStageTest, SmtpMaxHoldTakesTheTimeoutAction) {
  take(kId, nowMs() - 2 * 3600 * 1000);
  const std::string fresh = "01HOLD0000000000000000000B";
  take(fresh);
  auto s = settings(downAddress());
  s.policy.timeoutAction = "quarantine";
  HoldStage stage(s);
  EXPECT_EQ(stage.runOnce(), 1u);
  auto h = held();
  EXPECT_EQ(h.state, db::hold_state::kQuarantined);
  EXPECT_EQ(h.why, "timeout: no verdict after 60 min (SmtpMaxHold)");
  EXPECT_EQ(held(fresh).state, db::hold_state::kHolding);
  EXPECT_EQ(stage.counters()
                .actions[holdIndex(kHoldCauses, "timeout")][holdIndex(kHoldActions, "quarantine")]
                .load(),
            1u);
}

TEST_P(HoldStageTest, HoldUnknownNoDeliversBeforeAnalysis) {
  take(kId);
  ScriptedSmtpServer relay(accepting(2));
  auto s = settings(relay.address());
  s.policy.holdUnknown = false;
  HoldStage stage(s);
  EXPECT_EQ(stage.runOnce(), 2u);
  EXPECT_EQ(relay.received().size() >= 7 ? relay.received()[6] : "",
            report::smtpDataBlock(kMessage));
  auto h = held();
  EXPECT_EQ(h.state, db::hold_state::kDelivered);
  EXPECT_EQ(h.why, "unscanned: released before analysis (SmtpHoldUnknown=no)");
  // Still analysed: the message waits for the workers as in BCC mode.
  EXPECT_EQ(h.messageState, db::state::kPending);
}

TEST_P(HoldStageTest, AfterACrashADecidedMessageIsDeliveredOnce) {
  take(kId);
  check(kId, "clean");
  // The previous run decided and died before its delivery.
  ASSERT_TRUE(db::HoldQueue(database())
                  .decide(kId, db::hold_state::kDeliver, db::hold_action::kPass, "clean", nowMs()));
  {
    ScriptedSmtpServer relay(accepting(2));
    HoldStage stage(settings(relay.address()));
    EXPECT_EQ(stage.runOnce(), 1u);
    EXPECT_EQ(relay.received().size(), 8u);  // ... DATA, the message, QUIT
  }
  EXPECT_EQ(held().state, db::hold_state::kDelivered);
  HoldStage again(settings(downAddress()));
  EXPECT_EQ(again.runOnce(), 0u);
  EXPECT_EQ(held().tries, 1);
}

TEST_P(HoldStageTest, TheThreadDeliversWhenWoken) {
  take(kId);
  check(kId, "clean");
  ScriptedSmtpServer relay(accepting(2));
  auto s = settings(relay.address());
  s.idleRound = 10s;  // only the wake can start the round in time
  HoldStage stage(s);
  stage.start();
  stage.wake();
  const auto until = std::chrono::steady_clock::now() + 8s;
  while (held().state != db::hold_state::kDelivered && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  stage.stop();
  EXPECT_EQ(held().state, db::hold_state::kDelivered);
}

// A relay that serves every connection on a thread of its own and takes `pause` to
// answer the final dot (Postfix's smtpd syncing the message): how many were at once.
class SlowRelay {
 public:
  explicit SlowRelay(std::chrono::milliseconds pause)
      : pause_(pause), server_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    accepter_ = std::thread([this] { accept(); });
  }
  ~SlowRelay() {
    stopping_ = true;
    accepter_.join();
    for (auto& t : sessions_) t.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_.address().port()); }
  int delivered() const { return delivered_; }
  int mostAtOnce() const { return most_; }

 private:
  void accept() {
    while (!stopping_) {
      if (!server_.poll(Poco::Timespan(0, 50000), Poco::Net::Socket::SELECT_READ)) continue;
      sessions_.emplace_back([this, s = server_.acceptConnection()]() mutable { serve(s); });
    }
  }
  void serve(Poco::Net::StreamSocket& s) {
    s.setReceiveTimeout(Poco::Timespan(5, 0));
    auto say = [&](const std::string& line) { s.sendBytes(line.data(), (int)line.size()); };
    std::string in;
    char buf[4096];
    say("220 relay ESMTP\r\n");
    bool data = false;
    try {
      while (true) {
        int n = s.receiveBytes(buf, sizeof buf);
        if (n <= 0) return;
        in.append(buf, n);
        for (std::size_t end; (end = in.find(data ? "\r\n.\r\n" : "\r\n")) != std::string::npos;) {
          std::string line = in.substr(0, end);
          in.erase(0, end + (data ? 5 : 2));
          if (data) {
            data = false;
            const int now = ++current_;
            for (int m = most_; now > m && !most_.compare_exchange_weak(m, now);) {
            }
            std::this_thread::sleep_for(pause_);
            --current_;
            ++delivered_;
            say("250 2.0.0 Ok\r\n");
          } else if (line.rfind("EHLO", 0) == 0) {
            say("250-relay\r\n250 8BITMIME\r\n");
          } else if (line == "DATA") {
            data = true;
            say("354 go\r\n");
          } else if (line == "QUIT") {
            say("221 bye\r\n");
            return;
          } else {
            say("250 Ok\r\n");
          }
        }
      }
    } catch (const Poco::Exception&) {
    }
  }

  std::chrono::milliseconds pause_;
  Poco::Net::ServerSocket server_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> current_{0}, most_{0}, delivered_{0};
  std::thread accepter_;
  std::vector<std::thread> sessions_;
};

TEST_P(HoldStageTest, DeliveriesRunOverSeveralConnectionsAtOnce) {
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) {
    ids.push_back("01HOLD000000000000000000C" + std::to_string(i));
    take(ids.back());
  }
  for (const auto& id : ids)
    ASSERT_TRUE(
        db::HoldQueue(database())
            .decide(id, db::hold_state::kDeliver, db::hold_action::kPass, "clean", nowMs()));
  SlowRelay relay(300ms);
  auto s = settings(relay.address());
  s.relayConnections = 3;
  HoldStage stage(s);
  const auto started = std::chrono::steady_clock::now();
  stage.start();
  const auto until = started + 10s;
  auto allDelivered = [&] {
    for (const auto& id : ids)
      if (held(id).state != db::hold_state::kDelivered) return false;
    return true;
  };
  while (!allDelivered() && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  const auto took = std::chrono::steady_clock::now() - started;
  stage.stop();
  EXPECT_TRUE(allDelivered());
  EXPECT_EQ(relay.delivered(), 6);  // each once
  EXPECT_GE(relay.mostAtOnce(), 2);
  EXPECT_LE(relay.mostAtOnce(), 3);
  EXPECT_LT(took, 6 * 300ms) << "one delivery after the other";
  EXPECT_EQ(stage.counters().delivered.load(), 6u);
}

TEST_P(HoldStageTest, QuarantineExpiresAfterSmtpQuarantineDays) {
  take(kId);
  const std::string recent = "01HOLD0000000000000000000B";
  take(recent);
  const auto day = std::int64_t{24} * 3600 * 1000;
  db::HoldQueue holds(database());
  ASSERT_TRUE(holds.decide(kId, db::hold_state::kQuarantined, db::hold_action::kQuarantine,
                           "dangerous", nowMs() - 31 * day));
  ASSERT_TRUE(holds.decide(recent, db::hold_state::kDiscarded, db::hold_action::kDiscard,
                           "dangerous", nowMs() - 29 * day));
  auto s = settings(downAddress());
  s.quarantineDays = 30;
  HoldStage stage(s);
  stage.runOnce();
  EXPECT_EQ(held().state, db::hold_state::kDeleted);
  EXPECT_EQ(held(recent).state, db::hold_state::kDiscarded);
}

TEST_P(HoldStageTest, AMissingSpoolFileIsRejectedNotRetriedForever) {
  take(kId);
  check(kId, "clean");
  std::filesystem::remove(spool_.path() + "/" + kId + ".eml");
  HoldStage stage(settings(downAddress()));
  stage.runOnce();
  auto h = held();
  EXPECT_EQ(h.state, db::hold_state::kRejected);
  EXPECT_NE(h.lastError.find("cannot read the spooled message"), std::string::npos) << h.lastError;
}

BCCSINK_ON_BOTH_ENGINES(HoldStageTest);

TEST(HoldStageOutage, ADatabaseThatIsAwayIsLoggedOnceAndTriedAgain) {
  test::LogCapture logs("bccsink.hold", Poco::Message::PRIO_DEBUG);
  HoldSettings s;
  // A PostgreSQL server that is not there: refused at once.
  s.databaseUrl = "postgresql://bccsink@" + downAddress() + "/bccsink";
  s.sink = "sink-a";
  s.relay.server = "127.0.0.1:25";
  s.relay.tls = report::SmtpTls::No;
  HoldStage stage(s);
  EXPECT_THROW(stage.runOnce(), std::exception);  // the caller's thread sees the error
  stage.start();
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (logs.count("round failed") == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
  stage.stop();  // does not wait out the back-off
  EXPECT_EQ(logs.count("hold: the database failed"), 1) << logs.all();
  EXPECT_GE(logs.count("hold: round failed (try 2)"), 1) << logs.all();
}

}  // namespace
}  // namespace bccsink
