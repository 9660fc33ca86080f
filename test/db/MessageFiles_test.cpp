// A message's files on both engines: names, paths and reasons from mail stored the same
// way on each, lists by message, verdicts set once. (The files' types and the waiting
// messages are tested with the verdict cache, test/db/FileRepository_test.cpp.)

#include "db/MessageFiles.h"

#include <Poco/Data/Session.h>
#include <gtest/gtest.h>

#include "db/MessageQueue.h"
#include "db/Schema.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using namespace std::string_literals;

class MessageFilesTest : public test::EngineTest {
 protected:
  db::MessageQueue queue{database()};
  db::MessageFiles files{database()};
};

namespace {

// A file whose bytes could not be read: no `files` row needed.
db::MessageFile unread(int position, const std::string& name) {
  db::MessageFile f;
  f.position = position;
  f.name = name;
  f.path = "x.zip > " + name;
  f.extension = "bin";
  f.size = 7;
  f.verdict = "unscanned";
  f.reason = "unreadable";
  return f;
}

}  // namespace

TEST_P(MessageFilesTest, NamesPathsReasonsAndErrorsFromMailAreStoredAsValidText) {
  const std::string replacement = "\xEF\xBF\xBD";  // U+FFFD
  queue.insertPending({test::sampleRecord("01A")});
  auto f = unread(0, "r\xE9sum\xE9\0.exe"s);
  f.extension = "e\0xe"s;
  f.reason = "zip: bad name \xFF"s;
  files.save("01A", {f}, "part 2: \xE9\0 truncated"s, "t");
  auto back = files.list("01A");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].name, "r" + replacement + "sum" + replacement + ".exe");
  EXPECT_EQ(back[0].path, "x.zip > r" + replacement + "sum" + replacement + ".exe");
  EXPECT_EQ(back[0].extension, "exe");
  EXPECT_EQ(back[0].reason, "zip: bad name " + replacement);
  EXPECT_EQ(files.errors("01A"), "part 2: " + replacement + " truncated");
  EXPECT_EQ(queue.find("01A")->errors, "part 2: " + replacement + " truncated");
}

TEST_P(MessageFilesTest, ListsOfSeveralMessagesComeInOrderAndSavingAgainReplaces) {
  std::vector<db::MessageRecord> rows;
  std::vector<db::ExtractedFiles> saved;
  std::vector<std::string> ids;
  for (int i = 0; i < 520; ++i) {  // more than one query's keys
    auto id = "M" + std::to_string(1000 + i);
    rows.push_back(test::sampleRecord(id));
    saved.push_back({id, {unread(0, "a"), unread(1, "b")}, ""});
    ids.push_back(id);
  }
  queue.insertPending(rows);
  files.save(saved, "t1");
  ids.push_back("none");
  auto all = files.listAll(ids);
  EXPECT_EQ(all.size(), 520u);
  ASSERT_EQ(all["M1519"].size(), 2u);
  EXPECT_EQ(all["M1519"][0].name, "a");
  EXPECT_EQ(all["M1519"][1].name, "b");
  EXPECT_EQ(all["M1519"][1].sha256, "");
  EXPECT_EQ(all["M1519"][1].md5, "");

  files.save("M1000", {unread(0, "c")}, "one error", "t2");
  EXPECT_EQ(files.list("M1000").size(), 1u);
  EXPECT_EQ(files.list("M1000")[0].name, "c");
  EXPECT_EQ(files.errors("M1000"), "one error");
  EXPECT_EQ(queue.find("M1000")->extractedAt, "t2");
  EXPECT_TRUE(files.list("none").empty());
}

TEST_P(MessageFilesTest, AVerdictIsSetOnceWithItsReason) {
  queue.insertPending({test::sampleRecord("01A")});
  auto f = unread(0, "a.doc");
  f.verdict = f.reason = "";
  files.save("01A", {f, unread(1, "b.doc")}, "", "t");
  files.setVerdicts({{"01A", 0, "suspicious", "macro \xE9"s}, {"01A", 1, "clean", ""}});
  files.setVerdict("01A", 0, "clean", "");
  auto back = files.list("01A");
  EXPECT_EQ(back[0].verdict, "suspicious");
  EXPECT_EQ(back[0].reason, "macro \xEF\xBF\xBD");
  EXPECT_EQ(back[1].verdict, "unscanned");  // had one
  EXPECT_EQ(back[1].reason, "unreadable");
}

// Schema 8: why a file's bytes are not in DataDir/files (BccMaxStoredPerMessage), kept
// through a verdict; '' (NULL) for a kept file.
TEST_P(MessageFilesTest, WhyAFileWasNotKeptIsStoredAndSurvivesItsVerdict) {
  queue.insertPending({test::sampleRecord("01A")});
  auto kept = unread(0, "a.com");
  auto notKept = unread(1, "b.com");
  kept.verdict = notKept.verdict = kept.reason = notKept.reason = "";
  notKept.notKept = "the message's stored-content budget of 200 MB was reached";
  files.save("01A", {kept, notKept}, "", "t");
  files.setVerdicts({{"01A", 0, "clean", ""}, {"01A", 1, "dangerous", "Test.Marker"}});
  auto back = files.list("01A");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].notKept, "");
  EXPECT_EQ(back[1].notKept, "the message's stored-content budget of 200 MB was reached");
  EXPECT_EQ(back[1].verdict, "dangerous");
}

// A database of schema 7 with files in it (made here by taking version 8 back) gains the
// column at the next start; its rows read as kept.
TEST_P(MessageFilesTest, SchemaEightMigratesADatabaseOfSchemaSevenWithItsFiles) {
  queue.insertPending({test::sampleRecord("01A")});
  auto& s = database().session();
  s << "ALTER TABLE message_files DROP COLUMN not_kept", Poco::Data::Keywords::now;
  // And the versions after it (9: report groups), which migrate() applies again.
  s << "DROP INDEX messages_report_group", Poco::Data::Keywords::now;
  s << "ALTER TABLE messages DROP COLUMN report_group", Poco::Data::Keywords::now;
  s << "ALTER TABLE messages DROP COLUMN report_batch", Poco::Data::Keywords::now;
  s << "DELETE FROM schema_migrations WHERE version >= 8", Poco::Data::Keywords::now;
  s << "INSERT INTO message_files (msg_id, position, name, path, extension,"
       " extension_mismatch, size, selected) VALUES ('01A', 0, 'a', 'a', '', 0, 1, 0)",
      Poco::Data::Keywords::now;
  database().migrate();
  int version = 0;
  s << "SELECT MAX(version) FROM schema_migrations", Poco::Data::Keywords::into(version),
      Poco::Data::Keywords::now;
  EXPECT_EQ(version, db::latestSchemaVersion());
  auto back = files.list("01A");
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].name, "a");
  EXPECT_EQ(back[0].notKept, "");
}

BCCSINK_ON_BOTH_ENGINES(MessageFilesTest);
