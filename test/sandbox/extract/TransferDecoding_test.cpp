#include "sandbox/extract/TransferDecoding.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <random>
#include <sstream>

#include "sandbox/extract/Base64.h"
#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/QuotedPrintable.h"

using namespace bccsink::sandbox;

namespace {

std::string randomBytes(std::size_t n, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

// Base64 with 76-character lines and CRLF, as mailers write it.
std::string base64(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder.rdbuf()->setLineLength(76);
  encoder << bytes;
  encoder.close();
  std::string text, result = out.str();
  for (char c : result) {
    if (c == '\n') text += '\r';
    text += c;
  }
  return text + "\r\n";
}

std::string b64(std::string_view in) {
  std::string out;
  decodeBase64(in, out);
  return out;
}

std::string qp(std::string_view in, QpInvalid mode = QpInvalid::Keep) {
  std::string out;
  decodeQuotedPrintable(in, out, mode);
  return out;
}

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

std::string gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// uuencode lines without begin/end: length character, then 4 characters per 3 bytes.
std::string uuLines(const std::string& data) {
  std::string out;
  auto enc = [](unsigned v) { return static_cast<char>(v == 0 ? '`' : v + ' '); };
  for (std::size_t i = 0; i < data.size(); i += 45) {
    std::size_t n = std::min<std::size_t>(45, data.size() - i);
    out += enc(static_cast<unsigned>(n));
    for (std::size_t k = 0; k < n; k += 3) {
      unsigned char b[3] = {};
      for (std::size_t j = 0; j < 3 && k + j < n; ++j)
        b[j] = static_cast<unsigned char>(data[i + k + j]);
      out += enc(b[0] >> 2);
      out += enc((b[0] << 4 | b[1] >> 4) & 0x3F);
      out += enc((b[1] << 2 | b[2] >> 6) & 0x3F);
      out += enc(b[2] & 0x3F);
    }
    out += "\n";
  }
  return out + "`\n";
}

std::string yenc(const std::string& data) {
  std::string out;
  std::size_t col = 0;
  for (unsigned char c : data) {
    unsigned char e = static_cast<unsigned char>(c + 42);
    if (e == 0 || e == '\n' || e == '\r' || e == '=') {
      out += '=';
      e = static_cast<unsigned char>(e + 64);
    }
    out += static_cast<char>(e);
    if (++col % 128 == 0) out += "\r\n";
  }
  return out + "\r\n";
}

}  // namespace

// --- base64 -------------------------------------------------------------------------

TEST(Base64, DecodesWhatPocoEncodesByteForByteAtEveryLength) {
  for (std::size_t n : {0u, 1u, 2u, 3u, 4u, 56u, 57u, 58u, 1000u, 4097u}) {
    auto data = randomBytes(n, static_cast<unsigned>(n));
    EXPECT_EQ(b64(base64(data)), data) << n;
  }
}

TEST(Base64, CharactersOutsideTheAlphabetAreIgnored) {
  EXPECT_EQ(b64("QU:JD.RE#VG"), "ABCDEF");
}

TEST(Base64, NulVerticalTabAndFormFeedAreIgnoredWithoutCountingAsJunk) {
  std::string out;
  auto stats = decodeBase64(std::string("QUJD\0RE\vVG\f", 11), out, Base64Mode::Resync);
  EXPECT_EQ(out, "ABCDEF");
  EXPECT_EQ(stats.junk, 0u);
}

TEST(Base64, MissingPaddingStillGivesTheLastBytes) {
  EXPECT_EQ(b64("QUJDRA"), "ABCD");
  EXPECT_EQ(b64("QUJDREU"), "ABCDE");
}

TEST(Base64, EqualsInsideTheDataEndsTheQuantumAndDecodingGoesOn) {
  std::string out;
  auto stats = decodeBase64("QQ==QkM=", out, Base64Mode::Resync);
  EXPECT_EQ(out, "ABC");
  EXPECT_EQ(stats.padStops, 1u);
}

TEST(Base64, SkipModeIgnoresEveryEquals) {
  std::string out;
  decodeBase64("QUJ=DREVG", out, Base64Mode::Skip);
  EXPECT_EQ(out, "ABCDEF");
}

TEST(Base64, FirstSegmentStopsAtTheFirstPaddedQuantumFollowedByData) {
  std::string out;
  std::string text = "QUI=\r\nQ0RF\r\n";
  std::size_t used = decodeBase64FirstSegment(text, out);
  EXPECT_EQ(out, "AB");
  EXPECT_EQ(text.substr(used), "Q0RF\r\n");
}

TEST(Base64, CleanLinesDropsALineHoldingOtherCharacters) {
  std::string out;
  EXPECT_EQ(decodeBase64CleanLines("begin-base64 644 x.bin\nQUJD\n====\n", out), 1u);
  EXPECT_EQ(out, "ABC");
}

// --- base64 through decodeTransfer -------------------------------------------------

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
  EXPECT_EQ(d.readings[0].bytes, std::string("AB") + b64("DREVG"));
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
    for (const char* cte : {"base64", "quoted-printable", "", "x-uue", "x-yencode"}) {
      auto d = decodeTransfer(body, cte);
      ASSERT_GE(d.readings.size(), 1u);
      ASSERT_LE(d.readings.size(), kMaxReadings);
      for (const auto& r : d.readings) ASSERT_LE(r.bytes.size(), body.size());
    }
  }
}

// --- the header value ----------------------------------------------------------------

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

// --- unknown or missing encoding: sniffing ---------------------------------------------

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

// --- quoted-printable ----------------------------------------------------------------

TEST(QuotedPrintable, EscapesInEitherCase) {
  EXPECT_EQ(qp("a=3Db=3db=C3=A9"), "a=b=b\xC3\xA9");
}

TEST(QuotedPrintable, SoftLineBreakWithTrailingSpaceOrTabJoinsTheLines) {
  EXPECT_EQ(qp("abc= \r\ndef=\t\r\nghi=\r\njkl"), "abcdefghijkl");
  EXPECT_EQ(qp("abc= \t \ndef\n"), "abcdef\n");
}

TEST(QuotedPrintable, TrailingWhiteSpaceBeforeALineEndIsDeleted) {
  EXPECT_EQ(qp("abc  \t\r\ndef \n"), "abc\r\ndef\n");
}

TEST(QuotedPrintable, InvalidEqualsIsKeptLiterallyOrDroppedPerReading) {
  std::size_t invalid = 0;
  std::string out;
  invalid = decodeQuotedPrintable("a=W =0=3C =XX=3C ==3C", out);
  EXPECT_EQ(invalid, 4u);
  EXPECT_EQ(out, "a=W =0< =XX< =<");
  EXPECT_EQ(qp("a=W =0=3C =XX=3C ==3C", QpInvalid::DropEq), "aW 0< XX< <");
  EXPECT_EQ(qp("a=W =0=3C =XX=3C ==3C", QpInvalid::DropJunk), "a< < <");
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

// --- other encodings -------------------------------------------------------------------

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

namespace {

// BinHex 4.0 of `data` as the data fork: header, forks, zero CRCs (not checked), the
// run-length layer (0x90 escaped, runs of four or more compressed), 64-character lines.
std::string binhex(const std::string& name, const std::string& data) {
  std::string stream;
  stream += static_cast<char>(name.size());
  stream += name;
  stream += std::string(1 + 4 + 4 + 2, '\0');
  for (std::uint32_t v : {static_cast<std::uint32_t>(data.size()), 0u})
    for (int shift = 24; shift >= 0; shift -= 8) stream += static_cast<char>(v >> shift);
  stream += std::string(2, '\0') + data + std::string(4, '\0');
  std::string rle;
  for (std::size_t i = 0; i < stream.size();) {
    std::size_t run = 1;
    while (i + run < stream.size() && stream[i + run] == stream[i] && run < 255) ++run;
    rle += stream[i];
    if (stream[i] == '\x90') rle += '\0';
    if (run >= 4) {
      rle += '\x90';
      rle += static_cast<char>(run);
      i += run;
    } else {
      ++i;
    }
  }
  const std::string alphabet = "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
  std::string text = "(This file must be converted with BinHex 4.0)\r\n\r\n:";
  std::uint32_t acc = 0;
  int bits = 0;
  std::size_t col = 1;
  auto put = [&](unsigned v) {
    text += alphabet[v & 63];
    if (++col % 64 == 0) text += "\r\n";
  };
  for (unsigned char c : rle) {
    acc = acc << 8 | c;
    bits += 8;
    while (bits >= 6) put(acc >> (bits -= 6));
  }
  if (bits > 0) put(acc << (6 - bits));
  return text + ":\r\n";
}

}  // namespace

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

TEST(Base64, LinePrefixesKeepWhatEachLineHoldsBeforeItsJunk) {
  std::string out;
  EXPECT_EQ(decodeBase64LinePrefixes("QUJ#xyz0\nDREVG\n", out), 1u);
  EXPECT_EQ(out, "ABCDEF");
}

TEST(Base64, BlocksAreDecodedEachOnItsOwnQuantum) {
  std::string out;
  EXPECT_EQ(decodeBase64Blocks("A\r\n\r\nQUJD\r\nREVG\r\n \r\n", out), 2u);
  EXPECT_EQ(out, "ABCDEF");
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
