#include "base/FileName.h"

#include <gtest/gtest.h>

#include <string>

using bccsink::cleanFileName;
using bccsink::extensionOf;

TEST(FileName, CleanFileNameLosesControlCharactersAndStaysShort) {
  EXPECT_EQ(cleanFileName(" a\r\nBcc: x@y.exe\t"), "a__Bcc: x@y.exe");
  std::string longName(300, 'a');
  EXPECT_EQ(cleanFileName(longName).size(), 255u);
  std::string multibyte;
  for (int i = 0; i < 200; ++i) multibyte += "\xC3\xA9";
  auto cut = cleanFileName(multibyte);
  EXPECT_LE(cut.size(), 255u);
  EXPECT_EQ(cut.find("\xC3\xA9\xE2\x80\xA6\xC3\xA9"), cut.size() - 40 - 5);  // "é…é"
}

TEST(FileName, ALongNameIsCutInTheMiddleAndKeepsItsExtension) {
  // The trick: a harmless-looking start and the real extension 5,000 characters later.
  const std::string name = "invoice.pdf" + std::string(4997, ' ') + "x.exe";
  ASSERT_EQ(name.size(), 5013u);
  auto cut = cleanFileName(name);
  EXPECT_EQ(cut.size(), 255u);
  EXPECT_EQ(cut.substr(0, 11), "invoice.pdf");
  EXPECT_EQ(cut.substr(cut.size() - 5), "x.exe");
  EXPECT_NE(cut.find("\u2026"), std::string::npos);
  EXPECT_EQ(extensionOf(cut), "exe");
  EXPECT_EQ(cleanFileName(std::string(255, 'a')), std::string(255, 'a'));  // not cut
}

TEST(FileName, CleanFileNameReadsInvalidUtf8AsLatin1) {
  EXPECT_EQ(cleanFileName("Rechnung_M\xE4rz.pdf"), "Rechnung_M\xC3\xA4rz.pdf");
  EXPECT_EQ(cleanFileName("r\xC3\xA9sum\xC3\xA9\x7F.doc"), "r\xC3\xA9sum\xC3\xA9_.doc");
  EXPECT_EQ(cleanFileName(""), "");
}

TEST(FileName, ExtensionOfNames) {
  EXPECT_EQ(extensionOf("Invoice.PDF"), "pdf");
  EXPECT_EQ(extensionOf("a.tar.gz"), "gz");
  EXPECT_EQ(extensionOf("noext"), "");
  EXPECT_EQ(extensionOf(".bashrc"), "");
  EXPECT_EQ(extensionOf(""), "");
  EXPECT_EQ(extensionOf("file."), "");
  EXPECT_EQ(extensionOf("docs.d/readme"), "");
  EXPECT_EQ(extensionOf("C:\\Users\\x\\Setup.EXE"), "exe");
  EXPECT_EQ(extensionOf("invoice.exe. . "), "exe");
  EXPECT_EQ(extensionOf("Britney1.txt.pif"), "pif");
}
