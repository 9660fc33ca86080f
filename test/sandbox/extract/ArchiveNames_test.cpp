#include "sandbox/extract/ArchiveNames.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sandbox/extract/ArchiveWalker.h"
#include "test/sandbox/extract/ArchiveBuilder.h"

using bccsink::sandbox::ArchiveLimits;
using bccsink::sandbox::ArchiveWalker;
using bccsink::sandbox::FileVisitor;
using bccsink::sandbox::FoundFile;
using bccsink::sandbox::gzipStoredName;
using bccsink::sandbox::zipNames;
using bccsink::test::buildArchive;

namespace {

struct Seen {
  std::string name, note, content;
};

class Recorder : public FileVisitor {
 public:
  void onFile(const FoundFile& f) override {
    files.push_back({f.name, f.note, std::string(f.content)});
  }
  void onError(const std::string& what) override { errors.push_back(what); }
  std::vector<Seen> files;
  std::vector<std::string> errors;
};

std::vector<Seen> walk(const std::string& bytes, const std::string& name) {
  FoundFile archive;
  archive.name = name;
  Recorder seen;
  ArchiveWalker(ArchiveLimits{}).walk(bytes, archive, seen);
  EXPECT_TRUE(seen.errors.empty()) << seen.errors.front();
  return seen.files;
}

// A zip whose first member's local header says `local` and whose central directory says
// the name it was written with (same length).
std::string twoNamedZip(const std::string& central, const std::string& local) {
  std::string bytes = buildArchive("zip", "", {{central, "MZ payload"}, {"other.txt", "x"}});
  bytes.replace(bytes.find(central), central.size(), local);  // the first is the local one
  return bytes;
}

// A gzip stream of `content` with FNAME set (libarchive's writer sets none).
std::string gzipNamed(const std::string& content, const std::string& name) {
  std::string bytes = buildArchive("raw", "gzip", {{"x", content}});
  bytes[3] = static_cast<char>(bytes[3] | 0x08);
  bytes.insert(10, name + '\0');
  return bytes;
}

}  // namespace

TEST(ArchiveNames, TheCentralDirectoryNameIsShownAndTheLocalOneNoted) {
  auto files = walk(twoNamedZip("invoice.exe", "readme1.txt"), "a.zip");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].name, "invoice.exe");
  EXPECT_EQ(files[0].note, "the zip's local header names it 'readme1.txt'");
  EXPECT_EQ(files[0].content, "MZ payload");
  EXPECT_EQ(files[1].name, "other.txt");
  EXPECT_EQ(files[1].note, "");
}

TEST(ArchiveNames, ZipNamesBehindPrependedDataFindTheirLocalHeaders) {
  std::string bytes = std::string(1000, 'J') + twoNamedZip("invoice.exe", "readme1.txt");
  auto names = zipNames(bytes, 100);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0].central, "invoice.exe");
  EXPECT_EQ(names[0].local, "readme1.txt");
  EXPECT_EQ(names[0].localOffset, 1000u);
  EXPECT_EQ(names[1].central, names[1].local);
  EXPECT_TRUE(zipNames("not a zip at all, not even close", 10).empty());
  EXPECT_TRUE(zipNames(std::string(30, '\0') + "PK\x05\x06", 10).empty());
}

TEST(ArchiveNames, AGzipStoredNameIsTheMemberName) {
  auto files = walk(gzipNamed("MZ payload", "invoice.exe"), "scan.gz");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "invoice.exe");
  EXPECT_EQ(files[0].content, "MZ payload");
  EXPECT_EQ(gzipStoredName(gzipNamed("x", "dir/sub\\a.exe")), "a.exe");
  EXPECT_EQ(gzipStoredName(buildArchive("raw", "gzip", {{"x", "y"}})), "");
  // Without FNAME, the archive's name without .gz, as before.
  auto plain = walk(buildArchive("raw", "gzip", {{"x", "y"}}), "scan.pdf.gz");
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].name, "scan.pdf");
}

TEST(ArchiveNames, ALongMemberNameIsCutInTheMiddleKeepingItsExtension) {
  const std::string name = "invoice.pdf" + std::string(5000, '_') + ".exe";
  auto files = walk(buildArchive("zip", "", {{name, "MZ"}}), "a.zip");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name.size(), 255u);
  EXPECT_EQ(files[0].name.substr(0, 11), "invoice.pdf");
  EXPECT_EQ(files[0].name.substr(251), ".exe");
}
