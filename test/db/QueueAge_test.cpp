// db/QueueAge on both engines: the oldest waiting copy of one sink, and the waiting copies
// received within a range (the verdict SLO's overdue ones).

#include "db/QueueAge.h"

#include <gtest/gtest.h>

#include "db/MessageQueue.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

namespace bccsink::db {
namespace {

class QueueAgeTest : public test::EngineTest {
 protected:
  void receive(const std::string& id, const std::string& iso, const std::string& sink = "sink-a") {
    MessageQueue(database()).insertPending({test::sampleRecord(id, iso, sink)});
  }
};

TEST_P(QueueAgeTest, NothingWaitingHasNoOldest) {
  QueueAge age(database());
  EXPECT_EQ(age.oldestWaiting("sink-a"), "");
  EXPECT_EQ(age.countWaiting("sink-a", "2026-01-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"), 0);
}

TEST_P(QueueAgeTest, OldestIsThePendingOrAnalyzingCopyOfThisSinkReceivedFirst) {
  receive("01A", "2026-11-30T04:00:03.000Z");
  receive("01B", "2026-11-30T04:00:02.000Z");
  receive("01C", "2026-11-30T04:00:01.000Z", "sink-b");  // another sink's
  receive("01D", "2026-11-30T04:00:00.000Z");
  MessageQueue q(database());
  // 01D is checked: no longer waiting; 01B is claimed (analyzing): still waiting.
  ASSERT_EQ(
      q.claim("sink-a", 2, 4'000'000'000'000, 4'000'000'000'000, "2026-11-30T04:00:05.000Z").size(),
      2u);  // 01D, 01B
  ASSERT_TRUE(q.markChecked("01D", "sink-a", "clean", "2026-11-30T04:00:06.000Z"));
  QueueAge age(database());
  EXPECT_EQ(age.oldestWaiting("sink-a"), "2026-11-30T04:00:02.000Z");
  EXPECT_EQ(age.oldestWaiting("sink-b"), "2026-11-30T04:00:01.000Z");
  EXPECT_EQ(age.oldestWaiting("sink-c"), "");
  ASSERT_TRUE(q.markChecked("01B", "sink-a", "clean", "2026-11-30T04:00:07.000Z"));
  EXPECT_EQ(age.oldestWaiting("sink-a"), "2026-11-30T04:00:03.000Z");
}

TEST_P(QueueAgeTest, CountsWaitingCopiesReceivedFromInclusiveToExclusive) {
  receive("01A", "2026-11-30T04:00:00.000Z");
  receive("01B", "2026-11-30T04:00:01.000Z");
  receive("01C", "2026-11-30T04:00:02.000Z");
  receive("01D", "2026-11-30T04:00:01.500Z", "sink-b");
  receive("01E", "2026-11-30T04:00:01.200Z");
  MessageQueue q(database());
  q.markFailed("01E", "test", "unscanned", "2026-11-30T04:00:03.000Z");  // not waiting
  QueueAge age(database());
  EXPECT_EQ(age.countWaiting("sink-a", "2026-11-30T04:00:00.000Z", "2026-11-30T04:00:02.000Z"), 2);
  EXPECT_EQ(age.countWaiting("sink-a", "2026-11-30T04:00:00.001Z", "2026-11-30T04:00:02.001Z"), 2);
  EXPECT_EQ(age.countWaiting("sink-b", "2026-11-30T04:00:00.000Z", "2026-11-30T04:00:02.000Z"), 1);
}

BCCSINK_ON_BOTH_ENGINES(QueueAgeTest);

}  // namespace
}  // namespace bccsink::db
