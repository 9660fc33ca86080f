#include "report/retro/RetroMail.h"

#include <Poco/Base64Decoder.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "report/retro/RetroReport.h"
#include "report/retro/RetroView.h"
#include "report/spoof/MessageHeaders.h"
#include "test/TempDir.h"

using namespace bccsink;
using namespace bccsink::report;

namespace {

// An alert whose file name and sender are the attacker's: CR/LF to add headers, markup.
db::RetroAlert hostileAlert() {
  db::RetroAlert a;
  a.id = "01R8ALERT";
  a.sink = "sink-a";
  a.sha256 = std::string(64, 'b');
  a.analyzer = "yara";
  a.verdict = "dangerous";
  a.threats = {"Evil_Macro", "Win.Trojan.Agent"};
  a.cause = "rules-reload";
  a.createdAt = "2026-12-01T09:00:00.000Z";
  a.reportStatus = "due";
  db::RetroMessage m;
  m.msgId = "01M8A";
  m.sink = "sink-a";
  m.sender = "mallory@example.org\r\nBcc: victim@example.com";
  m.receivedAt = "2026-11-30T04:00:00.000Z";
  m.recipients = {"watch+bob=example.org@bcc.test"};
  m.originalRecipients = {"bob@example.org"};
  m.filePath = "invoice.zip > Invoice\r\nBcc: victim@example.com\r\n\r\n<script>x</script>.exe";
  m.earlierVerdict = "clean";
  m.earlierCheckedAt = "2026-11-30T04:00:02.000Z";
  m.verdict = "dangerous";
  a.messages.push_back(m);
  db::RetroMessage n;
  n.msgId = "01M8B";
  n.sink = "sink-b";
  n.sender = "";
  n.receivedAt = "2026-11-30T05:00:00.000Z";
  n.recipients = {"watch@bcc.test"};
  n.filePath = "report.docm";
  n.earlierVerdict = "clean";
  n.earlierCheckedAt = "2026-11-30T05:00:01.000Z";
  n.verdict = "dangerous";
  a.messages.push_back(n);
  a.messageCount = 2;
  return a;
}

std::string decodeBase64(const std::string& text) {
  std::istringstream in(text);
  Poco::Base64Decoder dec(in);
  std::ostringstream out;
  out << dec.rdbuf();
  return out.str();
}

std::string part(const std::string& mail, const std::string& type) {
  auto at = mail.find("Content-Type: " + type);
  EXPECT_NE(at, std::string::npos) << type;
  if (at == std::string::npos) return {};
  auto start = mail.find("\r\n\r\n", at) + 4;
  auto end = mail.find("\r\n--", start);
  return decodeBase64(mail.substr(start, end - start));
}

MailSettings settings() {
  return {"bccsink@example.com", {"admin@example.com"}, "sink.test"};
}

}  // namespace

TEST(RetroMail, NothingFromTheFileNameOrSenderAddsAHeader) {
  auto mail = composeRetroMail(hostileAlert(), Templates::builtIn(), settings(), 1764460800);
  auto headers = MessageHeaders::parse(mail);
  EXPECT_TRUE(headers.all("Bcc").empty());
  EXPECT_EQ(headers.all("Subject").size(), 1u);
  EXPECT_EQ(headers.first("X-Bccsink-Retro"), "yes");
  EXPECT_EQ(headers.first("X-Bccsink-Retro-Alert"), "01R8ALERT");
  EXPECT_EQ(headers.first("X-Bccsink-Verdict"), "dangerous");
  EXPECT_EQ(headers.first("Auto-Submitted"), "auto-generated");
  auto subject = headers.decoded("Subject");
  EXPECT_EQ(subject.rfind("[bccsink] retro-alert: Invoice  Bcc: victim@example.com", 0), 0u)
      << subject;
  EXPECT_NE(subject.find(".exe now dangerous (2 messages)"), std::string::npos) << subject;
  EXPECT_EQ(subject.find('\r'), std::string::npos);
  EXPECT_EQ(subject.find('\n'), std::string::npos);
  std::istringstream lines(mail.substr(0, mail.find("\r\n\r\n")));
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(line.size(), 998u) << line;
    EXPECT_NE(line.rfind("Bcc:", 0), 0u) << line;
  }
}

TEST(RetroMail, TheTextSaysWhatWasJudgedWhenWhatItIsNowAndEveryMessage) {
  auto mail = composeRetroMail(hostileAlert(), Templates::builtIn(), settings(), 1764460800);
  auto text = part(mail, "text/plain");
  EXPECT_NE(text.find("judged clean on 2026-11-30 04:00 UTC is now dangerous\nbecause yara: "
                      "Evil_Macro, Win.Trojan.Agent."),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("What changed: new YARA rules."), std::string::npos) << text;
  EXPECT_NE(text.find("SHA-256:      " + std::string(64, 'b')), std::string::npos) << text;
  EXPECT_NE(text.find("Messages affected (2)"), std::string::npos);
  EXPECT_NE(text.find("  01M8A\n    received:   2026-11-30 04:00 UTC (sink sink-a)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("    sender:     mallory@example.org  Bcc: victim@example.com\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("    recipients: bob@example.org (original recipients)\n"),
            std::string::npos);
  EXPECT_NE(text.find("    verdict:    clean on 2026-11-30 04:00 UTC -> now dangerous\n"),
            std::string::npos);
  EXPECT_NE(text.find("  01M8B\n    received:   2026-11-30 05:00 UTC (sink sink-b)\n"
                      "    sender:     <>\n    recipients: watch@bcc.test\n"
                      "    file:       report.docm\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("\nBcc: victim"), std::string::npos);  // every value is one line
}

TEST(RetroMail, TheHtmlPartEscapesEveryValue) {
  auto mail = composeRetroMail(hostileAlert(), Templates::builtIn(), settings(), 1764460800);
  auto html = part(mail, "text/html");
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;x&lt;/script&gt;.exe"), std::string::npos) << html;
  EXPECT_NE(html.find("invoice.zip &gt; Invoice"), std::string::npos);
  EXPECT_NE(html.find("<span class=\"v-dangerous\">dangerous</span>"), std::string::npos);
  EXPECT_NE(html.find("new YARA rules"), std::string::npos);
  EXPECT_NE(html.find("&lt;&gt;"), std::string::npos);  // the null sender, escaped
}

TEST(RetroMail, TheJsonAttachmentIsTheAlertWithItsMessages) {
  auto mail = composeRetroMail(hostileAlert(), Templates::builtIn(), settings(), 1764460800);
  EXPECT_NE(mail.find("filename=\"retro.json\""), std::string::npos);
  auto json =
      Poco::JSON::Parser().parse(part(mail, "application/json")).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(json->getValue<std::string>("id"), "01R8ALERT");
  EXPECT_TRUE(json->getValue<bool>("retro"));
  EXPECT_EQ(json->getValue<std::string>("cause_text"), "new YARA rules");
  auto messages = json->getArray("messages");
  ASSERT_EQ(messages->size(), 2u);
  auto first = messages->getObject(0);
  EXPECT_EQ(first->getValue<std::string>("earlier_verdict"), "clean");
  EXPECT_EQ(first->getArray("original_recipients")->getElement<std::string>(0), "bob@example.org");
}

TEST(RetroMail, OneMessageIsSingularAndATemplateFolderReplacesTheRetroTemplates) {
  auto alert = hostileAlert();
  alert.messages.pop_back();
  alert.messages[0].filePath = "a.docm";
  test::TempDir dir;
  std::ofstream(dir / "retro.txt.mustache")
      << "RETRO {{file_name}} {{#messages}}[{{id}}]{{/messages}}\n";
  auto templates = Templates::fromDir(dir.path());
  auto r = renderRetroReport(buildRetroReport(alert), templates);
  EXPECT_EQ(r.text, "RETRO a.docm [01M8A]\n");
  EXPECT_NE(r.html.find("<!DOCTYPE html>"), std::string::npos);  // still the built-in one
  auto mail = composeRetroMail(alert, templates, settings(), 1764460800);
  EXPECT_EQ(MessageHeaders::parse(mail).decoded("Subject"),
            "[bccsink] retro-alert: a.docm now dangerous (1 message)");
}
