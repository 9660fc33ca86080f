#include "base/MimeText.h"

#include <gtest/gtest.h>

using namespace bccsink;

TEST(MimeText, ParametersAreUnquotedAndKeepSemicolonsInsideQuotes) {
  auto h = parseHeaderValue(
      "Attachment;\tFileName=\"a;b \\\"c\\\".txt\"; size=12 ; creation-date=\"x\"");
  EXPECT_EQ(h.value, "attachment");
  ASSERT_EQ(h.params.size(), 3u);
  EXPECT_EQ(h.params[0].first, "filename");
  EXPECT_EQ(h.params[0].second, "a;b \"c\".txt");
  EXPECT_EQ(h.params[1].second, "12");
  EXPECT_EQ(paramValue(h, "FILENAME"), "a;b \"c\".txt");
  EXPECT_EQ(paramValue(h, "name"), "");
}

TEST(MimeText, Rfc2231ExtendedValueInUtf8) {
  auto h = parseHeaderValue("attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf");
  EXPECT_EQ(paramValue(h, "filename"), "\xE2\x82\xAC rates.pdf");
}

TEST(MimeText, Rfc2231ContinuationsMixEncodedAndPlainPiecesInOrder) {
  // RFC 2231 section 4.1's example shape, in ISO-8859-1, pieces given out of order.
  auto h = parseHeaderValue(
      "attachment; filename*1=\" und \"; filename*0*=iso-8859-1'de'Gr%FC%DFe;"
      " filename*2*=%DCbel.exe");
  EXPECT_EQ(paramValue(h, "filename"),
            "Gr\xC3\xBC\xC3\x9F"
            "e und \xC3\x9C"
            "bel.exe");
}

TEST(MimeText, Rfc2231GapEndsTheValue) {
  auto h = parseHeaderValue("attachment; filename*0=a; filename*2=c");
  EXPECT_EQ(paramValue(h, "filename"), "a");
}

TEST(MimeText, EncodedWordsInBAndQAndOtherCharsets) {
  EXPECT_EQ(decodeEncodedWords("=?UTF-8?B?0J/RgNC40LLQtdGCLmV4ZQ==?="),
            "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82.exe");
  EXPECT_EQ(decodeEncodedWords("=?iso-8859-1?q?caf=E9_menu?=.doc"), "caf\xC3\xA9 menu.doc");
  EXPECT_EQ(decodeEncodedWords("=?koi8-r?B?8NLJ18XU?="),
            "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
  // Adjacent encoded-words: the white space between them is dropped (RFC 2047 6.2),
  // white space next to plain text is kept.
  EXPECT_EQ(decodeEncodedWords("=?UTF-8?Q?a?= =?UTF-8?Q?b?= c"), "ab c");
  EXPECT_EQ(decodeEncodedWords("x =?UTF-8?Q?a?="), "x a");
  // Not encoded-words: kept as they are.
  EXPECT_EQ(decodeEncodedWords("=?bad"), "=?bad");
  EXPECT_EQ(decodeEncodedWords("=?UTF-8?X?abc?="), "=?UTF-8?X?abc?=");
}

TEST(MimeText, EncodedWordFileNameInAPlainParameter) {
  // Outlook and Gmail write file names this way although RFC 2047 section 5 forbids it.
  auto h = parseHeaderValue("application/octet-stream; name=\"=?UTF-8?B?0YTQsNC50LsuZXhl?=\"");
  EXPECT_EQ(paramValue(h, "name"), "\xD1\x84\xD0\xB0\xD0\xB9\xD0\xBB.exe");
}

TEST(MimeText, UnknownCharsetAndInvalidBytesNeverFail) {
  EXPECT_EQ(toUtf8("abc", "x-no-such-charset"), "abc");
  EXPECT_EQ(toUtf8("\xE9t\xE9", "x-no-such-charset"), "\xC3\xA9t\xC3\xA9");  // as Latin-1
  EXPECT_EQ(toUtf8("\xE9t\xE9", "utf-8"), "\xC3\xA9t\xC3\xA9");
  EXPECT_EQ(toUtf8("\xFF\xFE", "shift_jis"), "\xC3\xBF\xC3\xBE");
}
