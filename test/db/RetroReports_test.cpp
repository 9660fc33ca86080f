#include "db/RetroReports.h"

#include <gtest/gtest.h>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "test/db/Engines.h"
#include "test/db/RetroRows.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

class RetroReportsTest : public test::EngineTest {
 protected:
  void SetUp() override {
    auto a = test::sampleRecord("01A", "2026-11-30T04:00:00.000Z");
    a.recipients = {{"watch+bob=example.org@bcc.test"}, {"watch+eve=example.net@bcc.test"}};
    auto b = test::sampleRecord("01B", "2026-11-29T04:00:00.000Z", "sink-b");
    b.sender = "mallory@example.com";
    queue.insertPending({a, b, test::sampleRecord("01C")});
    test::setOriginalRecipient(database, "01A", 0, "bob@example.org");
    test::setOriginalRecipient(database, "01A", 1, "eve@example.net");
  }

  test::RetroAlertRow alert(const std::string& id, std::int64_t createdMs,
                            const std::string& sink = "sink-a") {
    test::RetroAlertRow r;
    r.id = id;
    r.sink = sink;
    r.createdMs = createdMs;
    r.createdAt = "2026-12-01T09:00:0" + std::to_string(createdMs % 10) + ".000Z";
    r.messages = {{"01A"}, {"01B", "suspicious"}};
    return r;
  }

  db::Database& database = *db_;
  db::MessageQueue queue{database};
  db::RetroReports retro{database};
};

TEST_P(RetroReportsTest, AnAlertIsReadWithEveryMessageItsSenderAndItsRecipients) {
  test::insertRetroAlert(database, alert("01R1", 1000));
  auto a = retro.find("01R1");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->sink, "sink-a");
  EXPECT_EQ(a->sha256, std::string(64, 'b'));
  EXPECT_EQ(a->analyzer, "yara");
  EXPECT_EQ(a->verdict, "dangerous");
  EXPECT_EQ(a->threats, (std::vector<std::string>{"Win.Trojan.Agent", "Evil_Macro"}));
  EXPECT_EQ(a->cause, "rules-reload");
  EXPECT_EQ(a->reportStatus, "due");
  EXPECT_EQ(a->messageCount, 2u);
  ASSERT_EQ(a->messages.size(), 2u);
  // Oldest received first.
  const auto& b = a->messages[0];
  EXPECT_EQ(b.msgId, "01B");
  EXPECT_EQ(b.sink, "sink-b");
  EXPECT_EQ(b.sender, "mallory@example.com");
  EXPECT_EQ(b.receivedAt, "2026-11-29T04:00:00.000Z");
  EXPECT_EQ(b.earlierVerdict, "suspicious");
  EXPECT_EQ(b.recipients, (std::vector<std::string>{"watch@bcc.test"}));
  EXPECT_TRUE(b.originalRecipients.empty());
  const auto& m = a->messages[1];
  EXPECT_EQ(m.msgId, "01A");
  EXPECT_EQ(m.earlierVerdict, "clean");
  EXPECT_EQ(m.earlierCheckedAt, "2026-11-30T04:00:02.000Z");
  EXPECT_EQ(m.verdict, "dangerous");
  EXPECT_EQ(m.filePath, "invoice.zip > invoice.exe");
  EXPECT_EQ(m.recipients, (std::vector<std::string>{"watch+bob=example.org@bcc.test",
                                                    "watch+eve=example.net@bcc.test"}));
  EXPECT_EQ(m.originalRecipients, (std::vector<std::string>{"bob@example.org", "eve@example.net"}));
  EXPECT_FALSE(retro.find("nope"));
}

TEST_P(RetroReportsTest, OnlyThisSinksDueAlertsWhoseTimeHasComeAreDueOldestFirst) {
  test::insertRetroAlert(database, alert("01R2", 2000));
  test::insertRetroAlert(database, alert("01R1", 1000));
  test::insertRetroAlert(database, alert("01R3", 3000, "sink-b"));
  auto none = alert("01R4", 4000);
  none.reportStatus = "none";
  test::insertRetroAlert(database, none);
  EXPECT_EQ(retro.due("sink-a", 0, 10), (std::vector<std::string>{"01R1", "01R2"}));
  EXPECT_EQ(retro.due("sink-a", 0, 1), (std::vector<std::string>{"01R1"}));
  EXPECT_EQ(retro.due("sink-b", 0, 10), (std::vector<std::string>{"01R3"}));
}

TEST_P(RetroReportsTest, DeferredWaitsForItsTimeSentAndUndeliverableAreNotDueResendIs) {
  test::insertRetroAlert(database, alert("01R1", 1000));
  retro.markDeferred("01R1", std::string("421 \xc3 busy", 10), 5000);
  EXPECT_TRUE(retro.due("sink-a", 4999, 10).empty());
  EXPECT_EQ(retro.due("sink-a", 5000, 10), (std::vector<std::string>{"01R1"}));
  auto a = retro.find("01R1");
  EXPECT_EQ(a->reportAttempts, 1);
  EXPECT_EQ(a->reportError, "421 \xef\xbf\xbd busy");  // stored as valid UTF-8
  EXPECT_FALSE(retro.requeue("01R1"));                 // due already: its back-off stands
  EXPECT_EQ(retro.find("01R1")->reportNextAt, 5000);

  retro.markSent("01R1", "2026-12-01T09:01:00.000Z");
  a = retro.find("01R1");
  EXPECT_EQ(a->reportStatus, "sent");
  EXPECT_EQ(a->reportedAt, "2026-12-01T09:01:00.000Z");
  EXPECT_EQ(a->reportAttempts, 2);
  EXPECT_TRUE(a->reportError.empty());
  EXPECT_TRUE(retro.due("sink-a", 99999, 10).empty());

  EXPECT_TRUE(retro.requeue("01R1"));
  EXPECT_EQ(retro.due("sink-a", 0, 10), (std::vector<std::string>{"01R1"}));
  EXPECT_EQ(retro.find("01R1")->reportAttempts, 0);
  retro.markUndeliverable("01R1", "550 5.1.1 no such user");
  EXPECT_EQ(retro.find("01R1")->reportStatus, "undeliverable");
  EXPECT_EQ(retro.find("01R1")->reportError, "550 5.1.1 no such user");
  EXPECT_TRUE(retro.due("sink-a", 99999, 10).empty());
  EXPECT_EQ(retro.countByStatus(), (std::map<std::string, std::int64_t>{{"undeliverable", 1}}));
  EXPECT_FALSE(retro.requeue("nope"));
}

TEST_P(RetroReportsTest, TheListIsNewestFirstFilteredAndLimited) {
  test::insertRetroAlert(database, alert("01R1", 1001));
  test::insertRetroAlert(database, alert("01R2", 1002, "sink-b"));
  test::insertRetroAlert(database, alert("01R3", 1003));
  auto ids = [](const std::vector<db::RetroAlert>& list) {
    std::vector<std::string> out;
    for (const auto& a : list) out.push_back(a.id);
    return out;
  };
  db::RetroQuery q;
  EXPECT_EQ(ids(retro.list(q)), (std::vector<std::string>{"01R3", "01R2", "01R1"}));
  EXPECT_EQ(retro.list(q)[0].messageCount, 2u);
  EXPECT_TRUE(retro.list(q)[0].messages.empty());  // the list does not read them
  q.limit = 2;
  EXPECT_EQ(ids(retro.list(q)), (std::vector<std::string>{"01R3", "01R2"}));
  q.limit = 100;
  q.sink = "sink-a";
  EXPECT_EQ(ids(retro.list(q)), (std::vector<std::string>{"01R3", "01R1"}));
  q.sink.clear();
  q.since = "2026-12-01T09:00:02.000Z";
  q.until = "2026-12-01T09:00:03.000Z";
  EXPECT_EQ(ids(retro.list(q)), (std::vector<std::string>{"01R2"}));
  q = {};
  retro.markSent("01R1", "2026-12-01T09:01:00.000Z");
  q.status = "sent";
  EXPECT_EQ(ids(retro.list(q)), (std::vector<std::string>{"01R1"}));
}

TEST_P(RetroReportsTest, AMessageKnowsTheAlertsThatNameIt) {
  test::insertRetroAlert(database, alert("01R2", 2000));
  auto first = alert("01R1", 1000);
  first.analyzer = "vxcube";
  first.cause = "late-answer";
  first.threats = "Trojan.Generic";
  first.messages = {{"01A", "clean", "2026-11-30T04:00:02.000Z", "suspicious", "a.doc"}};
  test::insertRetroAlert(database, first);
  auto list = retro.ofMessage("01A");
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].alertId, "01R1");
  EXPECT_EQ(list[0].analyzer, "vxcube");
  EXPECT_EQ(list[0].cause, "late-answer");
  EXPECT_EQ(list[0].earlierVerdict, "clean");
  EXPECT_EQ(list[0].verdict, "suspicious");
  EXPECT_EQ(list[0].filePath, "a.doc");
  EXPECT_EQ(list[0].threats, (std::vector<std::string>{"Trojan.Generic"}));
  EXPECT_EQ(list[1].alertId, "01R2");
  EXPECT_EQ(list[1].createdAt, "2026-12-01T09:00:00.000Z");
  EXPECT_TRUE(retro.ofMessage("01C").empty());
}

BCCSINK_ON_BOTH_ENGINES(RetroReportsTest);
