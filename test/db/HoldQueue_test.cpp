// db/HoldQueue on both engines: SMTP mode's rows from the intake transaction to delivered,
// quarantined, released and deleted; the reporter waits until the action is decided.

#include "db/HoldQueue.h"

#include <gtest/gtest.h>

#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

namespace bccsink::db {
namespace {

class HoldQueueTest : public test::EngineTest {
 protected:
  // An SMTP-mode message taken at `heldIso`, as the intake inserts it.
  void take(const std::string& id, const std::string& heldIso = "2026-11-30T04:00:00.000Z",
            const std::string& sink = "sink-a") {
    auto r = test::sampleRecord(id, heldIso, sink);
    r.hold = true;
    r.smtputf8 = true;
    r.xforward = "NAME=mx.example.net\nADDR=192.0.2.7\n";
    r.recipients = {{"b@example.org", "rfc822;b@example.org", "SUCCESS"},
                    {"c@example.org", "", ""}};
    MessageQueue(database()).insertPending({r});
  }
  void check(const std::string& id, const std::string& verdict) {
    MessageQueue q(database());
    auto claimed = q.claim("sink-a", 10, 4102444800000, 4102444800000, "2026-11-30T04:00:01.000Z");
    for (auto& m : claimed) q.markChecked(m.id, "sink-a", m.id == id ? verdict : "clean", "now");
  }
  static constexpr std::int64_t kTaken = 1796011200000;  // 2026-11-30T04:00:00Z
};

TEST_P(HoldQueueTest, TheIntakeTransactionHoldsTheMessageAndTheReporterWaits) {
  take("01HOLD0000000000000000000A");
  MessageQueue(database()).insertPending({test::sampleRecord("01BCC00000000000000000000B")});
  HoldQueue holds(database());
  auto h = holds.find("01HOLD0000000000000000000A");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->state, hold_state::kHolding);
  EXPECT_EQ(h->sink, "sink-a");
  EXPECT_TRUE(h->smtputf8);
  EXPECT_EQ(h->xforward, "NAME=mx.example.net\nADDR=192.0.2.7\n");
  EXPECT_EQ(h->heldMs, kTaken);
  EXPECT_FALSE(holds.find("01BCC00000000000000000000B"));  // a BCC copy is not held

  check("01HOLD0000000000000000000A", "dangerous");
  // Checked, but the action is not decided: the reporter does not judge it yet.
  EXPECT_EQ(ReportQueue(database()).unjudged("sink-a", 10),
            std::vector<std::string>{"01BCC00000000000000000000B"});
  auto decidable = holds.decidable("sink-a", 10);
  ASSERT_EQ(decidable.size(), 1u);
  EXPECT_EQ(decidable[0].verdict, "dangerous");
  EXPECT_TRUE(holds.decidable("sink-b", 10).empty());

  ASSERT_TRUE(holds.decide(decidable[0].id, hold_state::kQuarantined, hold_action::kQuarantine,
                           "dangerous: EICAR", kTaken + 500));
  EXPECT_FALSE(holds.decide(decidable[0].id, hold_state::kDeliver, hold_action::kPass, "again",
                            kTaken + 600));  // decided once
  EXPECT_EQ(ReportQueue(database()).unjudged("sink-a", 10).size(), 2u);
  h = holds.find(decidable[0].id);
  EXPECT_EQ(h->state, hold_state::kQuarantined);
  EXPECT_EQ(h->action, hold_action::kQuarantine);
  EXPECT_EQ(h->why, "dangerous: EICAR");
  EXPECT_EQ(h->decidedMs, kTaken + 500);
  EXPECT_TRUE(holds.decidable("sink-a", 10).empty());
  auto record = MessageQueue(database()).find(decidable[0].id);
  EXPECT_FALSE(record->judged);
}

TEST_P(HoldQueueTest, OverdueFindsMessagesWithoutAVerdictHeldTooLong) {
  take("01HOLD0000000000000000000A", "2026-11-30T04:00:00.000Z");
  take("01HOLD0000000000000000000B", "2026-11-30T04:10:00.000Z");
  HoldQueue holds(database());
  EXPECT_TRUE(holds.decidable("sink-a", 10).empty());
  auto overdue = holds.overdue("sink-a", kTaken + 60000, 10);
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].id, "01HOLD0000000000000000000A");
  EXPECT_EQ(overdue[0].messageState, state::kPending);
}

TEST_P(HoldQueueTest, DeliveryRetriesThenDelivers) {
  take("01HOLD0000000000000000000A");
  HoldQueue holds(database());
  ASSERT_TRUE(holds.decide("01HOLD0000000000000000000A", hold_state::kDeliver, hold_action::kPass,
                           "clean", kTaken + 10));
  ASSERT_EQ(holds.deliverable("sink-a", kTaken + 10, 10).size(), 1u);
  ASSERT_TRUE(holds.markRetry("01HOLD0000000000000000000A", "451 4.3.0 busy", kTaken + 5010, {0}));
  EXPECT_TRUE(holds.deliverable("sink-a", kTaken + 5000, 10).empty());
  auto due = holds.deliverable("sink-a", kTaken + 5010, 10);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].tries, 1);
  EXPECT_EQ(due[0].lastError, "451 4.3.0 busy");
  EXPECT_EQ(due[0].doneRecipients, std::vector<int>{0});
  ASSERT_TRUE(holds.markDelivered("01HOLD0000000000000000000A", "250 2.0.0 Ok: queued as X",
                                  kTaken + 6000));
  EXPECT_FALSE(holds.markDelivered("01HOLD0000000000000000000A", "again", kTaken + 7000));
  auto h = holds.find("01HOLD0000000000000000000A");
  EXPECT_EQ(h->state, hold_state::kDelivered);
  EXPECT_EQ(h->tries, 2);
  EXPECT_EQ(h->lastError, "");
  EXPECT_EQ(h->relayReply, "250 2.0.0 Ok: queued as X");
  EXPECT_EQ(h->deliveredMs, kTaken + 6000);
  EXPECT_TRUE(holds.deliverable("sink-a", kTaken + 99999, 10).empty());
  EXPECT_EQ(holds.countByState("sink-a"),
            (std::map<std::string, std::int64_t>{{hold_state::kDelivered, 1}}));
}

TEST_P(HoldQueueTest, QuarantineIsReleasedOrDeletedOnceAndRecordsWho) {
  take("01HOLD0000000000000000000A");
  take("01HOLD0000000000000000000B");
  take("01HOLD0000000000000000000C");
  HoldQueue holds(database());
  EXPECT_FALSE(holds.release("01HOLD0000000000000000000A", "cli:root", kTaken));  // holding
  holds.decide("01HOLD0000000000000000000A", hold_state::kQuarantined, hold_action::kQuarantine,
               "dangerous", kTaken + 1);
  holds.decide("01HOLD0000000000000000000B", hold_state::kDiscarded, hold_action::kDiscard,
               "dangerous", kTaken + 2);
  holds.decide("01HOLD0000000000000000000C", hold_state::kDeliver, hold_action::kPass, "clean",
               kTaken + 3);
  ASSERT_TRUE(holds.markRejected("01HOLD0000000000000000000C", "550 5.7.1 no", kTaken + 4, {}));

  auto listed = holds.list({hold_state::kQuarantined, hold_state::kDiscarded}, "", 0);
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].id, "01HOLD0000000000000000000B");  // newest decision first
  EXPECT_EQ(listed[0].sender, "alice@example.org");
  EXPECT_EQ(holds.list({}, "sink-a", 1).size(), 1u);
  EXPECT_TRUE(holds.list({}, "sink-b", 0).empty());

  ASSERT_TRUE(holds.release("01HOLD0000000000000000000A", "cli:root", kTaken + 100));
  EXPECT_FALSE(holds.release("01HOLD0000000000000000000A", "cli:root", kTaken + 101));
  auto h = holds.find("01HOLD0000000000000000000A");
  EXPECT_EQ(h->state, hold_state::kDeliver);
  EXPECT_EQ(h->releasedBy, "cli:root");
  EXPECT_EQ(h->releasedMs, kTaken + 100);
  EXPECT_EQ(holds.deliverable("sink-a", kTaken + 100, 10).size(), 1u);

  ASSERT_TRUE(holds.remove("01HOLD0000000000000000000B", "api 127.0.0.1", kTaken + 200));
  EXPECT_FALSE(holds.remove("01HOLD0000000000000000000B", "api 127.0.0.1", kTaken + 201));
  EXPECT_EQ(holds.find("01HOLD0000000000000000000B")->state, hold_state::kDeleted);
  // A message the relay refused for good can be tried again by an administrator.
  ASSERT_TRUE(holds.release("01HOLD0000000000000000000C", "cli:root", kTaken + 300));
  EXPECT_EQ(holds.find("01HOLD0000000000000000000C")->state, hold_state::kDeliver);
}

TEST_P(HoldQueueTest, QuarantineExpiresAfterItsDays) {
  take("01HOLD0000000000000000000A");
  take("01HOLD0000000000000000000B");
  HoldQueue holds(database());
  holds.decide("01HOLD0000000000000000000A", hold_state::kQuarantined, hold_action::kQuarantine,
               "dangerous", kTaken);
  holds.decide("01HOLD0000000000000000000B", hold_state::kQuarantined, hold_action::kQuarantine,
               "dangerous", kTaken + 86400000);
  EXPECT_EQ(holds.expire("sink-b", kTaken + 1, kTaken + 2), 0);
  EXPECT_EQ(holds.expire("sink-a", kTaken + 1, kTaken + 2), 1);
  EXPECT_EQ(holds.find("01HOLD0000000000000000000A")->state, hold_state::kDeleted);
  EXPECT_EQ(holds.find("01HOLD0000000000000000000A")->releasedBy, "SmtpQuarantineDays");
  EXPECT_EQ(holds.find("01HOLD0000000000000000000B")->state, hold_state::kQuarantined);
}

TEST(HoldPositions, RoundTripAndSkipWhatIsNotANumber) {
  EXPECT_EQ(positionsText({0, 2, 10}), "0,2,10");
  EXPECT_EQ(parsePositions("0,2,10"), (std::vector<int>{0, 2, 10}));
  EXPECT_EQ(parsePositions(""), std::vector<int>{});
  EXPECT_EQ(parsePositions("1,x,-3,,4"), (std::vector<int>{1, 4}));
}

BCCSINK_ON_BOTH_ENGINES(HoldQueueTest);

}  // namespace
}  // namespace bccsink::db
