// The original recipients on both engines: decoded from a copy's recipients when the row
// is inserted (intake and recovery alike), read back by every reader of recipients, never
// in SMTP mode.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/Clock.h"
#include "db/MessageQueue.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

namespace {

db::MessageRecord copyTo(const std::string& id, const std::vector<std::string>& addresses) {
  auto r = test::sampleRecord(id);
  r.recipients.clear();
  for (const auto& a : addresses) r.recipients.push_back({a, "", "NEVER"});
  return r;
}

std::vector<std::string> originals(const db::MessageRecord& m) {
  std::vector<std::string> out;
  for (const auto& r : m.recipients) out.push_back(r.original);
  return out;
}

const std::vector<std::string> kEncoded = {"watch+bob=example.org@bcc.test", "watch@bcc.test",
                                           "\"watch+john smith=Example.ORG\"@bcc.test",
                                           "watch+ann+news=example.com@bcc.test"};
const std::vector<std::string> kDecoded = {"bob@example.org", "", "\"john smith\"@example.org",
                                           "ann+news@example.com"};

}  // namespace

class MessageQueueOriginalsTest : public test::EngineTest {
 protected:
  db::MessageQueue q{database()};
};

TEST_P(MessageQueueOriginalsTest, InsertDecodesAndEveryReaderGivesThemBack) {
  q.insertPending({copyTo("01A", kEncoded)});
  auto found = q.find("01A");
  ASSERT_TRUE(found);
  EXPECT_EQ(originals(*found), kDecoded);
  EXPECT_EQ(found->recipients[0].address, "watch+bob=example.org@bcc.test");
  EXPECT_EQ(found->recipients[0].notify, "NEVER");
  auto listed = q.list({});
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(originals(listed[0]), kDecoded);
  // The claim reads recipients with its own kept statement.
  auto claimed = q.claimNext("sink-a", nowMs() + 60000, nowMs() + 60000, isoNow());
  ASSERT_TRUE(claimed);
  EXPECT_EQ(originals(*claimed), kDecoded);
}

TEST_P(MessageQueueOriginalsTest, ABatchClaimGivesEachRowItsOwnOriginals) {
  q.insertPending({copyTo("01A", {"w+a=one.example@bcc.test"}),
                   copyTo("01B", {"w+b=two.example@bcc.test", "w+c=two.example@bcc.test"}),
                   copyTo("01C", {"watch@bcc.test"})});
  auto rows = q.claim("sink-a", 10, nowMs() + 60000, nowMs() + 60000, isoNow());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(originals(rows[0]), std::vector<std::string>{"a@one.example"});
  EXPECT_EQ(originals(rows[1]), (std::vector<std::string>{"b@two.example", "c@two.example"}));
  EXPECT_EQ(originals(rows[2]), std::vector<std::string>{""});
}

TEST_P(MessageQueueOriginalsTest, SmtpModeRecipientsAreTheRealOnesAndNeverDecoded) {
  auto held = copyTo("01A", {"user+tag=x.example@example.org"});
  held.hold = true;
  q.insertPending({held});
  auto back = q.find("01A");
  ASSERT_TRUE(back);
  EXPECT_EQ(originals(*back), std::vector<std::string>{""});
}

TEST_P(MessageQueueOriginalsTest, AnOriginalAlreadyKnownIsKept) {
  auto r = copyTo("01A", {"watch@bcc.test"});
  r.recipients[0].original = "bob@example.org";
  q.insertPending({r});
  EXPECT_EQ(originals(*q.find("01A")), std::vector<std::string>{"bob@example.org"});
}

BCCSINK_ON_BOTH_ENGINES(MessageQueueOriginalsTest);
