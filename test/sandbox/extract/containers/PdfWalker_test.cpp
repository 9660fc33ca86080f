#include "sandbox/extract/containers/PdfWalker.h"

#include <gtest/gtest.h>

#include <string>

#include "sandbox/extract/Evasion.h"
#include "test/sandbox/Collect.h"
#include "test/sandbox/extract/containers/Marker.h"

using bccsink::sandbox::ContainerLimits;
using bccsink::sandbox::isEvasion;
using bccsink::sandbox::walkPdf;
using bccsink::test::Collect;
using bccsink::test::readFile;
using bccsink::test::containers::containerNamed;
using bccsink::test::containers::kContainerMarker;

namespace {

const std::string kSample =
    std::string(BCCSINK_SOURCE_DIR) + "/test/data/containers/invoice-attachment.pdf";

Collect walk(const std::string& pdf, ContainerLimits limits = {}) {
  Collect c;
  walkPdf(pdf, containerNamed("statement.pdf"), limits, c);
  return c;
}

// A PDF written by hand (ISO 32000-1 7.11.4): an uncompressed embedded file stream whose
// file specification nothing points to (no name tree, no annotation), and no
// cross-reference table at all, which qpdf rebuilds as readers do.
std::string hiddenAttachmentPdf(const std::string& payload) {
  return "%PDF-1.7\n"
         "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
         "2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
         "3 0 obj << /Type /Filespec /F (old.txt) /UF (hidden.exe) /EF << /F 4 0 R >> >> endobj\n"
         "4 0 obj << /Type /EmbeddedFile /Length " +
         std::to_string(payload.size()) + " >>\nstream\n" + payload +
         "\nendstream endobj\n"
         "5 0 obj << /Type /EmbeddedFile /Length 3 >>\nstream\nabc\nendstream endobj\n"
         "trailer << /Root 1 0 R >>\n%%EOF\n";
}

TEST(PdfWalker, QpdfAttachmentComesOutWithItsNameAndPath) {
  auto c = walk(readFile(kSample));
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "invoice.exe");
  EXPECT_EQ(c.files[0].where, (std::vector<std::string>{"mail.eml", "statement.pdf"}));
  EXPECT_EQ(c.files[0].content, kContainerMarker);
  EXPECT_TRUE(c.errors.empty());
}

TEST(PdfWalker, UnreferencedFileSpecAndBareStreamAreFoundInADamagedFile) {
  auto c = walk(hiddenAttachmentPdf(kContainerMarker));
  ASSERT_EQ(c.files.size(), 2u);
  EXPECT_EQ(c.files[0].name, "hidden.exe");  // /UF before /F
  EXPECT_EQ(c.files[0].content, kContainerMarker);
  EXPECT_EQ(c.files[1].name, "embedded-2");  // a stream no file specification names
  EXPECT_EQ(c.files[1].content, "abc");
}

TEST(PdfWalker, StreamOverTheSizeLimitIsUnscannedAsEvasion) {
  ContainerLimits limits;
  limits.maxMemberSize = 16;
  auto c = walk(readFile(kSample), limits);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "invoice.exe");
  EXPECT_TRUE(c.files[0].content.empty());
  EXPECT_TRUE(isEvasion(c.files[0].unscanned)) << c.files[0].unscanned;
}

TEST(PdfWalker, NoPdfGivesOneErrorAndNoFile) {
  auto c = walk("not a pdf at all");
  EXPECT_TRUE(c.files.empty());
  EXPECT_EQ(c.errors.size(), 1u);
  auto none = walk(readFile(kSample).substr(0, 300));
  EXPECT_TRUE(none.files.empty());
}

}  // namespace
