// What the spool's recovery and check ask of the queue, on both engines.

#include "db/SpoolRows.h"

#include <gtest/gtest.h>

#include "db/MessageQueue.h"
#include "db/SpoolRecord.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

class SpoolRowsTest : public test::EngineTest {};

TEST_P(SpoolRowsTest, FindsTheRowsOfSomeIdsAndListsEveryRow) {
  auto a = test::sampleRecord("01A");
  a.spoolFile = db::recordLocator(1, 0);
  db::MessageQueue(database()).insertPending({a, test::sampleRecord("01B")});
  db::SpoolRows rows(database());
  auto found = rows.locatorsOf({"01A", "01X", "01B"});
  EXPECT_EQ(found, (std::map<std::string, std::string>{{"01A", "segments/000000000001.seg#0"},
                                                       {"01B", "01B.eml"}}));
  EXPECT_TRUE(rows.locatorsOf({}).empty());
  auto all = rows.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "01A");
  EXPECT_EQ(all[0].size, 10);
  EXPECT_EQ(all[0].sha256, std::string(64, 'a'));
  EXPECT_EQ(all[1].locator, "01B.eml");
}

BCCSINK_ON_BOTH_ENGINES(SpoolRowsTest);
