#include "sandbox/extract/TransferDecoding.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "sandbox/extract/Evasion.h"
#include "test/sandbox/extract/Encoders.h"

using namespace bccsink::sandbox;
using namespace bccsink::test::encoders;

namespace {

std::vector<std::string> labels(const TransferDecoding& d) {
  std::vector<std::string> out;
  for (const auto& r : d.readings) out.push_back(r.label);
  return out;
}

bool anyEvasion(const TransferDecoding& d) {
  for (const auto& e : d.errors)
    if (isEvasion(e)) return true;
  return false;
}

}  // namespace

TEST(TransferDecoding, CleanBase64GivesOneReadingAndNoError) {
  auto data = randomBytes(5000);
  auto d = decodeTransfer(base64(data), "base64");
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].bytes, data);
  EXPECT_EQ(d.readings[0].label, "");
  EXPECT_TRUE(d.errors.empty());
}

TEST(TransferDecoding, JunkLineThatEveryReadingAgreesOnIsAPlainNote) {
  auto data = randomBytes(300);
  auto d = decodeTransfer(base64(data) + "-- \r\n", "base64");
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].bytes, data);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_FALSE(isEvasion(d.errors[0]));
}

TEST(TransferDecoding, JunkInsideALineGivesTheResyncCleanLinesAndLinePrefixesReadingsAsEvasion) {
  auto data = randomBytes(300);
  auto text = base64(data);
  text.insert(10, ":");
  auto d = decodeTransfer(text, "base64");
  EXPECT_EQ(d.readings[0].bytes, data);
  EXPECT_EQ(labels(d),
            (std::vector<std::string>{"", "base64 clean lines", "base64 line prefixes"}));
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, EqualsInsideTheDataGivesEveryDistinctReading) {
  auto d = decodeTransfer("QUJ=DREVG\r\n", "base64");
  EXPECT_EQ(d.readings[0].bytes,
            std::string("AB") + "\x0d\x11\x15");  // "DREV"; the lone "G" is lost
  EXPECT_EQ(labels(d), (std::vector<std::string>{"", "base64 skipping =", "base64 first segment"}));
  EXPECT_EQ(d.readings[1].bytes, "ABCDEF");
  EXPECT_EQ(d.readings[2].bytes, "AB");
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, TwoPaddedSegmentsGiveTheFirstOnItsOwn) {
  auto first = randomBytes(100, 1), second = randomBytes(200, 2);
  auto d = decodeTransfer(base64(first) + base64(second), "base64");
  EXPECT_EQ(d.readings[0].bytes, first + second);
  bool found = false;
  for (const auto& r : d.readings) found |= r.label == "base64 first segment" && r.bytes == first;
  EXPECT_TRUE(found);
}

TEST(TransferDecoding, BeginBase64HeaderLineIsDroppedInTheCleanLinesReading) {
  auto data = randomBytes(500);
  auto d = decodeTransfer("begin-base64 644 eicar.zip\r\n" + base64(data) + "====\r\n", "base64");
  ASSERT_GE(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[1].label, "base64 clean lines");
  EXPECT_EQ(d.readings[1].bytes, data);
}

TEST(TransferDecoding, LoneLastCharacterIsAnEvasionForTheLostBits) {
  auto d = decodeTransfer("QUJDR", "base64");
  EXPECT_EQ(d.readings[0].bytes, "ABC");
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, ReadingsAreBoundedInNumberAndSize) {
  std::mt19937 rng(3);
  const std::string chars = "QUJD=:\r\n -AZaz09+/";
  for (int round = 0; round < 200; ++round) {
    std::string body(rng() % 300, 'A');
    for (auto& c : body) c = chars[rng() % chars.size()];
    for (const char* cte :
         {"base64", "quoted-printable", "", "x-uue", "x-yencode", "binhex", "x-gzip64"}) {
      auto d = decodeTransfer(body, cte, body.size());  // gzip64 and BinHex expand: bound them
      ASSERT_GE(d.readings.size(), 1u);
      ASSERT_LE(d.readings.size(), kMaxReadings);
      for (const auto& r : d.readings) ASSERT_LE(r.bytes.size(), body.size());
    }
  }
}

TEST(TransferDecoding, NormalisesTheHeaderValueAsLenientReadersDo) {
  EXPECT_EQ(normalizeTransferEncoding("base64"), "base64");
  EXPECT_EQ(normalizeTransferEncoding(" BASE64 "), "base64");
  EXPECT_EQ(normalizeTransferEncoding("base64 (binary)"), "base64");
  EXPECT_EQ(normalizeTransferEncoding("(comment) base64"), "base64");
  EXPECT_EQ(normalizeTransferEncoding("base64 xx"), "base64");
  EXPECT_EQ(normalizeTransferEncoding("base64;"), "base64");
  EXPECT_EQ(normalizeTransferEncoding("base64,quoted-printable"), "base64");
  EXPECT_EQ(normalizeTransferEncoding("\"base64\""), "base64");
  EXPECT_EQ(normalizeTransferEncoding("x-base64"), "base64");
  EXPECT_EQ(normalizeTransferEncoding("base64xx"), "base64");
  EXPECT_EQ(normalizeTransferEncoding("=?us-ascii?Q?base64?="), "base64");
  EXPECT_EQ(normalizeTransferEncoding("Quoted-Printable"), "quoted-printable");
  EXPECT_EQ(normalizeTransferEncoding("quoted-printabl"), "quoted-printable");
  EXPECT_EQ(normalizeTransferEncoding("quotedprint"), "quoted-printable");
  for (const char* uu : {"uue", "x-uue", "uuencode", "x-uuencode", "x-uu"})
    EXPECT_EQ(normalizeTransferEncoding(uu), "x-uuencode") << uu;
  EXPECT_EQ(normalizeTransferEncoding("gzip64"), "x-gzip64");
  EXPECT_EQ(normalizeTransferEncoding("x-gzip64"), "x-gzip64");
  EXPECT_EQ(normalizeTransferEncoding("x-yencode"), "x-yencode");
  EXPECT_EQ(normalizeTransferEncoding("mac-binhex40"), "binhex");
  EXPECT_EQ(normalizeTransferEncoding("BinHex"), "binhex");
  for (const char* identity : {"7bit", "8BIT", "binary", "", "  ", "7bit (plain)"})
    EXPECT_EQ(normalizeTransferEncoding(identity), "") << identity;
  EXPECT_EQ(normalizeTransferEncoding("X-Strange"), "x-strange");
}

TEST(TransferDecoding, CommentedBase64ValueIsDecodedAsBase64) {
  auto d = decodeTransfer(base64("hello"), "base64 (binary)");
  EXPECT_EQ(d.readings[0].bytes, "hello");
}

TEST(TransferDecoding, UnknownEncodingKeepsTheRawBytesAndAddsSniffedBase64) {
  auto data = randomBytes(400);
  auto body = base64(data);
  auto d = decodeTransfer(body, "something");
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[0].bytes, body);
  EXPECT_EQ(d.readings[1].label, "sniffed base64");
  EXPECT_EQ(d.readings[1].bytes, data);
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_NE(d.errors[0].find("unknown Content-Transfer-Encoding 'something'"), std::string::npos);
}

TEST(TransferDecoding, MissingEncodingSniffsTheLongestRunOfBase64Lines) {
  auto data = randomBytes(400);
  auto d = decodeTransfer("Some words first.\r\n\r\n" + base64(data) + "\r\nthe end, bye.\r\n", "");
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[1].bytes, data);
  EXPECT_TRUE(d.errors.empty());
}

TEST(TransferDecoding, PlainTextIsNotSniffedAsAnything) {
  auto d = decodeTransfer(
      "Hello\r\nThanks\r\nRegards\r\nBob\r\nThe meeting is at 10:00, see you there.\r\n"
      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\r\n",
      "7bit");
  EXPECT_EQ(d.readings.size(), 1u);
  EXPECT_TRUE(d.errors.empty());
}

TEST(TransferDecoding, UnknownEncodingDenseWithEscapesIsSniffedAsQuotedPrintable) {
  std::string body;
  for (char c : std::string("X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR")) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "=%02X", static_cast<unsigned char>(c));
    body += hex;
  }
  auto d = decodeTransfer(body + "\r\n", "8bit");
  ASSERT_EQ(d.readings.size(), 1u + 1u);
  EXPECT_EQ(d.readings[1].label, "sniffed quoted-printable");
  EXPECT_EQ(d.readings[1].bytes, "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR\r\n");
}

TEST(TransferDecoding, InvalidQuotedPrintableGivesTheDroppingReadingsAndAPlainNote) {
  auto d = decodeTransfer("=0=3C=0=3E\r\n", "quoted-printable");
  EXPECT_EQ(d.readings[0].bytes, "=0<=0>\r\n");
  EXPECT_EQ(labels(d), (std::vector<std::string>{"", "quoted-printable without invalid =",
                                                 "quoted-printable without invalid escapes"}));
  EXPECT_EQ(d.readings[2].bytes, "<>\r\n");
  ASSERT_EQ(d.errors.size(), 1u);
  EXPECT_FALSE(isEvasion(d.errors[0]));
}

TEST(TransferDecoding, Gzip64IsBase64ThenGunzip) {
  auto data = randomBytes(2000) + std::string(5000, 'x');
  auto d = decodeTransfer(base64(gzip(data)), "x-gzip64");
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].bytes, data);
  EXPECT_TRUE(d.errors.empty());
}

TEST(TransferDecoding, TruncatedGzip64KeepsWhatInflatedAndTheCompressedBytesAsEvasion) {
  auto data = randomBytes(3000);
  auto compressed = gzip(data);
  compressed.resize(compressed.size() / 2);
  auto d = decodeTransfer(base64(compressed), "gzip64");
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[0].bytes, data.substr(0, d.readings[0].bytes.size()));
  EXPECT_EQ(d.readings[1].label, "gzip64 compressed");
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, Gzip64OutputIsBoundedByMaxOutput) {
  auto d = decodeTransfer(base64(gzip(std::string(1 << 20, 'a'))), "x-gzip64", 1000);
  EXPECT_EQ(d.readings[0].bytes, std::string(1000, 'a'));
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, UuencodeWithoutBeginLineIsDecodedLineByLine) {
  auto data = randomBytes(200);
  auto d = decodeTransfer(uuLines(data), "x-uuencode");
  EXPECT_EQ(d.readings[0].bytes, data);
  EXPECT_TRUE(d.errors.empty());
}

TEST(TransferDecoding, UueWithBeginLineTakesTheFile) {
  auto data = randomBytes(100);
  auto d = decodeTransfer("begin 644 a.bin\n" + uuLines(data) + "end\n", "uue");
  EXPECT_EQ(d.readings[0].bytes, data);
  EXPECT_TRUE(d.errors.empty());
}

TEST(TransferDecoding, YencodeBodyIsDecodedWithEscapes) {
  std::string data = randomBytes(1000) + std::string("\xD6\xE0\xE3\x13", 4);  // 0,LF,CR,= +42
  auto d = decodeTransfer(
      "=ybegin line=128 size=1004 name=a.bin\r\n" + yenc(data) + "=yend size=1004\r\n",
      "x-yencode");
  EXPECT_EQ(d.readings[0].bytes, data);
}

TEST(TransferDecoding, YencBlockInAPlainBodyIsSniffed) {
  auto data = randomBytes(300);
  auto d = decodeTransfer("see attached\r\n=ybegin line=128 size=300 name=a.bin\r\n" + yenc(data) +
                              "=yend size=300\r\nbye\r\n",
                          "7bit");
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[1].label, "sniffed yenc");
  EXPECT_EQ(d.readings[1].bytes, data);
}

TEST(TransferDecoding, BinHexBodyGivesTheDataForkWithRunsExpanded) {
  std::string data = randomBytes(500) + std::string(300, '\0') + "\x90\x90 end";
  auto d = decodeTransfer(binhex("eicar.zip", data), "mac-binhex40");
  ASSERT_EQ(d.readings.size(), 1u);
  EXPECT_EQ(d.readings[0].bytes, data);
  EXPECT_TRUE(d.errors.empty());
}

TEST(TransferDecoding, TruncatedBinHexKeepsWhatDecodedAsEvasion) {
  auto text = binhex("a.bin", randomBytes(600));
  auto d = decodeTransfer(text.substr(0, text.size() / 2), "binhex");
  EXPECT_FALSE(d.readings[0].bytes.empty());
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, BinHexInAPlainBodyIsSniffed) {
  auto data = randomBytes(200);
  auto d = decodeTransfer("Here it is:\r\n\r\n" + binhex("a.bin", data), "7bit");
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[1].label, "sniffed binhex");
  EXPECT_EQ(d.readings[1].bytes, data);
}

TEST(TransferDecoding, Base64LinesOfMixedLengthAfterABrokenHeaderLineAreSniffed) {
  auto data = randomBytes(180);
  std::string text, encoded = base64(data);
  encoded.erase(std::remove(encoded.begin(), encoded.end(), '\r'), encoded.end());
  encoded.erase(std::remove(encoded.begin(), encoded.end(), '\n'), encoded.end());
  // 4, 4, 8, 8, 16, 16, 32, 32, then 4 again: what a sender varying line lengths writes.
  const std::size_t lengths[] = {4, 4, 8, 8, 16, 16, 32, 32};
  for (std::size_t i = 0, k = 0; i < encoded.size(); i += lengths[k++ % 8])
    text += encoded.substr(i, lengths[k % 8]) + "\r\n";
  auto d = decodeTransfer("Content-Transfer-Encoding base64\r\n\r\n" + text, "");
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[1].label, "sniffed base64");
  EXPECT_EQ(d.readings[1].bytes, data);
}

TEST(TransferDecoding, ShortWordLinesAreNotSniffedAsBase64) {
  auto d = decodeTransfer(
      "Hello\r\nThanks\r\nRegards\r\nBob\r\nAlice\r\nCarol\r\nDave\r\nEve\r\nMallory\r\n"
      "Trent\r\nPeggy\r\nVictor\r\nWalter\r\n",
      "");
  EXPECT_EQ(d.readings.size(), 1u);
}

TEST(TransferDecoding, QuotedPrintableDeclaredBodyOfBase64LinesAlsoGivesTheBase64Reading) {
  auto data = randomBytes(399);  // no padding: no `=` for QP to take as an invalid escape
  auto body = base64(data);
  auto d = decodeTransfer(body, "quoted-printable,base64");
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[0].bytes, body);
  EXPECT_EQ(d.readings[1].label, "sniffed base64");
  EXPECT_EQ(d.readings[1].bytes, data);
}

TEST(TransferDecoding, Base64DeclaredBodyDenseWithEscapesAlsoGivesTheQuotedPrintableReading) {
  std::string body;
  for (char c : std::string("PK\x03\x04\x14\x01 a zip that starts like one")) {
    char hex[4];
    std::snprintf(hex, sizeof hex, "=%02X", static_cast<unsigned char>(c));
    body += hex;
  }
  auto d = decodeTransfer(body + "\r\n", "base64,quoted-printable");
  ASSERT_GE(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[1].label, "sniffed quoted-printable");
  EXPECT_EQ(d.readings[1].bytes, std::string("PK\x03\x04\x14\x01 a zip that starts like one\r\n"));
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, JunkAfterTheFirstCharactersOfEachLineGivesTheLinePrefixesReading) {
  auto data = randomBytes(300);
  std::string text, encoded = base64(data);
  for (std::size_t pos = 0; pos < encoded.size();) {
    auto nl = encoded.find("\r\n", pos);
    text += encoded.substr(pos, nl - pos) + "\r\n" + encoded.substr(nl + 2, 3) + "#junk01\r\n";
    pos = nl + 2 + 3;
    if (pos >= encoded.size()) break;
  }
  auto d = decodeTransfer(text, "base64");
  bool found = false;
  for (const auto& r : d.readings) found |= r.label == "base64 line prefixes" && r.bytes == data;
  EXPECT_TRUE(found);
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, StrayCharacterBeforeAnEmptyLineGivesTheBlocksReading) {
  auto data = randomBytes(300);
  auto d = decodeTransfer("A\r\n\r\n" + base64(data), "base64");
  ASSERT_EQ(d.readings.size(), 2u);
  EXPECT_EQ(d.readings[1].label, "base64 blocks");
  EXPECT_EQ(d.readings[1].bytes, data);
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, AJunkAlphabetCharacterEndingEveryLineIsReadAsWholeQuanta) {
  // 4-character lines each followed by 'X', which is in the alphabet: no junk to notice,
  // yet every byte after the first line is shifted unless each line is cut to its quanta.
  auto data = randomBytes(300, 11);
  std::string plain = base64(data), ragged;
  std::string chars;
  for (char c : plain)
    if (c != '\r' && c != '\n') chars += c;
  for (std::size_t i = 0; i < chars.size(); i += 4) ragged += chars.substr(i, 4) + "X\r\n";
  auto d = decodeTransfer(ragged, "base64");
  bool found = false;
  for (const auto& r : d.readings) found = found || r.bytes == data;
  EXPECT_TRUE(found) << ::testing::PrintToString(labels(d));
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, AShortJunkBlockBeforeAnEmptyLineDoesNotShiftTheRealData) {
  // "AB", an empty line, then the real base64: read as one run, the data is 12 bits off.
  auto data = randomBytes(300, 12);
  auto d = decodeTransfer("AB\r\n\r\n" + base64(data), "base64");
  bool found = false;
  for (const auto& r : d.readings)
    found = found || (r.bytes.size() >= data.size() &&
                      r.bytes.compare(r.bytes.size() - data.size(), data.size(), data) == 0);
  EXPECT_TRUE(found) << ::testing::PrintToString(labels(d));
  EXPECT_TRUE(anyEvasion(d));
}

TEST(TransferDecoding, OrdinaryBase64WithAShortLastLineGivesNoQuantaReading) {
  auto data = randomBytes(301, 13);  // the last line ends with a partial quantum and '='
  auto d = decodeTransfer(base64(data), "base64");
  EXPECT_EQ(labels(d), std::vector<std::string>{""});
  EXPECT_TRUE(d.errors.empty());
}

TEST(TransferDecoding, Base64WrappedAt74ColumnsIsOrdinary) {
  // RFC 2045 allows any width up to 76: 74 is no multiple of 4 but reads right as one run.
  auto data = randomBytes(3000, 14);
  std::string plain = base64(data), chars, wrapped;
  for (char c : plain)
    if (c != '\r' && c != '\n') chars += c;
  for (std::size_t i = 0; i < chars.size(); i += 74) wrapped += chars.substr(i, 74) + "\r\n";
  auto d = decodeTransfer(wrapped, "base64");
  EXPECT_EQ(labels(d), std::vector<std::string>{""});
  EXPECT_EQ(d.readings[0].bytes, data);
  EXPECT_FALSE(anyEvasion(d));
}
