#include "report/spoof/MessageHeaders.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test/TempDir.h"

using namespace bccsink;
using namespace bccsink::report;

namespace {

// Writes a standalone spool file; returns its locator.
std::string write(const test::TempDir& dir, const std::string& bytes) {
  std::ofstream(dir / "m.eml", std::ios::binary) << bytes;
  return "m.eml";
}

}  // namespace

TEST(MessageHeaders, FoldedFieldsAreUnfoldedAndTheBodyIsNotRead) {
  auto h = MessageHeaders::parse(
      "Received: from a\r\n\tby b; Mon, 30 Nov 2026 02:00:00 +0000\r\nSubject: "
      "=?utf-8?B?w6TDtsO8?= "
      "x\r\nX-Empty:\r\n\r\nFrom: not-a-header@body\r\n");
  EXPECT_EQ(h.first("received"), "from a\tby b; Mon, 30 Nov 2026 02:00:00 +0000");
  EXPECT_EQ(h.decoded("Subject"), "äöü x");
  EXPECT_EQ(h.first("X-Empty"), "");
  EXPECT_TRUE(h.all("From").empty());
}

TEST(MessageHeaders, ReadingASpooledMessageFindsLongHeadersAndStopsAtTheirEnd) {
  test::TempDir dir;
  std::string headers;
  for (int i = 0; i < 800; ++i) headers += "Received: from hop" + std::to_string(i) + " by x\r\n";
  ASSERT_GT(headers.size(), 16u * 1024);
  auto path = write(dir, headers + "Subject: last\r\n\r\n" + std::string(100000, 'b') +
                             "\r\nSubject: in the body\r\n");
  auto h = MessageHeaders::read(dir.path(), path);
  EXPECT_EQ(h.all("Received").size(), 800u);
  EXPECT_EQ(h.all("Subject"), (std::vector<std::string>{"last"}));
}

TEST(MessageHeaders, AnEndStraddlingTwoChunksIsFound) {
  test::TempDir dir;
  for (std::size_t pad = 0; pad < 4; ++pad) {
    // "X: " + filler + CRLF, sized so that the empty line falls across the 16 KB mark.
    std::string line = "X: " + std::string(16 * 1024 - 5 - pad, 'a') + "\r\n";
    auto path = write(dir, line + "\r\nSubject: in the body\r\n");
    auto h = MessageHeaders::read(dir.path(), path);
    EXPECT_EQ(h.fields().size(), 1u) << pad;
    EXPECT_TRUE(h.all("Subject").empty()) << pad;
  }
}

TEST(MessageHeaders, AHeaderSectionWithoutAnEndIsCutAtTheLimit) {
  test::TempDir dir;
  auto path = write(dir, std::string(200000, 'h'));
  auto h = MessageHeaders::read(dir.path(), path, 50000);
  EXPECT_TRUE(h.fields().empty());
  EXPECT_THROW(MessageHeaders::read(dir.path(), "missing.eml"), std::runtime_error);
}
