// `bccsink db copy` into a real PostgreSQL: every table row for row, text PostgreSQL refuses
// made valid, a second copy refused unless merged.

#include <gtest/gtest.h>

#include "db/Database.h"
#include "sink/DbCopy.h"
#include "test/PostgresServer.h"
#include "test/TempDir.h"
#include "test/sink/DbCopySource.h"

namespace bccsink {
namespace {

class DbCopyPostgresTest : public ::testing::Test {
 protected:
  test::TempDir dir_;
  test::TestDatabase pg_;
  db::Database source_{"sqlite:" + (dir_ / "bccsink.db")};
  db::Database destination_{test::PostgresServer::shared().url(pg_.name())};

  void SetUp() override {
    source_.migrate();
    test::fillSource(source_, 5);
  }
};

TEST_F(DbCopyPostgresTest, CopiesEveryTableRowForRow) {
  auto result = copyDatabase(source_, destination_, {});
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.textsRepaired, 1);
  for (const auto& t : result.tables) {
    SCOPED_TRACE(t.table);
    const auto columns = test::sqliteColumns(source_, t.table);
    auto expected = test::tableRows(source_, t.table, columns, true);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(t.sourceRows, static_cast<std::int64_t>(expected.size()));
    EXPECT_EQ(t.copied, t.sourceRows);
    EXPECT_EQ(test::tableRows(destination_, t.table, columns), expected);
  }
  // Leases on analyses in flight stay behind.
  using namespace Poco::Data::Keywords;
  Poco::Int64 submissions = -1;
  destination_.session() << "SELECT COUNT(*) FROM file_submissions", into(submissions), now;
  EXPECT_EQ(submissions, 0);
}

TEST_F(DbCopyPostgresTest, ASenderThatIsNotUtf8ArrivesAsValidText) {
  using namespace Poco::Data::Keywords;
  ASSERT_TRUE(copyDatabase(source_, destination_, {}).ok());
  std::string sender, id = test::copyTestId(2);
  destination_.session() << destination_.sql("SELECT sender FROM messages WHERE id = ?"), use(id),
      into(sender), now;
  EXPECT_EQ(sender, test::kBadSenderStored);
}

TEST_F(DbCopyPostgresTest, ASecondCopyIsRefusedUnlessMerged) {
  ASSERT_TRUE(copyDatabase(source_, destination_, {}).ok());
  EXPECT_THROW(copyDatabase(source_, destination_, {}), DestinationNotEmpty);

  DbCopyOptions merge;
  merge.merge = true;
  auto again = copyDatabase(source_, destination_, merge);
  ASSERT_TRUE(again.ok());
  for (const auto& t : again.tables) {
    EXPECT_EQ(t.copied, 0) << t.table;
    EXPECT_EQ(t.alreadyThere, t.sourceRows) << t.table;
    EXPECT_EQ(t.destinationRows, t.sourceRows) << t.table;
  }
}

TEST_F(DbCopyPostgresTest, MergeAddsToAnotherSinksRows) {
  // Another sink already moved up: its rows stay, ours join them.
  test::TempDir other;
  {
    db::Database otherSource("sqlite:" + (other / "other.db"));
    otherSource.migrate();
    db::MessageQueue(otherSource)
        .insertPending({test::sampleRecord("01JOTHER000000000000000001", "2026-11-30T04:00:00.000Z",
                                           "sink-b")});
    ASSERT_TRUE(copyDatabase(otherSource, destination_, {}).ok());
  }
  DbCopyOptions merge;
  merge.merge = true;
  auto result = copyDatabase(source_, destination_, merge);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.tables[0].copied, 5);
  EXPECT_EQ(result.tables[0].destinationRows, 6);
}

TEST_F(DbCopyPostgresTest, APageLargerThanOneInsertTakesSeveral) {
  // 33 columns: a few hundred messages need several INSERTs per page (libpq refuses a
  // statement's description over 30000 bytes, so each is kept to 5000 values).
  std::vector<db::MessageRecord> more;
  for (int i = 100; i < 1100; ++i) more.push_back(test::sampleRecord(test::copyTestId(i)));
  db::MessageQueue(source_).insertPending(more);
  DbCopyOptions options;
  options.batch = 2000;
  auto result = copyDatabase(source_, destination_, options);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.tables[0].destinationRows, 1005);
  EXPECT_EQ(result.tables[1].destinationRows, 1010);
}

}  // namespace
}  // namespace bccsink
