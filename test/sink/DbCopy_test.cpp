// `bccsink db copy` between SQLite files: the command's checks and options. The copy into
// PostgreSQL itself is DbCopyPostgres_test.

#include "sink/DbCopy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "db/Database.h"
#include "sink/Commands.h"
#include "sink/DataDirLock.h"
#include "test/TempDir.h"
#include "test/sink/DbCopySource.h"

namespace bccsink {
namespace {

// Runs `bccsink db ARGS`, its standard output and error kept.
struct Run {
  int code;
  std::string out, err;
};

Run runDbCommand(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  auto* oldOut = std::cout.rdbuf(out.rdbuf());
  auto* oldErr = std::cerr.rdbuf(err.rdbuf());
  int code = runDb(args);
  std::cout.rdbuf(oldOut);
  std::cerr.rdbuf(oldErr);
  return {code, out.str(), err.str()};
}

class DbCopyTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
  std::string from_ = "sqlite:" + (dir_ / "bccsink.db");
  std::string to_ = "sqlite:" + (dir_ / "copy.db");

  void SetUp() override {
    db::Database source(from_);
    source.migrate();
    test::fillSource(source, 4);
  }
};

TEST_F(DbCopyTest, CopiesAndPrintsEachTablesCounts) {
  auto run = runDbCommand({"copy", "--from", from_, "--to", to_});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_NE(run.out.find("messages: 4 copied"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("message_recipients: 8 copied"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("checked: every table holds exactly the source's rows"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("1 text values were not valid UTF-8"), std::string::npos) << run.out;
}

TEST_F(DbCopyTest, ASecondRunIsRefusedWithoutMergeAndCopiesNothingMoreWithIt) {
  ASSERT_EQ(runDbCommand({"copy", "--from", from_, "--to", to_}).code, 0);
  auto again = runDbCommand({"copy", "--from", from_, "--to", to_});
  EXPECT_EQ(again.code, 1);
  EXPECT_NE(again.err.find("already holds 4 rows in messages"), std::string::npos) << again.err;
  auto merged = runDbCommand({"copy", "--from", from_, "--to", to_, "--merge"});
  ASSERT_EQ(merged.code, 0) << merged.err;
  EXPECT_NE(merged.out.find("messages: 0 copied, 4 already there"), std::string::npos)
      << merged.out;
}

TEST_F(DbCopyTest, SinkNamesEveryMessageLeaseAndInterval) {
  {
    db::Database source(from_), destination(to_);
    DbCopyOptions options;
    options.sinkName = "mx1";
    ASSERT_TRUE(copyDatabase(source, destination, options).ok());
  }
  db::Database destination(to_);
  auto sinks = test::tableRows(destination, "messages", {"sink"}, false, true);
  EXPECT_EQ(sinks, (std::vector<test::Row>{{"mx1"}}));
  auto owners = test::tableRows(destination, "messages", {"lease_owner"}, false, true);
  EXPECT_EQ(owners, (std::vector<test::Row>{{std::nullopt}, {"mx1"}}));
  auto stats = test::tableRows(destination, "stats_intervals", {"sink"}, false, true);
  EXPECT_EQ(stats, (std::vector<test::Row>{{"mx1"}}));
}

TEST_F(DbCopyTest, ARunningSinksDataDirIsNotCopied) {
  DataDirLock daemon(dir_.path());
  auto run = runDbCommand({"copy", "--from", from_, "--to", to_});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("is in use by another bccsink"), std::string::npos) << run.err;
}

TEST_F(DbCopyTest, AMistypedSourceIsNotCreated) {
  auto run = runDbCommand({"copy", "--from", "sqlite:" + (dir_ / "typo.db"), "--to", to_});
  EXPECT_EQ(run.code, 1);
  EXPECT_NE(run.err.find("no database at"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "typo.db"));
}

TEST_F(DbCopyTest, SmallBatchesCopyEveryRow) {
  db::Database source(from_), destination(to_);
  DbCopyOptions options;
  options.batch = 3;
  auto result = copyDatabase(source, destination, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.tables[1].copied, 8);
}

}  // namespace
}  // namespace bccsink
