#include "sink/SpoolCheck.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/SpooledMessage.h"
#include "report/spoof/MessageHeaders.h"
#include "sink/smtp/Spool.h"
#include "test/TempDir.h"
#include "test/db/SampleRecord.h"
#include "test/sink/smtp/SpoolTesting.h"

using namespace bccsink;

namespace {

db::MessageRecord rowFor(const std::string& id, const std::string& locator,
                         const std::string& bytes) {
  auto r = test::sampleRecord(id);
  r.spoolFile = locator;
  r.size = static_cast<std::int64_t>(bytes.size());
  r.sha256 = db::hex(db::sha256Of(bytes));
  return r;
}

struct Checked {
  int problems;
  std::string text;
};

Checked check(db::Database& database, const std::string& spoolDir, const std::string& sink = "") {
  std::ostringstream out;
  int problems = checkSpool(database, spoolDir, out, sink);
  return {problems, out.str()};
}

}  // namespace

// A data folder from before segments: rows name ID.eml files, which read as they did.
TEST(SpoolCheck, ARowOfALegacyStandaloneFileStillReadsAndChecks) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "bccsink.db"));
  database.migrate();
  std::filesystem::create_directories(dir / "spool");
  std::string old = "Subject: from the old spool\r\n\r\nbody\r\n";
  std::ofstream(dir / "spool/01OLD.eml", std::ios::binary) << old;
  db::MessageQueue(database).insertPending({rowFor("01OLD", "01OLD.eml", old)});
  EXPECT_EQ(db::SpooledMessage(dir / "spool", "01OLD.eml").bytes(), old);
  EXPECT_EQ(report::MessageHeaders::read(dir / "spool", "01OLD.eml").first("Subject"),
            "from the old spool");
  // The new spool starts beside the old files.
  {
    Spool spool(dir / "spool", 1 << 20);
    spool.recover(nullptr);
    auto l = test::appendOne(spool, "01NEW", "new");
    db::MessageQueue(database).insertPending({rowFor("01NEW", l, "new")});
  }
  auto c = check(database, dir / "spool");
  EXPECT_EQ(c.problems, 0) << c.text;
  EXPECT_NE(c.text.find("check: 2 rows, 2 spool files, 0 problems"), std::string::npos) << c.text;
}

TEST(SpoolCheck, ReportsEveryMismatchBetweenRowsAndTheSpoolAndChangesNothing) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "bccsink.db"));
  database.migrate();
  std::vector<std::string> l;
  {
    Spool spool(dir / "spool", 1 << 20);
    spool.recover(nullptr);
    l = test::appendBatch(spool, {{"01A", "aaa"}, {"01B", "bbb"}, {"01C", "ccc"}});
  }
  std::ofstream(dir / "spool/01F.eml") << "orphan file";
  db::MessageQueue(database).insertPending({
      rowFor("01A", l[0], "aaa"), rowFor("01B", l[1], "not bbb"),  // differs
      rowFor("01D", "segments/000000000001.seg#5", "ddd"),         // no record there
      rowFor("01E", "01E.eml", "eee"),                             // no file
      rowFor("01X", l[2], "ccc"),                                  // 01C's record
  });
  auto c = check(database, dir / "spool");
  EXPECT_EQ(c.problems, 5) << c.text;
  for (const char* expected :
       {"row without spool file: 01B", "row without spool file: 01D", "no record there",
        "row without spool file: 01E", "no such file", "01X", "the record is 01C's",
        "orphan spool file (no row): " /* 01F */, "check: 5 rows, 4 spool files, 5 problems"}) {
    EXPECT_NE(c.text.find(expected), std::string::npos) << expected << "\n" << c.text;
  }
  EXPECT_TRUE(std::filesystem::exists(dir / "spool/01F.eml"));
}

// Sinks sharing one database: each checks its own rows against its own spool; another
// sink's rows are not missing files here.
TEST(SpoolCheck, OnlyThisSinksRowsAreCheckedAgainstItsSpool) {
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "bccsink.db"));
  database.migrate();
  std::vector<std::string> l;
  {
    Spool spool(dir / "spool", 1 << 20);
    spool.recover(nullptr);
    l = test::appendBatch(spool, {{"01A", "aaa"}});
  }
  auto mine = rowFor("01A", l[0], "aaa");
  mine.sink = "a";
  auto theirs = rowFor("01B", "segments/000000000001.seg#0", "bbb");
  theirs.sink = "b";
  db::MessageQueue(database).insertPending({mine, theirs});
  auto c = check(database, dir / "spool", "a");
  EXPECT_EQ(c.problems, 0) << c.text;
  EXPECT_NE(c.text.find("check: 1 rows, 1 spool files, 0 problems"), std::string::npos) << c.text;
  EXPECT_GT(check(database, dir / "spool").problems, 0) << "every row: b's is not here";
}
