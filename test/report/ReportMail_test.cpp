#include "report/ReportMail.h"

#include <Poco/Base64Decoder.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/MimeText.h"
#include "report/ReportView.h"
#include "report/spoof/MessageHeaders.h"

using namespace bccsink;
using namespace bccsink::report;

namespace {

Report hostileReport() {
  Report r;
  r.id = "01M8TEST";
  r.verdict = "dangerous";
  r.subject = "Invoice\r\nBcc: victim@example.com\r\n\r\n<script>alert(1)</script> äöü";
  r.from = "\"Mallory\" <mallory@example.org>";
  r.to = {"bob@example.com"};
  r.envelopeSender = "mallory@example.org";
  r.envelopeRecipients = {"watch@bcc.test"};
  r.clientIp = "127.0.0.1";
  r.helo = "mta.test";
  r.spoof.spoofed = true;
  r.spoof.reason = "hop 2 came from 203.0.113.9, not a trusted relay";
  ReportFile f;
  f.name = "a<b>\".exe";
  f.path = "invoice.zip > a<b>\".exe";
  f.size = 544;
  f.md5 = "aa15bcf478d165efd2065190eb473bcb";
  f.sha256 = std::string(64, 'f');
  f.trueType = "application/x-dosexec";
  f.family = "pe";
  f.extension = "exe";
  f.selected = true;
  f.verdict = "dangerous";
  f.answers.push_back({"clamd", "dangerous", 100, {"Win.Test.EICAR_HDB-1"}, "", "", ""});
  f.answers.push_back({"vxcube", "suspicious", 65, {}, "https://vx.test/r?a=1&b=2", "", ""});
  r.files.push_back(f);
  return r;
}

std::string decodeBase64(const std::string& text) {
  std::istringstream in(text);
  Poco::Base64Decoder dec(in);
  std::ostringstream out;
  out << dec.rdbuf();
  return out.str();
}

// The base64 body of the part whose Content-Type starts with `type`.
std::string part(const std::string& mail, const std::string& type) {
  auto at = mail.find("Content-Type: " + type);
  EXPECT_NE(at, std::string::npos) << type;
  if (at == std::string::npos) return {};
  auto start = mail.find("\r\n\r\n", at) + 4;
  auto end = mail.find("\r\n--", start);
  return decodeBase64(mail.substr(start, end - start));
}

MailSettings settings() {
  return {"bccsink@example.com", {"admin@example.com", "soc@example.com"}, "sink.test"};
}

}  // namespace

TEST(ReportMail, NothingFromTheMessageAddsAHeaderAndTheSubjectComesBackDecoded) {
  auto mail = composeReportMail(hostileReport(), Templates::builtIn(), settings(), 1764460800);
  auto headers = MessageHeaders::parse(mail);
  EXPECT_TRUE(headers.all("Bcc").empty());
  EXPECT_EQ(headers.all("Subject").size(), 1u);
  EXPECT_EQ(headers.first("To"), "admin@example.com, soc@example.com");
  EXPECT_EQ(headers.first("Auto-Submitted"), "auto-generated");
  EXPECT_EQ(headers.first("X-Bccsink-Verdict"), "dangerous");
  EXPECT_EQ(headers.first("X-Bccsink-Spoofed"), "yes");
  auto subject = headers.decoded("Subject");
  EXPECT_EQ(subject.rfind("[bccsink] dangerous, spoofed: Invoice", 0), 0u) << subject;
  EXPECT_NE(subject.find("äöü"), std::string::npos) << subject;
  EXPECT_EQ(subject.find('\r'), std::string::npos);
  // Each header line stays short (RFC 5322 section 2.1.1).
  std::istringstream lines(mail.substr(0, mail.find("\r\n\r\n")));
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 998u) << line;
}

TEST(ReportMail, TheHtmlPartEscapesEveryValueAndTheTextPartKeepsItReadable) {
  auto mail = composeReportMail(hostileReport(), Templates::builtIn(), settings(), 1764460800);
  auto html = part(mail, "text/html");
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  EXPECT_NE(html.find("invoice.zip &gt; a&lt;b&gt;&quot;.exe"), std::string::npos);
  EXPECT_NE(html.find("href=\"https://vx.test/r?a=1&amp;b=2\""), std::string::npos);
  EXPECT_NE(html.find("Win.Test.EICAR_HDB-1"), std::string::npos);
  auto text = part(mail, "text/plain");
  EXPECT_NE(text.find("SHA-256:    " + std::string(64, 'f')), std::string::npos) << text;
  EXPECT_NE(text.find("Verdict:      dangerous"), std::string::npos);
  EXPECT_NE(text.find("hop 2 came from 203.0.113.9"), std::string::npos);
  EXPECT_NE(text.find("clamd: dangerous (score 100) Win.Test.EICAR_HDB-1"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("\nBcc: victim"), std::string::npos);  // the subject is one line
  // vxcube named no threat: its line must not borrow clamd's from the file.
  EXPECT_NE(text.find("vxcube: suspicious (score 65)\n"), std::string::npos) << text;
  EXPECT_EQ(html.find("vxcube</th><td>suspicious (score 65) Win.Test"), std::string::npos);
}

TEST(ReportMail, WhatTheSenderKeptFromAnalysisIsNamedNearTheVerdict) {
  Report r = hostileReport();
  r.verdict = "suspicious";
  r.spoof.spoofed = false;
  ReportFile locked;
  locked.name = "secret.exe";
  locked.path = "a.zip > secret.exe";
  locked.verdict = "unscanned";
  locked.reason = "evasion: encrypted zip, no password opened it";
  r.files = {locked, locked};
  r.files[1].path = "a.zip > readme.txt";
  r.errors = {"evasion: 'b.zip': nested deeper than 10 containers", "a.zip: CRC error"};
  auto mail = composeReportMail(r, Templates::builtIn(), settings(), 1764460800);
  auto text = part(mail, "text/plain");
  EXPECT_NE(text.find("Kept from analysis by the sender (evasion)\n"
                      "  - evasion: encrypted zip, no password opened it: a.zip > secret.exe, "
                      "a.zip > readme.txt\n"
                      "  - evasion: 'b.zip': nested deeper than 10 containers\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("note:       evasion: encrypted zip, no password opened it"),
            std::string::npos);
  auto html = part(mail, "text/html");
  EXPECT_NE(html.find("<li>evasion: encrypted zip, no password opened it: a.zip &gt; secret.exe"),
            std::string::npos)
      << html;
  // The digest names it too.
  auto digest =
      renderDigest({r}, "2026-11-30T00:00:00Z", "2026-11-30T01:00:00Z", Templates::builtIn());
  EXPECT_NE(digest.text.find("  Evasion:    evasion: encrypted zip, no password opened it: "
                             "a.zip > secret.exe"),
            std::string::npos)
      << digest.text;
  EXPECT_NE(digest.html.find("evasion: &#39;b.zip&#39;: nested deeper"), std::string::npos)
      << digest.html;
  // Without an evasion, no such section.
  auto plain =
      part(composeReportMail(hostileReport(), Templates::builtIn(), settings(), 1764460800),
           "text/plain");
  EXPECT_EQ(plain.find("Kept from analysis"), std::string::npos);
}

TEST(ReportMail, BidirectionalControlsInNamesAreShownEscaped) {
  // "invoice<U+202E>fdp.exe" reads as "invoiceexe.pdf" where the character is obeyed.
  Report r = hostileReport();
  r.files[0].name =
      "invoice\xE2\x80\xAE"
      "fdp.exe";
  r.files[0].path =
      "a.zip > invoice\xE2\x80\xAE"
      "fdp.exe";
  auto mail = composeReportMail(r, Templates::builtIn(), settings(), 1764460800);
  auto text = part(mail, "text/plain");
  EXPECT_NE(text.find("a.zip > invoice\\u202efdp.exe"), std::string::npos) << text;
  EXPECT_EQ(text.find("\xE2\x80\xAE"), std::string::npos);
  auto html = part(mail, "text/html");
  EXPECT_NE(html.find("invoice\\u202efdp.exe"), std::string::npos);
  EXPECT_EQ(html.find("\xE2\x80\xAE"), std::string::npos);
}

TEST(ReportMail, TheJsonAttachmentIsTheReport) {
  auto mail = composeReportMail(hostileReport(), Templates::builtIn(), settings(), 1764460800);
  EXPECT_NE(mail.find("filename=\"report.json\""), std::string::npos);
  auto json = part(mail, "application/json");
  auto o = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Object::Ptr>();
  EXPECT_EQ(o->getValue<std::string>("verdict"), "dangerous");
  EXPECT_TRUE(o->getValue<bool>("spoofed"));
  auto files = o->getArray("files");
  ASSERT_EQ(files->size(), 1u);
  EXPECT_EQ(files->getObject(0)->getValue<std::string>("sha256"), std::string(64, 'f'));
  EXPECT_EQ(files->getObject(0)->getArray("analyzers")->size(), 2u);
}

TEST(ReportMail, OriginalRecipientsAreShownWhenKnownOnly) {
  Report r = hostileReport();
  r.originalRecipients = {"bob@example.com", "\"ann <x>\"@example.com"};
  auto mail = composeReportMail(r, Templates::builtIn(), settings(), 1764460800);
  EXPECT_NE(part(mail, "text/plain")
                .find("  Original recipients: bob@example.com, \"ann <x>\"@example.com\n"),
            std::string::npos);
  EXPECT_NE(part(mail, "text/html")
                .find("<tr><th>Original recipients</th><td>bob@example.com, "
                      "&quot;ann &lt;x&gt;&quot;@example.com</td></tr>"),
            std::string::npos);
  auto digest =
      renderDigest({r}, "2026-11-30T00:00:00Z", "2026-11-30T01:00:00Z", Templates::builtIn());
  EXPECT_NE(digest.text.find("Original recipients: bob@example.com"), std::string::npos);
  EXPECT_NE(digest.html.find("to bob@example.com"), std::string::npos);
  auto plain = composeReportMail(hostileReport(), Templates::builtIn(), settings(), 1764460800);
  EXPECT_EQ(plain.find("Original recipients"), std::string::npos);
  EXPECT_EQ(part(plain, "text/plain").find("Original recipients"), std::string::npos);
  EXPECT_EQ(part(plain, "text/html").find("Original recipients"), std::string::npos);
}

TEST(ReportMail, ADigestListsEveryMessageWithItsFlaggedFiles) {
  auto a = hostileReport();
  auto b = hostileReport();
  b.id = "01M8SECOND";
  b.verdict = "suspicious";
  b.spoof = SpoofFinding{};
  b.subject = "second one";
  auto mail = composeDigestMail({a, b}, "2026-11-30T00:00:00Z", "2026-11-30T01:00:00Z",
                                Templates::builtIn(), settings(), 1764460800);
  auto headers = MessageHeaders::parse(mail);
  EXPECT_EQ(headers.decoded("Subject"),
            "[bccsink] digest: 2 messages (1 dangerous, 1 suspicious, 1 spoofed)");
  auto text = part(mail, "text/plain");
  EXPECT_NE(text.find("01M8TEST"), std::string::npos);
  EXPECT_NE(text.find("01M8SECOND"), std::string::npos);
  EXPECT_NE(text.find("second one"), std::string::npos);
  auto json = part(mail, "application/json");
  auto all = Poco::JSON::Parser().parse(json).extract<Poco::JSON::Array::Ptr>();
  EXPECT_EQ(all->size(), 2u);
}

// SMTP mode: the report says what was done with the message.

Report heldReport(const std::string& state, const std::string& action, const std::string& why) {
  Report r = hostileReport();
  r.spoof = SpoofFinding{};
  r.hold = HoldOutcome{};
  r.hold->state = state;
  r.hold->action = action;
  r.hold->why = why;
  return r;
}

TEST(ReportMail, AQuarantinedMessagesReportNamesTheActionAndTheReleaseCommand) {
  auto r = heldReport("quarantined", "quarantine", "dangerous: Win.Test.EICAR_HDB-1");
  auto mail = composeReportMail(r, Templates::builtIn(), settings(), 1764460800);
  EXPECT_EQ(MessageHeaders::parse(mail).first("X-Bccsink-Smtp-Mode"), "quarantined");
  auto text = part(mail, "text/plain");
  EXPECT_NE(text.find("SMTP mode:    quarantined (dangerous: Win.Test.EICAR_HDB-1) — not "
                      "delivered\n                release with: bccsink quarantine release "
                      "01M8TEST\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("came through bccsink's SMTP mode"), std::string::npos);
  EXPECT_EQ(text.find("delivered as usual"), std::string::npos);  // not a watched copy
  auto html = part(mail, "text/html");
  EXPECT_NE(html.find("<strong>SMTP mode:</strong> quarantined (dangerous: "
                      "Win.Test.EICAR_HDB-1) — not delivered"),
            std::string::npos)
      << html;
  EXPECT_NE(html.find("<code>bccsink quarantine release 01M8TEST</code>"), std::string::npos);
  EXPECT_EQ(html.find("delivered as usual"), std::string::npos);
}

TEST(ReportMail, ADiscardedMessagesReportOffersNoRelease) {
  auto r = heldReport("discarded", "discard", "dangerous: Win.Test.EICAR_HDB-1");
  auto mail = composeReportMail(r, Templates::builtIn(), settings(), 1764460800);
  EXPECT_EQ(MessageHeaders::parse(mail).decoded("Subject").rfind("[bccsink] dangerous, "
                                                                 "discarded: Invoice",
                                                                 0),
            0u);
  auto text = part(mail, "text/plain"), html = part(mail, "text/html");
  EXPECT_NE(text.find("SMTP mode:    discarded (kept as evidence) — not delivered (dangerous: "
                      "Win.Test.EICAR_HDB-1)"),
            std::string::npos)
      << text;
  EXPECT_NE(html.find("discarded (kept as evidence)"), std::string::npos);
  EXPECT_EQ(text.find("quarantine release"), std::string::npos) << text;
  EXPECT_EQ(html.find("quarantine release"), std::string::npos);
}

TEST(ReportMail, PassTagAndTheRelaysRefusalAreNamed) {
  auto tagged = heldReport("delivered", "tag", "suspicious: macro");
  tagged.hold->relayReply = "250 2.0.0 Ok: queued as 4Q1";
  auto text = renderReport(tagged, Templates::builtIn()).text;
  EXPECT_NE(text.find("SMTP mode:    tagged and delivered (suspicious: macro)\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("Relay said:   250 2.0.0 Ok: queued as 4Q1"), std::string::npos);
  EXPECT_EQ(text.find("release"), std::string::npos);

  auto passed = heldReport("delivered", "pass", "");
  text = renderReport(passed, Templates::builtIn()).text;
  EXPECT_NE(text.find("SMTP mode:    delivered\n"), std::string::npos) << text;
  auto mail = composeReportMail(passed, Templates::builtIn(), settings(), 1764460800);
  EXPECT_EQ(MessageHeaders::parse(mail).decoded("Subject").rfind("[bccsink] dangerous: Invoice", 0),
            0u);  // delivered: nothing kept back to flag

  auto retrying = heldReport("deliver", "pass", "clean");
  retrying.hold->tries = 2;
  retrying.hold->lastError = "421 4.3.0 try later";
  text = renderReport(retrying, Templates::builtIn()).text;
  EXPECT_NE(text.find("being delivered (2 tries failed so far, last: 421 4.3.0 try later)"),
            std::string::npos)
      << text;

  auto rejected = heldReport("rejected", "pass", "clean");
  rejected.hold->lastError = "550 5.7.1 <bob@example.com>: relay access denied";
  auto rendered = renderReport(rejected, Templates::builtIn());
  EXPECT_NE(rendered.text.find("SMTP mode:    rejected by the relay: 550 5.7.1 "
                               "<bob@example.com>: relay access denied — not delivered\n"
                               "                try again with: bccsink quarantine release "
                               "01M8TEST"),
            std::string::npos)
      << rendered.text;
  EXPECT_NE(rendered.html.find("rejected by the relay: 550 5.7.1 &lt;bob@example.com&gt;"),
            std::string::npos);
}

TEST(ReportMail, ADigestSaysWhatSmtpModeDidWithEachMessage) {
  auto copy = hostileReport();  // a BCC copy: no SMTP mode line
  auto kept = heldReport("quarantined", "quarantine", "dangerous: Win.Test.EICAR_HDB-1");
  kept.id = "01M8KEPT";
  auto mail = composeDigestMail({copy, kept}, "2026-11-30T00:00:00Z", "2026-11-30T01:00:00Z",
                                Templates::builtIn(), settings(), 1764460800);
  EXPECT_EQ(MessageHeaders::parse(mail).decoded("Subject"),
            "[bccsink] digest: 2 messages (2 dangerous, 0 suspicious, 1 spoofed, 1 not "
            "delivered)");
  auto text = part(mail, "text/plain");
  EXPECT_NE(text.find("  SMTP mode:  quarantined (dangerous: Win.Test.EICAR_HDB-1) — not "
                      "delivered\n              release with: bccsink quarantine release "
                      "01M8KEPT"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("SMTP mode:  quarantined"), text.rfind("SMTP mode:  quarantined"));
  auto html = part(mail, "text/html");
  EXPECT_NE(html.find("<code>bccsink quarantine release 01M8KEPT</code>"), std::string::npos);
  auto json =
      Poco::JSON::Parser().parse(part(mail, "application/json")).extract<Poco::JSON::Array::Ptr>();
  ASSERT_EQ(json->size(), 2u);
  EXPECT_FALSE(json->getObject(0)->has("hold"));
  EXPECT_EQ(json->getObject(1)->getObject("hold")->getValue<std::string>("state"), "quarantined");
}

TEST(ReportMail, EncodedHeaderTextRoundTripsWithoutSplittingACharacter) {
  std::string long_utf8;
  for (int i = 0; i < 60; ++i) long_utf8 += "ж€";
  auto encoded = encodeHeaderText(long_utf8, 9);
  std::istringstream lines(encoded);
  for (std::string line; std::getline(lines, line);) EXPECT_LE(line.size(), 78u);
  // Unfold as a reader does, then decode.
  std::string unfolded;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded.compare(i, 2, "\r\n") == 0) {
      ++i;
      continue;
    }
    unfolded += encoded[i];
  }
  EXPECT_EQ(decodeEncodedWords(unfolded), long_utf8);
  EXPECT_EQ(encodeHeaderText("plain words", 9), "plain words");
  EXPECT_NE(encodeHeaderText("looks =?like?= a word", 9).find("=?utf-8?B?"), std::string::npos);
}

TEST(ReportMail, ATemplateFolderReplacesOnlyTheFilesItHolds) {
  auto dir = std::filesystem::temp_directory_path() / "bccsink-templates-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "report.txt.mustache") << "custom {{verdict}} {{subject}}\n";
  auto t = Templates::fromDir(dir.string());
  auto r = renderReport(hostileReport(), t);
  EXPECT_EQ(r.text.rfind("custom dangerous Invoice  Bcc: victim@example.com", 0), 0u) << r.text;
  EXPECT_NE(r.html.find("<!DOCTYPE html>"), std::string::npos);  // still the built-in one
  std::ofstream(dir / "report.html.mustache") << "{{#files}} unclosed\n";
  EXPECT_THROW(Templates::fromDir(dir.string()), std::runtime_error);
  std::filesystem::remove_all(dir);
  EXPECT_THROW(Templates::fromDir(dir.string()), std::runtime_error);
}
