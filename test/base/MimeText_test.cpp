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

TEST(MimeText, Rfc2231GapDoesNotEndTheValueAsClientsJoinWhatIsThere) {
  // RFC 2231 section 3 would stop at the gap; clients show "ac", and so must we.
  auto h = parseHeaderValue("attachment; filename*0=a; filename*2=c");
  EXPECT_EQ(paramValue(h, "filename"), "ac");
  EXPECT_EQ(paramValue(parseHeaderValue("a; filename*1=b.z; filename*2=ip"), "filename"), "b.zip");
}

TEST(MimeText, Rfc2231PiecesFromEveryInstanceInIndexAndDocumentOrder) {
  std::vector<HeaderValue> two{parseHeaderValue("text/plain; name*0=fi"),
                               parseHeaderValue("text/plain; name*1=le.zip")};
  EXPECT_EQ(paramCandidates(two, "name"), (std::vector<std::string>{"file.zip", "fi"}));
  std::vector<HeaderValue> swapped{parseHeaderValue("a; name*1=le.zip; name*0=fi")};
  EXPECT_EQ(paramCandidates(swapped, "name"), (std::vector<std::string>{"file.zip", "le.zipfi"}));
}

TEST(MimeText, EveryDuplicateAndSingleQuotedNameIsACandidate) {
  std::vector<HeaderValue> h{parseHeaderValue("a; name=a.txt; name=b.zip"),
                             parseHeaderValue("a; name='c.zip'")};
  EXPECT_EQ(paramCandidates(h, "name"),
            (std::vector<std::string>{"a.txt", "b.zip", "'c.zip'", "c.zip"}));
  EXPECT_EQ(paramCandidates({parseHeaderValue("a; name='d.zip'")}, "name"),
            (std::vector<std::string>{"d.zip", "'d.zip'"}));
  EXPECT_TRUE(paramCandidates({parseHeaderValue("a")}, "name").empty());
}

TEST(MimeText, TextAfterAClosingQuoteIsKeptAsClientsRepairIt) {
  EXPECT_EQ(paramValue(parseHeaderValue("a; name=\"file\".zip"), "name"), "file.zip");
  EXPECT_EQ(paramValue(parseHeaderValue("a; name=\"file\".zip\"; x=1"), "name"), "file.zip");
  EXPECT_EQ(paramValue(parseHeaderValue("a; name=\"two;.zip\""), "name"), "two;.zip");
}

TEST(MimeText, Utf16WithoutByteOrderMarkIsReadInTheOrderItsZerosShow) {
  using namespace std::string_literals;
  EXPECT_EQ(toUtf8("\0f\0i\0l\0e\0.\0z\0i\0p"s, "UTF-16"), "file.zip");
  EXPECT_EQ(toUtf8("f\0i\0l\0e\0.\0z\0i\0p\0"s, "utf-16"), "file.zip");
  EXPECT_EQ(toUtf8("\x20\xAC"s, "utf-16"), "\xE2\x82\xAC");  // no hint: big-endian
  EXPECT_EQ(paramValue(parseHeaderValue("a; name*=utf-16''%00a%00.%00z%00i%00p"), "name"), "a.zip");
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
