#include "base/Text.h"

#include <gtest/gtest.h>

#include <string>

using namespace bccsink;
using namespace std::string_literals;

// --- case, white space, joining ----------------------------------------------------------

TEST(TextCase, LowerAndUpperChangeOnlyAsciiLetters) {
  EXPECT_EQ(lower("Watch@BCC.Test-1"), "watch@bcc.test-1");
  EXPECT_EQ(upper("8bitmime,success"), "8BITMIME,SUCCESS");
  EXPECT_EQ(lower("\xc3\x84"), "\xc3\x84");  // Ä stays: ASCII only
  EXPECT_EQ(upper("\xc3\xa4"), "\xc3\xa4");
  EXPECT_EQ(lower(""), "");
}

TEST(TextCase, EqualsNoCaseIgnoresAsciiCaseOnly) {
  EXPECT_TRUE(equalsNoCase("Received", "RECEIVED"));
  EXPECT_TRUE(equalsNoCase("", ""));
  EXPECT_FALSE(equalsNoCase("Received", "Receive"));
  EXPECT_FALSE(equalsNoCase("\xc3\x84", "\xc3\xa4"));
}

TEST(TextCase, StartsWithNoCase) {
  EXPECT_TRUE(startsWithNoCase(" from:<a@x.test>", " FROM:"));
  EXPECT_TRUE(startsWithNoCase("anything", ""));
  EXPECT_FALSE(startsWithNoCase("FRO", "FROM"));
  EXPECT_FALSE(startsWithNoCase("xFROM:", "FROM:"));
}

TEST(TextTrim, RemovesAsciiWhiteSpaceAtBothEndsOnly) {
  EXPECT_EQ(trim(" \t\r\n\v\fa b\r\n"), "a b");
  EXPECT_EQ(trim("   "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("\xc2\xa0x"), "\xc2\xa0x");  // NBSP is not ASCII white space
  EXPECT_EQ(trim("\0x"s), "\0x"s);            // nor is NUL
}

TEST(TextJoin, PutsTheSeparatorBetweenEachTwoItems) {
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"a"}, ", "), "a");
  EXPECT_EQ(join({"a", "b", "c"}, "; "), "a; b; c");
  EXPECT_EQ(join({"", "b"}, "\n"), "\nb");
}

TEST(TextHasControl, FindsC0AndDelButNotEightBitBytes) {
  EXPECT_TRUE(hasControl("a\r\nb"));
  EXPECT_TRUE(hasControl("\0"s));
  EXPECT_TRUE(hasControl("\x7f"));
  EXPECT_FALSE(hasControl("a@b.test \xc3\xa9\x80"));
  EXPECT_FALSE(hasControl(""));
}

// --- UTF-8 --------------------------------------------------------------------------------

TEST(TextUtf8, SequenceLengthOfValidAndInvalidSequences) {
  EXPECT_EQ(utf8SequenceLength("a", 0), 1u);
  EXPECT_EQ(utf8SequenceLength("\xc3\xa9", 0), 2u);
  EXPECT_EQ(utf8SequenceLength("\xe2\x80\xae", 0), 3u);      // U+202E
  EXPECT_EQ(utf8SequenceLength("\xf0\x9f\x98\x80", 0), 4u);  // U+1F600
  EXPECT_EQ(utf8SequenceLength("\x80", 0), 0u);              // stray continuation
  EXPECT_EQ(utf8SequenceLength("\xc3", 0), 0u);              // truncated
  EXPECT_EQ(utf8SequenceLength("\xc0\xaf", 0), 0u);          // overlong '/'
  EXPECT_EQ(utf8SequenceLength("\xe0\x80\xaf", 0), 0u);      // overlong
  EXPECT_EQ(utf8SequenceLength("\xed\xa0\x80", 0), 0u);      // surrogate
  EXPECT_EQ(utf8SequenceLength("\xf4\x90\x80\x80", 0), 0u);  // past U+10FFFF
  EXPECT_EQ(utf8SequenceLength("\xff", 0), 0u);
}

TEST(TextUtf8, ToValidUtf8ReplacesEachInvalidByteByU_FFFD) {
  EXPECT_TRUE(isValidUtf8("caf\xc3\xa9"));
  EXPECT_FALSE(isValidUtf8("caf\xe9"));
  EXPECT_EQ(toValidUtf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(toValidUtf8("a\xe9z"), "a\xef\xbf\xbdz");
  EXPECT_EQ(toValidUtf8("\xc3"), "\xef\xbf\xbd");
  EXPECT_EQ(toValidUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(toValidUtf8(""), "");
}

TEST(TextUtf8, PrefixNeverEndsInsideACharacter) {
  EXPECT_EQ(utf8Prefix("ab\xc3\xa9", 3), "ab");
  EXPECT_EQ(utf8Prefix("ab\xc3\xa9", 4), "ab\xc3\xa9");
  EXPECT_EQ(utf8Prefix("ab\xc3\xa9", 100), "ab\xc3\xa9");
  EXPECT_EQ(utf8Prefix("\xf0\x9f\x98\x80", 3), "");
  EXPECT_EQ(utf8Prefix("a\xff\xffz", 2), "a\xff");  // an invalid byte is one character
}

// --- printableAscii -----------------------------------------------------------------------

TEST(TextPrintableAscii, KeepsPrintableAscii) {
  EXPECT_EQ(printableAscii("client.test [192.0.2.1] ~!"), "client.test [192.0.2.1] ~!");
  EXPECT_EQ(printableAscii(""), "");
}

TEST(TextPrintableAscii, ReplacesControlsDelAndEveryByteFrom0x80) {
  EXPECT_EQ(printableAscii("a\r\nb"), "a??b");
  EXPECT_EQ(printableAscii("a\tb"), "a?b");
  EXPECT_EQ(printableAscii("x\0y"s), "x?y");
  EXPECT_EQ(printableAscii("\x7f\x80\xff"), "???");
  EXPECT_EQ(printableAscii("caf\xc3\xa9"), "caf??");  // one for one, per byte
  EXPECT_EQ(printableAscii("Injected\r\nX-Header: evil"), "Injected??X-Header: evil");
}

TEST(TextPrintableAscii, TakesAnotherReplacement) {
  EXPECT_EQ(printableAscii("a\r\n\xff", 200, ' '), "a   ");
}

TEST(TextPrintableAscii, CutTextEndsInAnEllipsisWithinMaxBytes) {
  EXPECT_EQ(printableAscii("abcdef", 6), "abcdef");  // exactly max: not cut
  EXPECT_EQ(printableAscii("abcdefg", 6), "abc...");
  EXPECT_EQ(printableAscii("ab\r\ncdefg", 6), "ab?...");
  EXPECT_EQ(printableAscii(std::string(300, 'z'), 255), std::string(252, 'z') + "...");
  EXPECT_EQ(printableAscii(std::string(300, 'z')).size(), 200u);
}

TEST(TextPrintableAscii, BelowThreeBytesCutsWithoutEllipsis) {
  EXPECT_EQ(printableAscii("abcdef", 2), "ab");
  EXPECT_EQ(printableAscii("abc", 0), "");
}

// --- oneLineUtf8 --------------------------------------------------------------------------

TEST(TextOneLineUtf8, KeepsValidUtf8) {
  EXPECT_EQ(oneLineUtf8("Rechnung f\xc3\xbcr M\xc3\xa4rz \xf0\x9f\x98\x80", 200),
            "Rechnung f\xc3\xbcr M\xc3\xa4rz \xf0\x9f\x98\x80");
  EXPECT_EQ(oneLineUtf8("invoice\xe2\x80\xae"
                        "exe.pdf",
                        200),
            "invoice\xe2\x80\xae"
            "exe.pdf");
  EXPECT_EQ(oneLineUtf8("", 200), "");
}

TEST(TextOneLineUtf8, ControlsBecomeASpaceEach) {
  EXPECT_EQ(oneLineUtf8("a\r\nb\tc", 200), "a  b c");
  EXPECT_EQ(oneLineUtf8("x\0y"s, 200), "x y");
  EXPECT_EQ(oneLineUtf8("x\x7fy", 200), "x y");
  EXPECT_EQ(oneLineUtf8("x\xc2\x9b"
                        "2Jy",
                        200),
            "x 2Jy");                         // C1 CSI
  EXPECT_EQ(oneLineUtf8(" a ", 200), " a ");  // not trimmed
}

TEST(TextOneLineUtf8, InvalidBytesBecomeU_FFFD) {
  EXPECT_EQ(oneLineUtf8("caf\xe9", 200), "caf\xef\xbf\xbd");
  EXPECT_EQ(oneLineUtf8("\x80\xff", 200), "\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(TextOneLineUtf8, CutsAtACharacterBoundaryWithAnEllipsis) {
  EXPECT_EQ(oneLineUtf8("abcdef", 6), "abcdef");  // exactly max: not cut
  EXPECT_EQ(oneLineUtf8("abcdefg", 6), "abc...");
  // "ab" + U+00E9 + "cdef": cut to 3 bytes before the "...", which would split the é.
  EXPECT_EQ(oneLineUtf8("ab\xc3\xa9"
                        "cdef",
                        6),
            "ab...");
  EXPECT_EQ(oneLineUtf8("ab\xc3\xa9", 4), "ab\xc3\xa9");
  EXPECT_EQ(oneLineUtf8("abc", 2), "ab");
  EXPECT_EQ(oneLineUtf8(std::string(1000, 'x'), 255).size(), 255u);
  EXPECT_EQ(oneLineUtf8(std::string(1000, 'x'), kNoLimit).size(), 1000u);
}

TEST(TextOneLineUtf8, ReplacementsCountTowardsTheLimit) {
  // Each invalid byte becomes three bytes: the limit holds for the result.
  auto out = oneLineUtf8(std::string(100, '\xff'), 20);
  EXPECT_LE(out.size(), 20u);
  EXPECT_TRUE(isValidUtf8(out));
  EXPECT_EQ(out.substr(out.size() - 3), "...");
}

// --- asciiEscaped -------------------------------------------------------------------------

TEST(TextAsciiEscaped, WritesEveryOtherByteAsHex) {
  EXPECT_EQ(asciiEscaped("a b~"), "a b~");
  EXPECT_EQ(asciiEscaped("a\r\n\x7f\xc3\xa9\0"s), "a\\x0d\\x0a\\x7f\\xc3\\xa9\\x00");
  EXPECT_EQ(asciiEscaped(""), "");
}
