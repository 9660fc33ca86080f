#include "db/ReportQueue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "db/Database.h"
#include "db/HoldQueue.h"
#include "db/MessageQueue.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

namespace {

db::MessageRecord record(const std::string& id, const std::string& sink = "sink-a") {
  return test::sampleRecord(id, "2026-11-30T04:00:00.000Z", sink);
}

}  // namespace

class ReportQueueTest : public test::EngineTest {
 protected:
  // Puts the message through a claim to `checked` with this verdict.
  void check(const std::string& id, const std::string& verdict) {
    auto m = queue.claimNext("sink-a", 1000, 2000, "2026-11-30T04:00:01.000Z");
    ASSERT_TRUE(m);
    ASSERT_EQ(m->id, id);
    ASSERT_TRUE(queue.markChecked(id, "sink-a", verdict, "2026-11-30T04:00:02.000Z"));
  }

  db::Database& database = *db_;
  db::MessageQueue queue{database};
  db::ReportQueue reports{database};
};

TEST_P(ReportQueueTest, OnlyCheckedAndFailedMessagesOfThisSinkWaitToBeJudged) {
  queue.insertPending({record("01A"), record("01B"), record("01C"), record("01D", "sink-b")});
  check("01A", "clean");
  queue.markFailed("01B", "poison", "unscanned", "2026-11-30T04:00:03.000Z");
  EXPECT_EQ(reports.unjudged("sink-a", 10), (std::vector<std::string>{"01A", "01B"}));
  EXPECT_TRUE(reports.unjudged("sink-b", 10).empty());  // 01D is still pending
  reports.judge("01A", false, "", false);
  EXPECT_EQ(reports.unjudged("sink-a", 10), (std::vector<std::string>{"01B"}));
  auto m = queue.find("01A");
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->judged);
  EXPECT_EQ(m->reportStatus, "none");
  EXPECT_EQ(m->state, "checked");  // nothing to report: it stays checked
}

TEST_P(ReportQueueTest, ADueReportIsRetriedAtItsTimeAndSentMakesTheMessageReported) {
  queue.insertPending({record("01A")});
  check("01A", "dangerous");
  reports.judge("01A", true, "hop 2 came from 203.0.113.9", true);
  EXPECT_EQ(reports.due("sink-a", 0, 10), (std::vector<std::string>{"01A"}));
  reports.markDeferred({"01A"}, "421 4.3.2 try later", 5000);
  EXPECT_TRUE(reports.due("sink-a", 4999, 10).empty());
  EXPECT_EQ(reports.due("sink-a", 5000, 10), (std::vector<std::string>{"01A"}));
  auto m = queue.find("01A");
  EXPECT_EQ(m->reportAttempts, 1);
  EXPECT_EQ(m->reportError, "421 4.3.2 try later");
  EXPECT_TRUE(m->spoofed);
  EXPECT_EQ(m->spoofReason, "hop 2 came from 203.0.113.9");
  reports.markSent({"01A"}, "2026-11-30T04:01:00.000Z");
  m = queue.find("01A");
  EXPECT_EQ(m->state, "reported");
  EXPECT_EQ(m->reportStatus, "sent");
  EXPECT_EQ(m->reportAttempts, 2);
  EXPECT_EQ(m->reportedAt, "2026-11-30T04:01:00.000Z");
  EXPECT_TRUE(m->reportError.empty());
  EXPECT_TRUE(reports.due("sink-a", 99999, 10).empty());
}

TEST_P(ReportQueueTest, AFailedMessageKeepsItsStateWhenItsReportIsSent) {
  queue.insertPending({record("01A")});
  queue.markFailed("01A", "poison", "unscanned", "2026-11-30T04:00:03.000Z");
  reports.judge("01A", false, "", true);
  reports.markSent({"01A"}, "2026-11-30T04:01:00.000Z");
  auto m = queue.find("01A");
  EXPECT_EQ(m->state, "failed");
  EXPECT_EQ(m->reportStatus, "sent");
}

TEST_P(ReportQueueTest, ResendPutsAnUndeliverableOrSentReportBackAndRefusesOthers) {
  queue.insertPending({record("01A"), record("01B")});
  check("01A", "suspicious");
  reports.judge("01A", false, "", true);
  reports.markUndeliverable({"01A"}, "550 5.1.1 no such user");
  EXPECT_TRUE(reports.due("sink-a", 99999, 10).empty());
  EXPECT_EQ(queue.find("01A")->reportStatus, "undeliverable");
  EXPECT_EQ(reports.countByStatus(), (std::map<std::string, std::int64_t>{{"undeliverable", 1}}));
  EXPECT_TRUE(reports.requeue("01A"));
  EXPECT_EQ(reports.due("sink-a", 0, 10), (std::vector<std::string>{"01A"}));
  EXPECT_EQ(queue.find("01A")->reportAttempts, 0);
  reports.markDeferred({"01A"}, "421 try later", 99999);
  EXPECT_FALSE(reports.requeue("01A"));  // due already: its back-off stands
  EXPECT_EQ(queue.find("01A")->reportNextMs, 99999);
  EXPECT_FALSE(reports.requeue("01B"));  // pending: not judged, nothing to resend
  EXPECT_FALSE(reports.requeue("nope"));
}

TEST_P(ReportQueueTest, ARoundsJudgementsAreRecordedTogether) {
  queue.insertPending({record("01A"), record("01B"), record("01C")});
  check("01A", "clean");
  check("01B", "dangerous");
  check("01C", "clean");
  reports.judge(std::vector<db::Judgement>{{"01A", false, "", false, "192.0.2.1"},
                                           {"01B", false, "", true, ""},
                                           {"01C", true, "hop 2 came from 203.0.113.9", true, ""}});
  EXPECT_TRUE(reports.unjudged("sink-a", 10).empty());
  EXPECT_EQ(queue.find("01A")->reportStatus, "none");
  EXPECT_EQ(reports.due("sink-a", 0, 10), (std::vector<std::string>{"01B", "01C"}));
  EXPECT_TRUE(queue.find("01C")->spoofed);
  EXPECT_EQ(queue.find("01C")->spoofReason, "hop 2 came from 203.0.113.9");
  reports.judge(std::vector<db::Judgement>{});  // an empty round writes nothing
}

TEST_P(ReportQueueTest, AResentReportOfAReportedMessageIsDueAgain) {
  queue.insertPending({record("01A")});
  check("01A", "dangerous");
  reports.judge("01A", false, "", true);
  reports.markSent({"01A"}, "2026-11-30T04:01:00.000Z");
  ASSERT_EQ(queue.find("01A")->state, "reported");
  EXPECT_TRUE(reports.due("sink-a", 0, 10).empty());
  EXPECT_TRUE(reports.requeue("01A"));
  EXPECT_EQ(reports.due("sink-a", 0, 10), (std::vector<std::string>{"01A"}));
}

TEST_P(ReportQueueTest, AReportJudgedNotWorthOneCanBeMadeDueAgain) {
  // SMTP mode: the relay refuses a message judged clean (report none); the hold stage
  // makes its report due so the administrator is told.
  queue.insertPending({record("01A")});
  check("01A", "clean");
  reports.judge("01A", false, "", false);
  ASSERT_EQ(queue.find("01A")->reportStatus, "none");
  ASSERT_EQ(queue.find("01A")->state, "checked");
  EXPECT_TRUE(reports.requeue("01A"));
  EXPECT_EQ(reports.due("sink-a", 0, 10), (std::vector<std::string>{"01A"}));
}

TEST_P(ReportQueueTest, AHeldMessageIsJudgedOnlyOnceItsActionIsDecidedAndNotResentBefore) {
  auto held = record("01A");
  held.hold = true;
  queue.insertPending({held, record("01B")});
  check("01A", "clean");
  check("01B", "clean");
  EXPECT_EQ(queue.find("01A")->reportStatus, "held");
  EXPECT_EQ(reports.unjudged("sink-a", 10), (std::vector<std::string>{"01B"}));
  EXPECT_FALSE(reports.requeue("01A"));  // its report would not say what was done
  EXPECT_EQ(queue.find("01A")->reportStatus, "held");
  EXPECT_EQ(reports.holdStates({"01A", "01B", "nope"}),
            (std::map<std::string, std::string>{{"01A", "holding"}}));
  EXPECT_TRUE(reports.holdStates({}).empty());

  db::HoldQueue hold(database);
  ASSERT_TRUE(hold.decide("01A", db::hold_state::kQuarantined, db::hold_action::kQuarantine,
                          "no verdict within 60m", 1000));
  EXPECT_EQ(reports.unjudged("sink-a", 10), (std::vector<std::string>{"01A", "01B"}));
  EXPECT_EQ(reports.holdStates({"01A", "01B"}),
            (std::map<std::string, std::string>{{"01A", "quarantined"}}));
}

TEST_P(ReportQueueTest, ErrorsAndReasonsFromMailAreStoredAsValidUtf8WithoutNul) {
  queue.insertPending({record("01A"), record("01B")});
  check("01A", "dangerous");
  check("01B", "dangerous");
  reports.judge(std::vector<db::Judgement>{{"01A", true, std::string("From: \xff\0x", 9), true, ""},
                                           {"01B", false, "", true, ""}});
  reports.markDeferred({"01A"}, std::string("421 \xc3 busy\0", 11), 5000);
  reports.markUndeliverable({"01B"}, std::string("550 \x80\0no", 8));
  EXPECT_EQ(queue.find("01A")->spoofReason, "From: \xef\xbf\xbdx");
  EXPECT_EQ(queue.find("01A")->reportError, "421 \xef\xbf\xbd busy");
  EXPECT_EQ(queue.find("01B")->reportError, "550 \xef\xbf\xbdno");
}

// Two sinks on one database, each with its own reporter and connection, running at once:
// each delivers only the messages it received, and every report goes out exactly once.
TEST_P(ReportQueueTest, TwoSinksReportersDeliverEachMessageOnceEachOnlyItsOwn) {
  constexpr int kPerSink = 30;
  std::vector<db::MessageRecord> records;
  for (int i = 0; i < 2 * kPerSink; ++i) {
    char id[8];
    std::snprintf(id, sizeof id, "01M%03d", i);
    records.push_back(record(id, i % 2 ? "sink-b" : "sink-a"));
  }
  queue.insertPending(records);
  for (const char* sink : {"sink-a", "sink-b"}) {
    while (auto m = queue.claimNext(sink, 1000, 2000, "2026-11-30T04:00:01.000Z"))
      ASSERT_TRUE(queue.markChecked(m->id, sink, "dangerous", "2026-11-30T04:00:02.000Z"));
  }
  std::mutex mutex;
  std::map<std::string, std::vector<std::string>> deliveredBy;  // id -> sinks
  auto reporter = [&](const std::string& sink) {
    db::Database own(store_.url());
    db::ReportQueue mine(own);
    for (int idle = 0; idle < 3;) {
      std::vector<db::Judgement> round;
      for (const auto& id : mine.unjudged(sink, 7)) round.push_back({id, false, "", true, ""});
      mine.judge(round);
      const auto due = mine.due(sink, 0, 5);
      idle = round.empty() && due.empty() ? idle + 1 : 0;
      {
        std::lock_guard lock(mutex);
        for (const auto& id : due) deliveredBy[id].push_back(sink);
      }
      mine.markSent(due, "2026-11-30T04:01:00.000Z");
    }
  };
  std::thread a(reporter, "sink-a"), b(reporter, "sink-b");
  a.join();
  b.join();
  ASSERT_EQ(deliveredBy.size(), records.size());
  for (const auto& r : records) {
    EXPECT_EQ(deliveredBy[r.id], std::vector<std::string>{r.sink}) << r.id;
    EXPECT_EQ(queue.find(r.id)->state, "reported") << r.id;
  }
  EXPECT_EQ(reports.countByStatus(), (std::map<std::string, std::int64_t>{{"sent", 60}}));
}

BCCSINK_ON_BOTH_ENGINES(ReportQueueTest);
