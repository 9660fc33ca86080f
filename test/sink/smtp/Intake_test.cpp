#include "sink/smtp/Intake.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "sink/smtp/GroupCommitter.h"
#include "sink/smtp/Spool.h"
#include "test/TempDir.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

TEST(Intake, RefusesWhenThePendingQueueIsFull) {
  test::TempDir dir;
  {
    db::Database database("sqlite:" + (dir / "q.db"));
    database.migrate();
    db::MessageQueue(database).insertPending(
        {test::sampleRecord("01A"), test::sampleRecord("01B")});
  }
  Spool spool(dir / "spool", 1 << 20);
  GroupCommitter committer("sqlite:" + (dir / "q.db"), spool);
  EXPECT_EQ(Intake(spool, committer, {0, 3, "s"}).admit(0).outcome, Outcome::Ok);
  auto full = Intake(spool, committer, {0, 2, "s"}).admit(0);
  EXPECT_EQ(full.outcome, Outcome::TempFail);
  EXPECT_NE(full.detail.find("pending"), std::string::npos);
}

TEST(Intake, RefusesWhenTheDiskIsNearlyFull) {
  test::TempDir dir;
  {
    db::Database database("sqlite:" + (dir / "q.db"));
    database.migrate();
  }
  Spool spool(dir / "spool", 1 << 20);
  GroupCommitter committer("sqlite:" + (dir / "q.db"), spool);
  auto free = spool.freeBytes();
  EXPECT_EQ(Intake(spool, committer, {1, 0, "s"}).admit(1000).outcome, Outcome::Ok);
  auto r = Intake(spool, committer, {free + (1ull << 30), 0, "s"}).admit(0);
  EXPECT_EQ(r.outcome, Outcome::TempFail);
  // The announced SIZE counts too.
  EXPECT_EQ(Intake(spool, committer, {0, 0, "s"}).admit(free + (1ull << 30)).outcome,
            Outcome::TempFail);
}

TEST(Intake, OpeningAMessageTouchesNoDiskAndAWriterDroppedUncommittedLeavesNothing) {
  test::TempDir dir;
  {
    db::Database database("sqlite:" + (dir / "q.db"));
    database.migrate();
  }
  Spool spool(dir / "spool", 1 << 20);
  GroupCommitter committer("sqlite:" + (dir / "q.db"), spool);
  Intake intake(spool, committer, {0, 0, "s"});
  StoreResult r;
  {
    auto small = intake.open(r);
    ASSERT_TRUE(small);
    EXPECT_EQ(small->id().size(), 26u);
    small->write("in memory only");
    auto large = intake.open(r);
    EXPECT_NE(large->id(), small->id());
    EXPECT_TRUE(large->write(std::string(Spool::kMaxRecordMessage + 1, 'x')));
    // Spilled to its own file while it arrives.
    EXPECT_TRUE(std::filesystem::exists(dir / ("spool/" + large->id() + ".eml.tmp")));
  }
  EXPECT_TRUE(spool.files().empty());
  for (const auto& e : std::filesystem::directory_iterator(dir / "spool")) {
    EXPECT_TRUE(e.is_directory()) << e.path();  // segments/ only
  }
}
