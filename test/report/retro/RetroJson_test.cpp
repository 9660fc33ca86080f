#include "report/retro/RetroJson.h"

#include <gtest/gtest.h>

#include "base/JsonText.h"

using namespace bccsink;
using namespace bccsink::report;

TEST(RetroJson, AnAlertWithoutItsMessagesAndWithThem) {
  db::RetroAlert a;
  a.id = "01R";
  a.sink = "sink-a";
  a.sha256 = std::string(64, 'b');
  a.analyzer = "hashlist";
  a.verdict = "dangerous";
  a.threats = {"Known.Bad"};
  a.cause = "hash-list";
  a.createdAt = "2026-12-01T09:00:00.000Z";
  a.reportStatus = "due";
  a.messageCount = 1;
  a.filePath = "a.zip > b.exe";
  db::RetroMessage m;
  m.msgId = "01A";
  m.sender = "";
  m.recipients = {"watch@bcc.test"};
  m.filePath = "a.zip > b.exe";
  m.earlierVerdict = "clean";
  m.earlierCheckedAt = "2026-11-30T04:00:02.000Z";
  m.verdict = "dangerous";
  a.messages = {m};
  EXPECT_EQ(jsonText(retroAlertJson(a, false)),
            "{\"id\":\"01R\",\"retro\":true,\"sink\":\"sink-a\",\"sha256\":\"" + a.sha256 +
                "\",\"file_name\":\"b.exe\",\"file_path\":\"a.zip > b.exe\","
                "\"analyzer\":\"hashlist\",\"verdict\":\"dangerous\",\"threats\":[\"Known.Bad\"],"
                "\"cause\":\"hash-list\",\"cause_text\":\"a hash list entry\","
                "\"created_at\":\"2026-12-01T09:00:00.000Z\",\"report_status\":\"due\","
                "\"report_attempts\":0,\"report_error\":null,\"reported_at\":null,"
                "\"message_count\":1}");
  auto with = retroAlertJson(a, true);
  auto x = with->getArray("messages")->getObject(0);
  EXPECT_TRUE(x->isNull("sink"));  // the message row is gone: what the alert recorded stays
  EXPECT_TRUE(x->isNull("received_at"));
  EXPECT_EQ(x->getValue<std::string>("sender"), "");
  EXPECT_EQ(x->getArray("original_recipients")->size(), 0u);
}

TEST(RetroJson, AMessagesMentionsAreAListEmptyWhenNone) {
  EXPECT_EQ(jsonText(retroMentionsJson({})), "[]");
  db::RetroMention m;
  m.alertId = "01R";
  m.earlierVerdict = "clean";
  m.earlierCheckedAt = "2026-11-30T04:00:02.000Z";
  m.verdict = "suspicious";
  m.analyzer = "vxcube";
  m.threats = {"Trojan.Generic"};
  m.cause = "late-answer";
  m.filePath = "a.doc";
  m.createdAt = "2026-12-01T09:00:00.000Z";
  EXPECT_EQ(jsonText(retroMentionsJson({m})),
            "[{\"alert\":\"01R\",\"retro\":true,\"earlier_verdict\":\"clean\","
            "\"earlier_checked_at\":\"2026-11-30T04:00:02.000Z\",\"verdict\":\"suspicious\","
            "\"analyzer\":\"vxcube\",\"threats\":[\"Trojan.Generic\"],\"cause\":\"late-answer\","
            "\"file_path\":\"a.doc\",\"created_at\":\"2026-12-01T09:00:00.000Z\"}]");
}
