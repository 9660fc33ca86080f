// The API's look-ups on both engines: filters, newest first, the limit, and where a file
// was seen.

#include "db/MessageSearch.h"

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;

namespace {

std::vector<std::string> ids(const std::vector<db::MessageSummary>& rows) {
  std::vector<std::string> out;
  for (const auto& r : rows) out.push_back(r.id);
  return out;
}

using Ids = std::vector<std::string>;

}  // namespace

class MessageSearchTest : public test::EngineTest {
 protected:
  void SetUp() override {
    auto a = test::sampleRecord("01A", "2026-11-30T01:00:00.000Z");
    a.sender = "Alice.Smith@Example.org";
    auto b = test::sampleRecord("01B", "2026-11-30T02:00:00.000Z");
    b.sender = "bob_100%@example.net";
    auto c = test::sampleRecord("01C", "2026-11-30T03:00:00.000Z", "sink-b");
    c.sender = "carol@example.org";
    auto d = test::sampleRecord("01D", "2026-11-30T03:00:00.000Z");
    d.sender = "bob1000@example.net";
    queue.insertPending({a, b, c, d});
    run("UPDATE messages SET state = 'checked', verdict = 'dangerous' WHERE id IN ('01A', '01C')");
    run("UPDATE messages SET state = 'checked', verdict = 'clean' WHERE id = '01B'");
    run("INSERT INTO files (sha256, md5, size, true_type, description, family, first_seen,"
        " last_seen, seen_count) VALUES ('" +
        std::string(64, 'e') + "', 'm', 1, 'x', 'x', 'x', 't', 't', 2)");
    db::MessageFile exe, unread;
    exe.sha256 = std::string(64, 'e');
    exe.name = "a.exe";
    exe.path = "x.zip > a.exe";
    unread.position = 1;
    unread.name = unread.path = "broken.bin";
    files.save({{"01A", {exe, unread}, ""}, {"01C", {exe}, ""}}, "t");
  }
  void run(const std::string& sql) { database().session() << sql, now; }

  db::MessageQueue queue{database()};
  db::MessageFiles files{database()};
  db::MessageSearch search{database()};
};

TEST_P(MessageSearchTest, EveryMessageOfEverySinkNewestFirstWithItsFileCount) {
  auto all = search.find({});
  EXPECT_EQ(ids(all), (Ids{"01D", "01C", "01B", "01A"}));  // same time: the larger id first
  EXPECT_EQ(all[3].files, 2);
  EXPECT_EQ(all[1].files, 1);
  EXPECT_EQ(all[0].files, 0);
  EXPECT_EQ(all[3].verdict, "dangerous");
  EXPECT_EQ(all[3].sender, "Alice.Smith@Example.org");
  EXPECT_EQ(all[3].receivedAt, "2026-11-30T01:00:00.000Z");
  EXPECT_EQ(all[3].spoolFile, "01A.eml");
  EXPECT_EQ(all[3].size, 10);
  EXPECT_EQ(all[0].verdict, "");
  EXPECT_EQ(all[0].reportStatus, "");
  EXPECT_FALSE(all[0].spoofed);
}

TEST_P(MessageSearchTest, FiltersByVerdictStateAndTimeAndLimits) {
  EXPECT_EQ(ids(search.find({.verdict = "dangerous"})), (Ids{"01C", "01A"}));
  EXPECT_EQ(ids(search.find({.state = "pending"})), (Ids{"01D"}));
  EXPECT_EQ(ids(search.find({.verdict = "dangerous", .state = "pending"})), Ids{});
  EXPECT_EQ(ids(search.find({.since = "2026-11-30T02:00:00.000Z"})), (Ids{"01D", "01C", "01B"}));
  EXPECT_EQ(ids(search.find({.until = "2026-11-30T02:00:00.000Z"})), (Ids{"01A"}));
  EXPECT_EQ(
      ids(search.find({.since = "2026-11-30T02:00:00.000Z", .until = "2026-11-30T03:00:00.000Z"})),
      (Ids{"01B"}));
  EXPECT_EQ(ids(search.find({.limit = 2})), (Ids{"01D", "01C"}));
  EXPECT_EQ(ids(search.find({.limit = 0})), (Ids{"01D"}));  // at least one
}

TEST_P(MessageSearchTest, SenderMatchesASubstringIgnoringCaseAndTakesWildcardsLiterally) {
  EXPECT_EQ(ids(search.find({.senderContains = "alice.smith@example"})), (Ids{"01A"}));
  EXPECT_EQ(ids(search.find({.senderContains = "EXAMPLE.ORG"})), (Ids{"01C", "01A"}));
  // '_' and '%' are the sender's characters, not LIKE's.
  EXPECT_EQ(ids(search.find({.senderContains = "b_1"})), (Ids{"01B"}));
  EXPECT_EQ(ids(search.find({.senderContains = "100%"})), (Ids{"01B"}));
  EXPECT_EQ(ids(search.find({.senderContains = "%"})), (Ids{"01B"}));
  EXPECT_EQ(ids(search.find({.senderContains = "\\"})), Ids{});
}

TEST_P(MessageSearchTest, AHostileSenderIsFoundByWhatWasStored) {
  using namespace std::string_literals;
  auto h = test::sampleRecord("01H", "2026-11-30T05:00:00.000Z");
  h.sender = "m\xE9"s + "chant\0@evil.test"s;
  queue.insertPending({h});
  // Stored as valid UTF-8 without the NUL; the same needle finds it on both engines.
  EXPECT_EQ(ids(search.find({.senderContains = "m\xE9"s + "chant\0@"s})), (Ids{"01H"}));
  EXPECT_EQ(ids(search.find({.senderContains = "m\xEF\xBF\xBD"
                                               "chant@evil"})),
            (Ids{"01H"}));
  EXPECT_EQ(search.find({.senderContains = "evil"}).at(0).sender,
            "m\xEF\xBF\xBD"
            "chant@evil.test");
}

TEST_P(MessageSearchTest, AFileIsListedWithTheMessagesItCameInNewestFirst) {
  auto seen = search.messagesWithFile(std::string(64, 'e'), 10);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].msgId, "01C");
  EXPECT_EQ(seen[0].receivedAt, "2026-11-30T03:00:00.000Z");
  EXPECT_EQ(seen[0].verdict, "dangerous");
  EXPECT_EQ(seen[0].name, "a.exe");
  EXPECT_EQ(seen[0].path, "x.zip > a.exe");
  EXPECT_EQ(seen[1].msgId, "01A");
  EXPECT_EQ(search.messagesWithFile(std::string(64, 'e'), 1).size(), 1u);
  EXPECT_TRUE(search.messagesWithFile(std::string(64, 'f'), 10).empty());
}

BCCSINK_ON_BOTH_ENGINES(MessageSearchTest);
