// sink/hold/Tagging: the tag action's two changes, and nothing else, whatever the message.

#include "sink/hold/Tagging.h"

#include <gtest/gtest.h>

namespace bccsink {
namespace {

const std::string kBody = "\r\nbody line\r\nSubject: not a header\r\n";

TEST(Tagging, PrefixesTheSubjectAndAddsTheVerdictHeaderFirst) {
  std::string m = "From: a@example.org\r\nSubject: Invoice\r\nTo: b@example.org\r\n" + kBody;
  EXPECT_EQ(tagMessage(m, "[suspicious]", "suspicious: a.zip: evasion: encrypted"),
            "X-Bccsink-Verdict: suspicious: a.zip: evasion: encrypted\r\n"
            "From: a@example.org\r\nSubject: [suspicious] Invoice\r\nTo: b@example.org\r\n" +
                kBody);
}

TEST(Tagging, AddsASubjectWhenThereIsNone) {
  std::string m = "From: a@example.org\r\n" + kBody;
  EXPECT_EQ(tagMessage(m, "[suspicious]", "suspicious"),
            "X-Bccsink-Verdict: suspicious\r\nSubject: [suspicious]\r\n" + m);
  // A Subject in the body does not count (kBody holds one).
  std::string headerless = kBody;
  EXPECT_EQ(tagMessage(headerless, "[s]", "x"),
            "X-Bccsink-Verdict: x\r\nSubject: [s]\r\n" + headerless);
}

TEST(Tagging, AnEmptySubjectGetsThePrefixAlone) {
  EXPECT_EQ(tagMessage("Subject:\r\nFrom: a\r\n\r\nb", "[s]", "x"),
            "X-Bccsink-Verdict: x\r\nSubject: [s]\r\nFrom: a\r\n\r\nb");
  EXPECT_EQ(tagMessage("Subject: \r\n\r\nb", "[s]", "x"),
            "X-Bccsink-Verdict: x\r\nSubject: [s]\r\n\r\nb");
}

TEST(Tagging, AFoldedSubjectGetsThePrefixBeforeItsValue) {
  std::string m = "subject:\r\n  Quarterly\r\n report\r\nFrom: a\r\n\r\nb";
  EXPECT_EQ(tagMessage(m, "[s]", "x"),
            "X-Bccsink-Verdict: x\r\nsubject:\r\n  [s] Quarterly\r\n report\r\nFrom: a\r\n\r\nb");
  std::string m2 = "Subject: Quarterly\r\n report\r\n\r\nb";
  EXPECT_EQ(tagMessage(m2, "[s]", "x"),
            "X-Bccsink-Verdict: x\r\nSubject: [s] Quarterly\r\n report\r\n\r\nb");
}

TEST(Tagging, KeepsLfLineEndsWhenTheMessageHasThem) {
  std::string m = "From: a\nSubject: Hi\n\nbody\n";
  EXPECT_EQ(tagMessage(m, "[s]", "x"), "X-Bccsink-Verdict: x\nFrom: a\nSubject: [s] Hi\n\nbody\n");
  EXPECT_EQ(tagMessage("From: a\n\nb\n", "[s]", "x"),
            "X-Bccsink-Verdict: x\nSubject: [s]\nFrom: a\n\nb\n");
}

TEST(Tagging, OnlyTheFirstSubjectIsPrefixedAndThePrefixOnlyOnce) {
  std::string m = "Subject: one\r\nSubject: two\r\n\r\nb";
  auto once = tagMessage(m, "[s]", "x");
  EXPECT_EQ(once, "X-Bccsink-Verdict: x\r\nSubject: [s] one\r\nSubject: two\r\n\r\nb");
  // Tagged again (released, filtered again): the Subject keeps one prefix.
  EXPECT_EQ(tagMessage(once, "[s]", "y"), "X-Bccsink-Verdict: y\r\n" + once);
}

TEST(Tagging, AnEmptyPrefixLeavesTheSubject) {
  std::string m = "Subject: Hi\r\n\r\nb";
  EXPECT_EQ(tagMessage(m, "", "x"), "X-Bccsink-Verdict: x\r\n" + m);
  EXPECT_EQ(tagMessage("From: a\r\n\r\nb", "", "x"), "X-Bccsink-Verdict: x\r\nFrom: a\r\n\r\nb");
}

TEST(Tagging, WhyCannotInjectAHeaderOrEndTheHeaderBlock) {
  std::string m = "Subject: Hi\r\n\r\nb";
  auto out = tagMessage(m, "[s]", "evil.exe\r\nBcc: victim@example.org\r\n\r\nbody\n\tx\x01y");
  auto firstEnd = out.find("\r\n");
  std::string header = out.substr(0, firstEnd);
  EXPECT_EQ(out.substr(firstEnd + 2), "Subject: [s] Hi\r\n\r\nb");
  EXPECT_EQ(header.find('\r'), std::string::npos);
  EXPECT_EQ(header.find('\x01'), std::string::npos);
  EXPECT_NE(header.find("Bcc: victim@example.org"), std::string::npos);  // as text, one line
  EXPECT_EQ(header.rfind("X-Bccsink-Verdict: evil.exe", 0), 0u);
}

TEST(Tagging, ALongWhyIsFoldedAtSpaces) {
  std::string why;
  for (int i = 0; i < 40; ++i) why += "word" + std::to_string(i) + " ";
  auto out = tagMessage("Subject: Hi\r\n\r\nb", "", why);
  auto headerEnd = out.find("\r\nSubject:");
  auto header = out.substr(0, headerEnd);
  std::size_t start = 0, lines = 0;
  while (start <= header.size()) {
    auto end = header.find("\r\n", start);
    if (end == std::string::npos) end = header.size();
    EXPECT_LE(end - start, 78u);
    if (start > 0) EXPECT_EQ(header[start], ' ');  // a continuation line
    ++lines;
    start = end + 2;
  }
  EXPECT_GT(lines, 2u);
  // Unfolded (RFC 5322 section 2.2.3), it reads as the text.
  std::string unfolded;
  for (std::size_t i = 0; i < header.size(); ++i) {
    if (header.compare(i, 2, "\r\n") == 0) {
      ++i;
      continue;
    }
    unfolded += header[i];
  }
  EXPECT_EQ(unfolded, "X-Bccsink-Verdict: " + why.substr(0, why.size() - 1));
}

TEST(Tagging, ANonAsciiWhyIsEncoded) {
  auto out = tagMessage("Subject: Hi\n\nb", "[s]", "dangerous: Трой in счёт.exe");
  EXPECT_EQ(out.rfind("X-Bccsink-Verdict: =?utf-8?B?", 0), 0u);
  for (unsigned char c : out.substr(0, out.find("\nSubject"))) EXPECT_LT(c, 0x80);
  EXPECT_EQ(out.find('\r'), std::string::npos);  // folded with the message's LF
}

TEST(Tagging, EverythingElseIsByteForByte) {
  using namespace std::string_literals;
  std::string m = "Received: x\r\n\tby y\r\nSubject: Hi\r\n\r\n\x00\xff.\r\n..\r\nend\0"s;
  auto out = tagMessage(m, "[s]", "x");
  EXPECT_EQ(out, "X-Bccsink-Verdict: x\r\nReceived: x\r\n\tby y\r\nSubject: [s] Hi" +
                     m.substr(std::string("Received: x\r\n\tby y\r\nSubject: Hi").size()));
}

}  // namespace
}  // namespace bccsink

TEST(Tagging, ASendersOwnVerdictHeaderIsDroppedAndNothingElse) {
  const std::string forged =
      "Received: from a\r\n\tby b\r\nX-Bccsink-Verdict: clean\r\nSubject: hi\r\n"
      "x-bccsink-verdict: clean,\r\n\tfolded\r\nTo: <b@example.org>\r\n\r\n"
      "X-Bccsink-Verdict: in the body stays\r\n";
  EXPECT_EQ(bccsink::withoutVerdictHeaders(forged),
            "Received: from a\r\n\tby b\r\nSubject: hi\r\nTo: <b@example.org>\r\n\r\n"
            "X-Bccsink-Verdict: in the body stays\r\n");
  const std::string plain = "Subject: hi\r\nX-Bccsink-Verdicts: other\r\n\r\nbody\r\n";
  EXPECT_EQ(bccsink::withoutVerdictHeaders(plain), plain);
  EXPECT_EQ(bccsink::withoutVerdictHeaders("X-Bccsink-Verdict: only\n"), "");
}
