#include "report/stats/StatsShape.h"

#include <gtest/gtest.h>

using namespace bccsink::report;

TEST(StatsShape, TheIssuesExampleKeepsTheLastExtension) {
  EXPECT_EQ(shapeName("Britney1.txt.pif"), "Aaaaaaa0.aaa.pif");
}

TEST(StatsShape, LettersDigitsAndOtherAsciiBytes) {
  EXPECT_EQ(shapeOf("Britney1.txt.pif"), "Aaaaaaa0.aaa.aaa");
  EXPECT_EQ(shapeOf("Q4 report (final)_v2-copy.PDF"), "A0 aaaaaa (aaaaa)_a0-aaaa.AAA");
  EXPECT_EQ(shapeOf("/invoice/2026/Q4.pdf"), "/aaaaaaa/0000/A0.aaa");  // a URL path
}

TEST(StatsShape, EachMultibyteUtf8CharacterIsOneX) {
  // Cyrillic (2 bytes each), CJK (3 bytes), an emoji (4 bytes).
  EXPECT_EQ(shapeOf("Отчёт"), "xxxxx");
  EXPECT_EQ(shapeOf("請求書2026"), "xxx0000");
  EXPECT_EQ(shapeOf("a\xF0\x9F\x98\x80!"), "ax!");
  EXPECT_EQ(shapeName("Отчёт_Q4.pdf"), "xxxxx_A0.pdf");
}

TEST(StatsShape, InvalidUtf8BytesBecomeXSoAShapeIsAlwaysAscii) {
  EXPECT_EQ(shapeOf("a\x80z"), "axa");  // a stray continuation byte
  EXPECT_EQ(shapeOf("\xD0"), "x");      // a truncated sequence at the end
  EXPECT_EQ(shapeOf("\xE2\x82"
                    "A"),
            "xxA");                                // truncated, then ASCII
  EXPECT_EQ(shapeOf("\xC0\xAF"), "xx");            // overlong '/'
  EXPECT_EQ(shapeOf("\xF4\x90\x80\x80"), "xxxx");  // past U+10FFFF
  EXPECT_EQ(shapeOf("\xFF\xFE"), "xx");
}

TEST(StatsShape, ControlBytesBecomeQuestionMarks) {
  // They never leave the process, in an export or a JSON API answer.
  EXPECT_EQ(shapeOf(std::string("a\tb\r\nc\x01\x7f", 8)), "a?a??a??");
  EXPECT_EQ(shapeOf(std::string("x\0y", 3)), "a?a");
}

TEST(StatsShape, ALongNameIsCutAfter128Characters) {
  EXPECT_EQ(shapeOf(std::string(128, 'q')), std::string(128, 'a'));
  EXPECT_EQ(shapeOf(std::string(5000, 'Q')), std::string(128, 'A') + "...");
  EXPECT_EQ(shapeName(std::string(300, 'b') + ".exe"), std::string(128, 'a') + "....exe");
}

TEST(StatsShape, EmptyStaysEmpty) {
  EXPECT_EQ(shapeOf(""), "");
  EXPECT_EQ(shapeName(""), "");
  EXPECT_EQ(extensionKey(""), "(none)");
}

TEST(StatsShape, ANameKeepsOnlyAShortPlainLastExtension) {
  EXPECT_EQ(shapeName("docs/Q4.PDF"), "aaaa/A0.PDF");
  EXPECT_EQ(shapeName(".bashrc"), ".aaaaaa");  // a dot file has no extension
  EXPECT_EQ(shapeName("README"), "AAAAAA");
  EXPECT_EQ(shapeName("name.johnsmith1"), "aaaa.aaaaaaaaa0");  // 10 characters: shaped
  EXPECT_EQ(shapeName("dir.v2/notes"), "aaa.a0/aaaaa");        // the dot is in a folder
  EXPECT_EQ(shapeName("trailing."), "aaaaaaaa.");
  EXPECT_EQ(shapeName("x.p\xC3\xA9"), "a.ax");  // a non-ASCII extension
}

TEST(StatsShape, ExtensionsOutsideTheTypeVocabularyAreShaped) {
  EXPECT_EQ(extensionKey("doc"), "doc");
  EXPECT_EQ(extensionKey("xlsm"), "xlsm");
  EXPECT_EQ(extensionKey("7z"), "7z");
  EXPECT_EQ(extensionKey("johnsmith1"), "aaaaaaaaa0");
  EXPECT_EQ(extensionKey("p df"), "a aa");
  EXPECT_EQ(extensionKey("\xC3\xA9t\xC3\xA9"), "xax");
}

TEST(StatsShape, NameDigestIsTheMd5OfTheNamesBytes) {
  EXPECT_EQ(nameDigest(""), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(nameDigest("invoice.doc"), "923a4579a9c569146f6d37fe2a9063a6");
}
