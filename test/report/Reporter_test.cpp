#include "report/Reporter.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/HoldQueue.h"
#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "report/spoof/MessageHeaders.h"
#include "test/TempDir.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using namespace bccsink::report;

namespace {

// A receiver that keeps what it was given and answers as told.
struct Inbox {
  std::vector<std::string> mails;
  std::vector<Outcome> answers;  // consumed in order; Ok once empty
  Deliver deliver() {
    return [this](const std::string& mail) {
      mails.push_back(mail);
      DeliveryResult r;
      if (!answers.empty()) {
        r.outcome = answers.front();
        answers.erase(answers.begin());
        r.reason = r.outcome == Outcome::Ok ? "" : "421 4.3.2 try later";
      }
      if (r.ok()) r.receipt = "250 2.0.0 queued";
      return r;
    };
  }
};

class ReporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database.migrate();
    std::filesystem::create_directories(spool);
  }

  // A message the listener took (its own Received on top) that the workers checked.
  void add(const std::string& id, const std::string& verdict, const std::string& headers,
           const std::string& sender = "alice@example.org", bool hold = false) {
    std::ofstream(spool + "/" + id + ".eml")
        << "Received: from mta.example.com (unknown [127.0.0.1])\r\n\tby sink.test; Mon, 30 "
           "Nov 2026 02:00:00 +0000\r\n"
        << headers << "\r\nbody\r\n";
    auto r = test::sampleRecord(id, "2026-11-30T02:00:00.000Z");
    r.sender = sender;
    r.helo = "mta.example.com";
    r.hold = hold;  // came in on SmtpSocket: held until the hold stage decides
    queue.insertPending({r});
    auto m = queue.claimNext("sink-a", nowMs() + 60000, nowMs() + 60000, isoNow());
    ASSERT_TRUE(m);
    ASSERT_TRUE(queue.markChecked(id, "sink-a", verdict, isoNow()));
  }

  ReporterSettings settings() {
    ReporterSettings s;
    s.databaseUrl = url;
    s.spoolDir = spool;
    s.owner = "sink-a";
    s.spoof.internalDomains = {"example.com"};
    s.spoof.skipTopReceived = 1;
    s.mail = {"bccsink@example.com", {"admin@example.com"}, "sink.test"};
    s.retryBase = std::chrono::milliseconds(60000);
    return s;
  }

  test::TempDir dir;
  std::string url = "sqlite:" + (dir / "q.db");
  std::string spool = dir / "spool";
  db::Database database{url};
  db::MessageQueue queue{database};
};

const char* kPlain = "From: alice@example.org\r\nTo: bob@example.com\r\nSubject: hello\r\n";
const char* kSpoof =
    "Received: from evil.example.net (evil.example.net [203.0.113.9]) by mx.example.com "
    "(Postfix) with ESMTP id 1; Mon, 30 Nov 2026 01:59:00 +0000\r\n"
    "From: ceo@example.com\r\nTo: staff@example.com\r\nSubject: wire\r\n";

}  // namespace

TEST_F(ReporterTest, ReportsWhatReachesTheThresholdAndSpoofsButNotCleanMail) {
  add("01A", "dangerous", kPlain);
  add("01B", "clean", kPlain);
  add("01C", "suspicious", kPlain);
  add("01D", "clean", kSpoof, "ceo@example.com");
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 3u);
  ASSERT_EQ(inbox.mails.size(), 3u);
  EXPECT_EQ(queue.find("01A")->state, "reported");
  EXPECT_EQ(queue.find("01B")->state, "checked");
  EXPECT_EQ(queue.find("01B")->reportStatus, "none");
  EXPECT_EQ(queue.find("01C")->state, "reported");
  auto spoofed = queue.find("01D");
  EXPECT_EQ(spoofed->state, "reported");
  EXPECT_TRUE(spoofed->spoofed);
  EXPECT_NE(spoofed->spoofReason.find("203.0.113.9"), std::string::npos) << spoofed->spoofReason;
  auto h = MessageHeaders::parse(inbox.mails[2]);
  EXPECT_EQ(h.first("X-Bccsink-Queue-Id"), "01D");
  EXPECT_EQ(h.decoded("Subject"), "[bccsink] clean, spoofed: wire");
  EXPECT_EQ(reporter.runOnce(), 0u);  // judged once, sent once
  EXPECT_EQ(inbox.mails.size(), 3u);
}

TEST_F(ReporterTest, AnInternalOriginalRecipientMakesTheInternalCaseWithoutInternalToOrCc) {
  // An internal sender through an untrusted hop, To and Cc external: not the internal case
  // on the headers alone. The copy's recipients (recipient_bcc_maps) say it was also for
  // an internal mailbox: judged as the filter judges envelope recipients.
  const std::string headers =
      "Received: from evil.example.net (evil.example.net [203.0.113.9]) by mx.example.com "
      "(Postfix) with ESMTP id 1; Mon, 30 Nov 2026 01:59:00 +0000\r\n"
      "From: ceo@example.com\r\nTo: partner@example.net\r\nSubject: wire\r\n";
  for (const auto& [id, rcpts] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"01A", {"watch+partner=example.net@bcc.test"}},
           {"01B", {"watch+partner=example.net@bcc.test", "watch+staff=EXAMPLE.com@bcc.test"}}}) {
    std::ofstream(spool + "/" + id + ".eml")
        << "Received: from mta.example.com (unknown [127.0.0.1])\r\n\tby sink.test; Mon, 30 "
           "Nov 2026 02:00:00 +0000\r\n"
        << headers << "\r\nbody\r\n";
    auto r = test::sampleRecord(id, "2026-11-30T02:00:00.000Z");
    r.sender = "ceo@example.com";
    r.recipients.clear();
    for (const auto& a : rcpts) r.recipients.push_back({a, "", "NEVER"});
    queue.insertPending({r});
    ASSERT_TRUE(queue.claimNext("sink-a", nowMs() + 60000, nowMs() + 60000, isoNow()));
    ASSERT_TRUE(queue.markChecked(id, "sink-a", "clean", isoNow()));
  }
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 1u);
  EXPECT_FALSE(queue.find("01A")->spoofed);
  auto spoofed = queue.find("01B");
  EXPECT_TRUE(spoofed->spoofed);
  EXPECT_EQ(spoofed->spoofReason,
            "sender domain example.com is internal and hop 2 came from 203.0.113.9, not a "
            "trusted relay");
  ASSERT_EQ(inbox.mails.size(), 1u);
  EXPECT_NE(inbox.mails[0].find("X-Bccsink-Queue-Id: 01B"), std::string::npos);
}

TEST_F(ReporterTest, TheDangerousThresholdLeavesSuspiciousMessagesUnreported) {
  add("01A", "suspicious", kPlain);
  add("01B", "dangerous", kPlain);
  Inbox inbox;
  auto s = settings();
  s.threshold = "dangerous";
  Reporter reporter(s, Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 1u);
  EXPECT_EQ(queue.find("01A")->reportStatus, "none");
  EXPECT_EQ(queue.find("01B")->reportStatus, "sent");
  s.threshold = "clean";
  EXPECT_THROW(Reporter(s, Templates::builtIn(), inbox.deliver()), std::invalid_argument);
}

TEST_F(ReporterTest, TheUnscannedThresholdAlsoReportsWhatCouldNotBeAnalysed) {
  add("01A", "unscanned", kPlain);
  add("01B", "clean", kPlain);
  add("01C", "suspicious", kPlain);
  Inbox inbox;
  auto s = settings();
  s.threshold = "unscanned";
  Reporter reporter(s, Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 2u);
  EXPECT_EQ(queue.find("01A")->reportStatus, "sent");
  EXPECT_EQ(queue.find("01B")->reportStatus, "none");
  EXPECT_EQ(queue.find("01C")->reportStatus, "sent");
}

TEST_F(ReporterTest, TheDefaultThresholdLeavesUnscannedMessagesUnreported) {
  add("01A", "unscanned", kPlain);
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 0u);
  EXPECT_EQ(queue.find("01A")->reportStatus, "none");
}

TEST_F(ReporterTest, ATemporaryFailureWaitsItsTurnAndAPermanentOneIsSetAside) {
  add("01A", "dangerous", kPlain);
  Inbox inbox;
  inbox.answers = {Outcome::TempFail};
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 0u);
  auto m = queue.find("01A");
  EXPECT_EQ(m->state, "checked");
  EXPECT_EQ(m->reportStatus, "due");
  EXPECT_EQ(m->reportAttempts, 1);
  EXPECT_EQ(m->reportError, "421 4.3.2 try later");
  EXPECT_GE(m->reportNextMs, nowMs() + 50000);  // retryBase 60 s
  EXPECT_EQ(reporter.runOnce(), 0u);            // not due yet: not tried again
  EXPECT_EQ(inbox.mails.size(), 1u);

  add("01B", "dangerous", kPlain);
  inbox.answers = {Outcome::PermFail};
  EXPECT_EQ(reporter.runOnce(), 0u);
  EXPECT_EQ(queue.find("01B")->reportStatus, "undeliverable");
  EXPECT_EQ(queue.find("01B")->state, "checked");
}

TEST_F(ReporterTest, ADigestCarriesEveryDueMessageInOneMail) {
  add("01A", "dangerous", kPlain);
  add("01B", "suspicious", kPlain);
  add("01C", "clean", kPlain);
  Inbox inbox;
  auto s = settings();
  s.digestInterval = std::chrono::seconds(1);
  Reporter reporter(s, Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 0u);  // the first interval has not passed
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(reporter.runOnce(), 2u);
  ASSERT_EQ(inbox.mails.size(), 1u);
  auto h = MessageHeaders::parse(inbox.mails[0]);
  EXPECT_EQ(h.decoded("Subject"),
            "[bccsink] digest: 2 messages (1 dangerous, 1 suspicious, 0 spoofed)");
  EXPECT_EQ(queue.find("01A")->state, "reported");
  EXPECT_EQ(queue.find("01B")->state, "reported");
}

TEST_F(ReporterTest, AMissingSpoolFileStillGivesAReportThatSaysSo) {
  add("01A", "dangerous", kPlain);
  std::filesystem::remove(spool + "/01A.eml");
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 1u);
  ASSERT_EQ(inbox.mails.size(), 1u);
  auto m = queue.find("01A");
  auto r = Reporter::load(database, *m, spool, 1);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors.back().find("cannot read the spooled message"), std::string::npos);
}

TEST_F(ReporterTest, AReceiverThatThrowsIsATemporaryFailure) {
  add("01A", "dangerous", kPlain);
  Reporter reporter(settings(), Templates::builtIn(),
                    [](const std::string&) -> DeliveryResult { throw std::runtime_error("boom"); });
  EXPECT_EQ(reporter.runOnce(), 0u);
  auto m = queue.find("01A");
  EXPECT_EQ(m->reportStatus, "due");
  EXPECT_EQ(m->reportError, "boom");
}

TEST_F(ReporterTest, AWakeReportsAtOnceWithoutWaitingForTheSweep) {
  std::mutex m;
  std::condition_variable cv;
  int delivered = 0;
  auto s = settings();
  s.sweep = std::chrono::hours(1);
  Reporter reporter(s, Templates::builtIn(), [&](const std::string&) {
    std::lock_guard lock(m);
    ++delivered;
    cv.notify_all();
    DeliveryResult r;
    r.receipt = "250 2.0.0 queued";
    return r;
  });
  reporter.start();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // its first round: nothing
  add("01A", "dangerous", kPlain);
  reporter.wake();  // as the pipeline's "message checked" event does
  {
    std::unique_lock lock(m);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return delivered == 1; }));
  }
  reporter.stop();
  EXPECT_EQ(queue.find("01A")->state, "reported");
}

// SMTP mode: what was done with the message decides whether the administrator is told.

TEST_F(ReporterTest, AHeldMessageIsReportedOnlyOnceTheHoldStageDecided) {
  add("01A", "dangerous", kPlain, "alice@example.org", true);
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 0u);  // held: its report would not say what was done
  EXPECT_EQ(queue.find("01A")->reportStatus, "held");
  db::HoldQueue hold(database);
  ASSERT_TRUE(hold.decide("01A", db::hold_state::kQuarantined, db::hold_action::kQuarantine,
                          "dangerous: Eicar-Test-Signature", nowMs()));
  EXPECT_EQ(reporter.runOnce(), 1u);
  ASSERT_EQ(inbox.mails.size(), 1u);
  auto h = MessageHeaders::parse(inbox.mails[0]);
  EXPECT_EQ(h.decoded("Subject"), "[bccsink] dangerous, quarantined: hello");
  EXPECT_EQ(h.first("X-Bccsink-Smtp-Mode"), "quarantined");
  auto r = Reporter::load(database, *queue.find("01A"), spool, 1);
  ASSERT_TRUE(r.hold);
  EXPECT_EQ(r.hold->state, "quarantined");
  EXPECT_EQ(r.hold->action, "quarantine");
  EXPECT_EQ(r.hold->why, "dangerous: Eicar-Test-Signature");
  EXPECT_FALSE(r.hold->decidedAt.empty());
}

TEST_F(ReporterTest, ATimeoutQuarantinedCleanMessageIsReportedEvenUnderTheDangerousThreshold) {
  add("01A", "clean", kPlain, "alice@example.org", true);
  add("01B", "clean", kPlain, "alice@example.org", true);
  add("01C", "suspicious", kPlain, "alice@example.org", true);
  db::HoldQueue hold(database);
  ASSERT_TRUE(hold.decide("01A", db::hold_state::kQuarantined, db::hold_action::kQuarantine,
                          "no verdict within SmtpMaxHold (60m)", nowMs()));
  ASSERT_TRUE(
      hold.decide("01B", db::hold_state::kDeliver, db::hold_action::kPass, "clean", nowMs()));
  ASSERT_TRUE(hold.decide("01C", db::hold_state::kDiscarded, db::hold_action::kDiscard,
                          "suspicious: macro", nowMs()));
  Inbox inbox;
  auto s = settings();
  s.threshold = "dangerous";
  Reporter reporter(s, Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 2u);
  EXPECT_EQ(queue.find("01A")->reportStatus, "sent");
  EXPECT_EQ(queue.find("01B")->reportStatus, "none");  // passed, under the threshold
  EXPECT_EQ(queue.find("01C")->reportStatus, "sent");  // discarded: told too
  ASSERT_EQ(inbox.mails.size(), 2u);
  EXPECT_EQ(MessageHeaders::parse(inbox.mails[0]).decoded("Subject"),
            "[bccsink] clean, quarantined: hello");
  EXPECT_EQ(MessageHeaders::parse(inbox.mails[1]).decoded("Subject"),
            "[bccsink] suspicious, discarded: hello");
}

TEST_F(ReporterTest, AMessageTheRelayRejectedAfterItWasJudgedIsReportedThen) {
  add("01A", "clean", kPlain, "alice@example.org", true);
  db::HoldQueue hold(database);
  ASSERT_TRUE(
      hold.decide("01A", db::hold_state::kDeliver, db::hold_action::kPass, "clean", nowMs()));
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 0u);
  ASSERT_EQ(queue.find("01A")->reportStatus, "none");
  // What the hold stage does when the relay answers 5xx.
  ASSERT_TRUE(hold.markRejected("01A", "550 5.7.1 relay refused", nowMs(), {}));
  ASSERT_TRUE(db::ReportQueue(database).requeue("01A"));
  EXPECT_EQ(reporter.runOnce(), 1u);
  ASSERT_EQ(inbox.mails.size(), 1u);
  EXPECT_EQ(MessageHeaders::parse(inbox.mails[0]).decoded("Subject"),
            "[bccsink] clean, rejected: hello");
  auto r = Reporter::load(database, *queue.find("01A"), spool, 1);
  ASSERT_TRUE(r.hold);
  EXPECT_EQ(r.hold->state, "rejected");
  EXPECT_EQ(r.hold->lastError, "550 5.7.1 relay refused");
}

TEST_F(ReporterTest, ABccCopysReportHasNoHoldPart) {
  add("01A", "dangerous", kPlain);
  auto r = Reporter::load(database, *queue.find("01A"), spool, 1);
  EXPECT_FALSE(r.hold);
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 1u);
  ASSERT_EQ(inbox.mails.size(), 1u);
  EXPECT_TRUE(MessageHeaders::parse(inbox.mails[0]).all("X-Bccsink-Smtp-Mode").empty());
}
