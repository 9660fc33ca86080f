#include "report/retro/RetroReport.h"

#include <gtest/gtest.h>

using namespace bccsink;
using namespace bccsink::report;

namespace {

db::RetroMessage message(const std::string& id, const std::string& earlier,
                         const std::string& checkedAt, const std::string& path) {
  db::RetroMessage m;
  m.msgId = id;
  m.sink = "sink-a";
  m.sender = "mallory@example.org";
  m.receivedAt = "2026-11-30T04:00:00.000Z";
  m.recipients = {"watch+bob=example.org@bcc.test"};
  m.filePath = path;
  m.earlierVerdict = earlier;
  m.earlierCheckedAt = checkedAt;
  m.verdict = "dangerous";
  return m;
}

}  // namespace

TEST(RetroReport, NamesTheFileTheEarliestJudgementAndTheCauseInWords) {
  db::RetroAlert a;
  a.id = "01R";
  a.sha256 = std::string(64, 'b');
  a.analyzer = "clamd";
  a.verdict = "dangerous";
  a.cause = "signature-update";
  a.messages = {message("01B", "clean", "2026-11-30T05:00:01.000Z", "a.zip > invoice.exe"),
                message("01A", "unscanned", "2026-11-30T04:00:02.000Z", "invoice.exe")};
  a.messages[1].originalRecipients = {"bob@example.org"};
  auto r = buildRetroReport(a);
  EXPECT_EQ(r.fileName, "invoice.exe");
  EXPECT_EQ(r.earlierVerdict, "clean or unscanned");
  EXPECT_EQ(r.earlierCheckedAt, "2026-11-30T04:00:02.000Z");  // the first judgement
  EXPECT_EQ(r.causeText, "new clamd signatures");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_FALSE(r.messages[0].originalRecipients);
  EXPECT_EQ(r.messages[0].recipients, (std::vector<std::string>{"watch+bob=example.org@bcc.test"}));
  EXPECT_TRUE(r.messages[1].originalRecipients);  // the original ones when known
  EXPECT_EQ(r.messages[1].recipients, (std::vector<std::string>{"bob@example.org"}));
  a.filePath = "mail.eml > other.exe";  // the list's name for it wins, so both agree
  EXPECT_EQ(buildRetroReport(a).fileName, "other.exe");
  a.messages.clear();
  a.filePath.clear();
  EXPECT_EQ(buildRetroReport(a).fileName, std::string(16, 'b'));  // no message left: the digest
  EXPECT_EQ(buildRetroReport(a).earlierVerdict, "clean");
}

TEST(RetroReport, CausesInWordsAndTimesForPeople) {
  EXPECT_EQ(retroCauseText("late-answer"), "a late sandbox answer");
  EXPECT_EQ(retroCauseText("rules-reload"), "new YARA rules");
  EXPECT_EQ(retroCauseText("signature-update"), "new clamd signatures");
  EXPECT_EQ(retroCauseText("hash-list"), "a hash list entry");
  EXPECT_EQ(retroCauseText("something-new"), "something-new");
  EXPECT_EQ(readableTime("2026-11-30T04:00:02.000Z"), "2026-11-30 04:00 UTC");
  EXPECT_EQ(readableTime("yesterday"), "yesterday");
  EXPECT_EQ(fileNameOf("a.zip > b.rar > c.exe"), "c.exe");
  EXPECT_EQ(fileNameOf("c.exe"), "c.exe");
}
