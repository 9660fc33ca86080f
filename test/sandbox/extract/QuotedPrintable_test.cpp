#include "sandbox/extract/QuotedPrintable.h"

#include <gtest/gtest.h>

using namespace bccsink::sandbox;

namespace {

std::string qp(std::string_view in, QpInvalid mode = QpInvalid::Keep) {
  std::string out;
  decodeQuotedPrintable(in, out, mode);
  return out;
}

}  // namespace

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
