#include "sandbox/extract/Base64.h"

#include <gtest/gtest.h>

#include "test/sandbox/extract/Encoders.h"

using namespace bccsink::sandbox;
using bccsink::test::encoders::base64;
using bccsink::test::encoders::randomBytes;

namespace {

std::string b64(std::string_view in) {
  std::string out;
  decodeBase64(in, out);
  return out;
}

}  // namespace

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
