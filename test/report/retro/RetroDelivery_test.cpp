#include "report/retro/RetroDelivery.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/RetroReports.h"
#include "report/Reporter.h"
#include "report/delivery/Maildir.h"
#include "report/spoof/MessageHeaders.h"
#include "test/TempDir.h"
#include "test/db/RetroRows.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using namespace bccsink::report;

namespace {

// A receiver that keeps what it was given and answers as told (Ok once out of answers).
struct Inbox {
  std::vector<std::string> mails;
  std::vector<Outcome> answers;
  report::Deliver deliver() {
    return [this](const std::string& mail) {
      mails.push_back(mail);
      DeliveryResult r;
      if (!answers.empty()) {
        r.outcome = answers.front();
        answers.erase(answers.begin());
        r.reason =
            r.outcome == Outcome::TempFail ? "421 4.3.2 try later" : "550 5.1.1 no such user";
      }
      if (r.ok()) r.receipt = "250 2.0.0 queued";
      return r;
    };
  }
};

class RetroDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database.migrate();
    std::filesystem::create_directories(spool);
    queue.insertPending({test::sampleRecord("01A"),
                         test::sampleRecord("01B", "2026-11-30T05:00:00.000Z", "sink-b")});
  }

  void alert(const std::string& id, const std::string& sink = "sink-a",
             const std::string& status = "due") {
    test::RetroAlertRow a;
    a.id = id;
    a.sink = sink;
    a.reportStatus = status;
    a.messages = {{"01A"}, {"01B"}};
    test::insertRetroAlert(database, a);
  }

  ReporterSettings settings() {
    ReporterSettings s;
    s.databaseUrl = url;
    s.spoolDir = spool;
    s.owner = "sink-a";
    s.mail = {"bccsink@example.com", {"admin@example.com"}, "sink.test"};
    s.retryBase = std::chrono::milliseconds(60000);
    return s;
  }

  test::TempDir dir;
  std::string url = "sqlite:" + (dir / "q.db");
  std::string spool = dir / "spool";
  db::Database database{url};
  db::MessageQueue queue{database};
  db::RetroReports retro{database};
};

}  // namespace

TEST_F(RetroDeliveryTest, TheReporterSendsADueAlertOnceAndOnlyItsOwnSinks) {
  alert("01R1");
  alert("01R2", "sink-b");          // another sink found it: that sink reports it
  alert("01R3", "sink-a", "none");  // nothing crossed the threshold
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 1u);
  ASSERT_EQ(inbox.mails.size(), 1u);
  auto headers = MessageHeaders::parse(inbox.mails[0]);
  EXPECT_EQ(headers.first("X-Bccsink-Retro"), "yes");
  EXPECT_EQ(headers.first("X-Bccsink-Retro-Alert"), "01R1");
  EXPECT_EQ(headers.decoded("Subject"),
            "[bccsink] retro-alert: invoice.exe now dangerous (2 messages)");
  EXPECT_EQ(retro.find("01R1")->reportStatus, "sent");
  EXPECT_FALSE(retro.find("01R1")->reportedAt.empty());
  EXPECT_EQ(reporter.runOnce(), 0u);  // sent: not again
  EXPECT_EQ(inbox.mails.size(), 1u);
  EXPECT_EQ(retro.find("01R2")->reportStatus, "due");
  EXPECT_EQ(retro.find("01R3")->reportStatus, "none");
  EXPECT_EQ(reporter.retroCounts().sent, 1u);
  EXPECT_EQ(reporter.counts().sent, 0u);  // message reports are counted apart
}

TEST_F(RetroDeliveryTest, ATemporaryFailureIsRetriedAfterItsBackOffAndAPermanentOneIsSetAside) {
  alert("01R1");
  Inbox inbox;
  inbox.answers = {Outcome::TempFail};
  auto s = settings();
  const auto templates = Templates::builtIn();
  const report::Deliver deliver = inbox.deliver();
  RetroDelivery delivery({s.owner, s.mail, s.retryBase, s.retryCap, s.batch}, templates, deliver);
  const auto t0 = nowMs();
  EXPECT_EQ(delivery.deliverDue(database, t0), 0u);
  auto a = retro.find("01R1");
  EXPECT_EQ(a->reportStatus, "due");
  EXPECT_EQ(a->reportAttempts, 1);
  EXPECT_EQ(a->reportError, "421 4.3.2 try later");
  EXPECT_GE(a->reportNextAt, t0 + 30000);                   // retryBase 60 s, jittered
  EXPECT_EQ(delivery.deliverDue(database, t0 + 1000), 0u);  // not due yet: not tried
  EXPECT_EQ(inbox.mails.size(), 1u);
  EXPECT_EQ(delivery.deliverDue(database, a->reportNextAt), 1u);  // its time: tried again
  EXPECT_EQ(inbox.mails.size(), 2u);
  EXPECT_EQ(retro.find("01R1")->reportStatus, "sent");
  EXPECT_EQ(retro.find("01R1")->reportAttempts, 2);

  alert("01R2");
  inbox.answers = {Outcome::PermFail};
  EXPECT_EQ(delivery.deliverDue(database, nowMs()), 0u);
  EXPECT_EQ(retro.find("01R2")->reportStatus, "undeliverable");
  EXPECT_EQ(retro.find("01R2")->reportError, "550 5.1.1 no such user");
  EXPECT_EQ(delivery.deliverDue(database, nowMs() + 86400000), 0u);  // never again by itself
  EXPECT_EQ(inbox.mails.size(), 3u);
  EXPECT_TRUE(retro.requeue("01R2"));  // `report resend`
  EXPECT_EQ(delivery.deliverDue(database, nowMs()), 1u);
  auto c = delivery.counts();
  EXPECT_EQ(c.sent, 2u);
  EXPECT_EQ(c.deferred, 1u);
  EXPECT_EQ(c.undeliverable, 1u);
}

TEST_F(RetroDeliveryTest, AReceiverThatThrowsIsATemporaryFailureAndTheStepWaitsForIt) {
  alert("01R1");
  alert("01R2");
  Inbox inbox;
  auto s = settings();
  bool thrown = false;
  report::Deliver flaky = [&](const std::string& mail) {
    if (!thrown) {
      thrown = true;
      throw std::runtime_error("boom");
    }
    return inbox.deliver()(mail);
  };
  const auto templates = Templates::builtIn();
  RetroDelivery delivery({s.owner, s.mail, s.retryBase, s.retryCap, s.batch}, templates, flaky);
  EXPECT_EQ(delivery.deliverDue(database, nowMs()), 0u);
  EXPECT_EQ(retro.find("01R1")->reportError, "boom");
  EXPECT_EQ(retro.find("01R2")->reportAttempts, 0);       // the step stopped: the receiver is down
  EXPECT_EQ(delivery.deliverDue(database, nowMs()), 1u);  // 01R2; 01R1 waits for its time
  EXPECT_EQ(retro.find("01R2")->reportStatus, "sent");
  EXPECT_EQ(retro.find("01R1")->reportStatus, "due");
}

TEST_F(RetroDeliveryTest, ARetroReportLandsInTheMaildirOutbox) {
  alert("01R1");
  Maildir outbox(dir / "outbox");
  Reporter reporter(settings(), Templates::builtIn(),
                    [&outbox](const std::string& mail) { return outbox.deliver(mail); });
  EXPECT_EQ(reporter.runOnce(), 1u);
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir / "outbox/new"))
    files.push_back(e.path());
  ASSERT_EQ(files.size(), 1u);
  std::ifstream in(files[0]);
  std::string mail((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(MessageHeaders::parse(mail).first("X-Bccsink-Retro"), "yes");
  EXPECT_EQ(retro.find("01R1")->reportStatus, "sent");
}

TEST_F(RetroDeliveryTest, DigestModeDoesNotHoldARetroReportBack) {
  alert("01R1");
  Inbox inbox;
  auto s = settings();
  s.digestInterval = std::chrono::hours(24);  // no digest for a day
  Reporter reporter(s, Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(reporter.runOnce(), 1u);
  ASSERT_EQ(inbox.mails.size(), 1u);
  EXPECT_EQ(MessageHeaders::parse(inbox.mails[0]).first("X-Bccsink-Retro"), "yes");
}
