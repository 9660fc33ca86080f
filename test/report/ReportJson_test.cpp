// The message JSON with envelope fields that are not UTF-8 (issue 18, finding 9): an SMTP
// client may send any byte in MAIL FROM; what `queue list --json`, the API and the report
// attachment print must still be valid UTF-8 that a strict parser accepts.

#include "report/ReportJson.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <string>

#include "base/JsonText.h"
#include "base/Text.h"

using namespace bccsink;
using namespace bccsink::report;
using Poco::JSON::Object;

namespace {

const std::string kFffd = "\xef\xbf\xbd";  // U+FFFD

// Strict: the text must be valid UTF-8 before Poco's parser (which is lenient) reads it.
Object::Ptr parseStrictly(const std::string& text) {
  EXPECT_TRUE(isValidUtf8(text)) << asciiEscaped(text);
  return Poco::JSON::Parser().parse(text).extract<Object::Ptr>();
}

db::MessageRecord latin1Envelope() {
  db::MessageRecord m;
  m.id = "01M8LATIN1";
  m.state = "received";
  m.sender = "\xe9@x";
  m.recipients = {{"r\xe9sum\xc3\xa9@bcc.test", "rfc822;\xff", ""}};
  m.helo = "h\xe9lo";
  return m;
}

}  // namespace

TEST(ReportJson, QueueRowWithLatin1SenderIsValidUtf8) {
  auto json = parseStrictly(jsonText(messageJson(latin1Envelope())));
  EXPECT_EQ(json->getValue<std::string>("sender"), kFffd + "@x");
  EXPECT_EQ(json->getValue<std::string>("helo"), "h" + kFffd + "lo");
  auto rcpt = json->getArray("recipients");
  ASSERT_EQ(rcpt->size(), 1u);
  // Valid UTF-8 (the é of "résumé" at the end) is kept as it is.
  EXPECT_EQ(rcpt->getElement<std::string>(0), "r" + kFffd + "sum\xc3\xa9@bcc.test");
  EXPECT_EQ(json->getArray("dsn")->getObject(0)->getValue<std::string>("orcpt"), "rfc822;" + kFffd);
}

TEST(ReportJson, ApiSummaryWithLatin1SenderIsValidUtf8) {
  db::MessageSummary s;
  s.id = "01M8LATIN1";
  s.state = "checked";
  s.sender = "\xe9@x";
  auto json = parseStrictly(jsonText(messageJson(s, "Subj\xe9")));
  EXPECT_EQ(json->getValue<std::string>("sender"), kFffd + "@x");
  EXPECT_EQ(json->getValue<std::string>("subject"), "Subj" + kFffd);
}

TEST(ReportJson, ReportTextWithLatin1SenderIsValidUtf8) {
  Report r;
  r.id = "01M8LATIN1";
  r.verdict = "clean";
  r.envelopeSender = "\xe9@x";
  r.envelopeRecipients = {"watch@bcc.test"};
  r.subject =
      "Gr\xc3\xbc\xc3\x9f"
      "e \xe9";
  for (unsigned indent : {0u, 2u}) {
    auto message = parseStrictly(toJsonText(r, indent))->getObject("message");
    ASSERT_FALSE(message.isNull());
    EXPECT_EQ(message->getValue<std::string>("envelope_sender"), kFffd + "@x");
    EXPECT_EQ(message->getValue<std::string>("subject"),
              "Gr\xc3\xbc\xc3\x9f"
              "e " +
                  kFffd);
  }
}

TEST(ReportJson, AnSmtpModeReportCarriesItsHoldAndABccCopyNone) {
  Report r;
  r.id = "01M8HELD";
  r.verdict = "dangerous";
  EXPECT_FALSE(parseStrictly(toJsonText(r))->has("hold"));
  r.hold = HoldOutcome{};
  r.hold->state = "quarantined";
  r.hold->action = "quarantine";
  r.hold->why = "dangerous: Eicar-Test-Signature";
  r.hold->decidedAt = "2026-11-30T04:00:03.000Z";
  auto hold = parseStrictly(toJsonText(r))->getObject("hold");
  ASSERT_FALSE(hold.isNull());
  EXPECT_EQ(hold->getValue<std::string>("state"), "quarantined");
  EXPECT_EQ(hold->getValue<std::string>("action"), "quarantine");
  EXPECT_EQ(hold->getValue<std::string>("why"), "dangerous: Eicar-Test-Signature");
  EXPECT_EQ(hold->getValue<int>("tries"), 0);
  EXPECT_TRUE(hold->isNull("last_error"));
  EXPECT_TRUE(hold->isNull("relay_reply"));
  EXPECT_TRUE(hold->isNull("released_by"));
  EXPECT_EQ(hold->getValue<std::string>("decided_at"), "2026-11-30T04:00:03.000Z");
  EXPECT_TRUE(hold->isNull("delivered_at"));

  r.hold->state = "delivered";
  r.hold->releasedBy = "admin@cli";
  r.hold->relayReply = "250 2.0.0 Ok: queued as 4Q1";
  hold = parseStrictly(toJsonText(r))->getObject("hold");
  EXPECT_EQ(hold->getValue<std::string>("released_by"), "admin@cli");
  EXPECT_EQ(hold->getValue<std::string>("relay_reply"), "250 2.0.0 Ok: queued as 4Q1");
}

TEST(ReportJson, OriginalRecipientsAreDistinctInOrderAndAnEmptyListWhenNone) {
  db::MessageRecord m;
  m.id = "01M8ORIG";
  m.recipients = {{"watch+b=y.example@bcc.test", "", "", "b@y.example"},
                  {"watch@bcc.test", "", "", ""},
                  {"watch+a=x.example@bcc.test", "", "", "a@x.example"},
                  {"other+b=y.example@bcc.test", "", "", "b@y.example"}};
  auto json = parseStrictly(jsonText(messageJson(m)));
  auto originals = json->getArray("original_recipients");
  ASSERT_EQ(originals->size(), 2u);
  EXPECT_EQ(originals->getElement<std::string>(0), "b@y.example");
  EXPECT_EQ(originals->getElement<std::string>(1), "a@x.example");
  auto none = parseStrictly(jsonText(messageJson(latin1Envelope())));
  ASSERT_TRUE(none->has("original_recipients"));
  EXPECT_EQ(none->getArray("original_recipients")->size(), 0u);

  Report r;
  r.originalRecipients = {"b@y.example", "a@x.example"};
  auto message = parseStrictly(toJsonText(r))->getObject("message");
  EXPECT_EQ(message->getArray("original_recipients")->size(), 2u);
  r.originalRecipients.clear();
  message = parseStrictly(toJsonText(r))->getObject("message");
  EXPECT_EQ(message->getArray("original_recipients")->size(), 0u);
}
