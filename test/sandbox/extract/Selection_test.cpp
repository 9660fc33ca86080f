#include "sandbox/extract/Selection.h"

#include <gtest/gtest.h>

#include <stdexcept>

using bccsink::sandbox::defaultFileTypes;
using bccsink::sandbox::knownFamilies;
using bccsink::sandbox::parseSelection;
using bccsink::sandbox::select;
using bccsink::sandbox::SelectionRules;
using bccsink::sandbox::TrueType;

namespace {

TrueType ofFamily(const std::string& family) {
  return TrueType{"", "", family};
}

// The message of the std::invalid_argument that parsing `fileTypes` throws, or "" if none.
std::string parseError(const std::string& fileTypes) {
  try {
    parseSelection(fileTypes, 0);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Selection, DefaultRulesSelectWhatAttackersSendAndNotPicturesOrText) {
  SelectionRules rules = parseSelection(defaultFileTypes(), 0);
  EXPECT_TRUE(select(rules, ofFamily("pe"), "exe", 1000).selected);
  EXPECT_TRUE(select(rules, ofFamily("pe"), "pdf", 1000).selected);
  EXPECT_TRUE(select(rules, ofFamily("ooxml-macro"), "docm", 1000).selected);
  EXPECT_TRUE(select(rules, ofFamily("text"), "js", 1000).selected);
  EXPECT_TRUE(select(rules, ofFamily("other"), "one", 1000).selected);

  auto image = select(rules, ofFamily("image"), "png", 1000);
  EXPECT_FALSE(image.selected);
  EXPECT_EQ(image.reason, "type not selected");
  auto text = select(rules, ofFamily("text"), "txt", 1000);
  EXPECT_FALSE(text.selected);
  EXPECT_EQ(text.reason, "type not selected");
  EXPECT_FALSE(select(rules, ofFamily("ooxml"), "docx", 1000).selected);
}

TEST(Selection, DefaultListNamesEveryKindMailAttackersUse) {
  SelectionRules rules = parseSelection(defaultFileTypes(), 0);
  for (const char* family : {"pe", "elf", "macho", "msi", "ole-office", "ooxml-macro", "pdf", "rtf",
                             "script", "lnk", "disk-image", "archive", "html"}) {
    EXPECT_EQ(rules.families.count(family), 1u) << family;
  }
  for (const char* ext : {"js", "jse", "vbs", "vbe", "wsf", "hta", "ps1", "bat", "cmd", "scr",
                          "jar", "one", "iso", "img", "vhd"}) {
    EXPECT_EQ(rules.extensions.count(ext), 1u) << ext;
  }
  for (const char* family : {"image", "text", "other", "ooxml"}) {
    EXPECT_EQ(rules.families.count(family), 0u) << family;
  }
}

TEST(Selection, ParsesFamiliesAndDottedExtensionsSeparatedByCommasOrSpace) {
  SelectionRules rules = parseSelection("  PE,pdf .JS\t.hta ,\n.library-ms  ", 4096);
  EXPECT_EQ(rules.families, (std::set<std::string>{"pe", "pdf"}));
  EXPECT_EQ(rules.extensions, (std::set<std::string>{"js", "hta", "library-ms"}));
  EXPECT_EQ(rules.maxFileSize, 4096u);
  EXPECT_TRUE(parseSelection("   ", 0).families.empty());
  EXPECT_TRUE(parseSelection("", 0).extensions.empty());
  for (const auto& family : knownFamilies()) {
    EXPECT_EQ(parseSelection(family, 0).families.count(family), 1u) << family;
  }
}

TEST(Selection, ParseErrorsNameTheBadEntry) {
  std::string unknown = parseError("pe, executables, pdf");
  EXPECT_NE(unknown.find("\"executables\""), std::string::npos) << unknown;
  std::string chars = parseError("pe .j$s");
  EXPECT_NE(chars.find("\".j$s\""), std::string::npos) << chars;
  std::string dotOnly = parseError("pe, .");
  EXPECT_NE(dotOnly.find("\".\""), std::string::npos) << dotOnly;
  std::string twoDots = parseError(".tar.gz");
  EXPECT_NE(twoDots.find("\".tar.gz\""), std::string::npos) << twoDots;
  std::string empty = parseError("pe, .js,,pdf");
  EXPECT_NE(empty.find("empty entry after \".js\""), std::string::npos) << empty;
  EXPECT_NE(parseError("pe,").find("empty entry after \"pe\""), std::string::npos);
  EXPECT_NE(parseError(" , pe").find("empty entry before the first comma"), std::string::npos);
  EXPECT_EQ(parseError("pe, .js"), "");
}

TEST(Selection, MaxFileSizeGivesTheOverReasonAndZeroMeansNoLimit) {
  SelectionRules rules = parseSelection("pe", 100);
  EXPECT_TRUE(select(rules, ofFamily("pe"), "exe", 100).selected);
  auto over = select(rules, ofFamily("pe"), "exe", 101);
  EXPECT_FALSE(over.selected);
  EXPECT_EQ(over.reason, "over VxcubeMaxFileSize (100 bytes)");
  // The type is judged first: a file never sent is not "over" anything.
  EXPECT_EQ(select(rules, ofFamily("image"), "png", 101).reason, "type not selected");
  EXPECT_TRUE(select(parseSelection("pe", 0), ofFamily("pe"), "exe", 1ull << 40).selected);
}

TEST(Selection, ExtensionSelectsWhateverTheFamily) {
  SelectionRules rules = parseSelection(".vbs", 0);
  EXPECT_TRUE(select(rules, ofFamily("text"), "vbs", 10).selected);
  EXPECT_TRUE(select(rules, ofFamily("text"), "VBS", 10).selected);
  EXPECT_FALSE(select(rules, ofFamily("text"), "vb", 10).selected);
  EXPECT_FALSE(select(rules, ofFamily("script"), "", 10).selected);
}
