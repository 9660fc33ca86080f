#include "sandbox/extract/ArchiveWalker.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <langinfo.h>
#include <locale.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "sandbox/extract/Digest.h"
#include "sandbox/extract/Evasion.h"
#include "test/sandbox/extract/ArchiveBuilder.h"

using bccsink::sandbox::ArchiveLimits;
using bccsink::sandbox::ArchiveWalker;
using bccsink::sandbox::digest;
using bccsink::sandbox::FileVisitor;
using bccsink::sandbox::FoundFile;
using bccsink::test::appendTo;
using bccsink::test::buildArchive;
using bccsink::test::Member;

namespace {

const std::string kTestFiles = "/usr/share/clamav-testfiles/";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool haveTestFiles() {
  return std::filesystem::exists(kTestFiles + "clam.exe");
}

#define REQUIRE_CLAMAV_TESTFILES()                                                     \
  if (!haveTestFiles()) {                                                              \
    GTEST_FAIL() << "Debian package clamav-testfiles is not installed (" << kTestFiles \
                 << "); these tests need its real archives";                           \
  }

std::string clamExe() {
  return readFile(kTestFiles + "clam.exe");
}

std::string pseudoRandom(std::size_t size, unsigned seed) {
  std::mt19937 gen(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

// Everything the walker handed on, copied, since content is only valid during onFile.
struct Seen {
  std::string name;
  std::vector<std::string> where;
  std::string content;
  std::uint64_t size = 0;
  std::string unscanned;
  std::string note;
};

class Recorder : public FileVisitor {
 public:
  void onFile(const FoundFile& file) override {
    files.push_back(
        {file.name, file.where, std::string(file.content), file.size, file.unscanned, file.note});
    // Callbacks run under the caller's locale, not the walker's UTF-8 one.
    codesets.emplace_back(nl_langinfo(CODESET));
  }
  void onError(const std::string& what) override { errors.push_back(what); }

  const Seen* find(const std::string& name) const {
    for (const auto& f : files) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& f : files) out.push_back(f.name);
    return out;
  }

  std::vector<Seen> files;
  std::vector<std::string> errors;
  std::vector<std::string> codesets;
};

FoundFile archiveNamed(const std::string& name) {
  FoundFile f;
  f.name = name;
  f.where = {"message.eml"};
  return f;
}

// Runs the block with this thread in the "C" locale, as a daemon that never called
// setlocale() is; restores the thread's locale afterwards.
class CLocale {
 public:
  CLocale() : c_(newlocale(LC_ALL_MASK, "C", locale_t{})), previous_(uselocale(c_)) {}
  ~CLocale() {
    uselocale(previous_);
    freelocale(c_);
  }

 private:
  locale_t c_;
  locale_t previous_;
};

// Peak resident memory, reset on demand (Linux 4.0+: "5" > /proc/self/clear_refs).
bool resetPeakMemory() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}
std::uint64_t statusKb(const std::string& field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.compare(0, field.size() + 1, field + ":") == 0) {
      return std::stoull(line.substr(field.size() + 1));
    }
  }
  return 0;
}

}  // namespace

// ---- Debian's clamav-testfiles: real archives made by the real tools ----

struct ClamFixture {
  std::string file;
  std::string member;
};

class ArchiveWalkerClamavTest : public ::testing::TestWithParam<ClamFixture> {};

TEST_P(ArchiveWalkerClamavTest, DeliversTheMemberWithExactlyTheBytesOfClamExe) {
  REQUIRE_CLAMAV_TESTFILES();
  const auto& fixture = GetParam();
  std::string bytes = readFile(kTestFiles + fixture.file);
  ArchiveWalker walker(ArchiveLimits{});
  EXPECT_TRUE(walker.isArchive(bytes));
  Recorder seen;
  EXPECT_EQ(walker.walk(bytes, archiveNamed(fixture.file), seen), 1u);
  EXPECT_TRUE(seen.errors.empty()) << seen.errors.front();
  ASSERT_EQ(seen.files.size(), 1u);
  const Seen& m = seen.files[0];
  EXPECT_EQ(m.name, fixture.member);
  EXPECT_EQ(m.unscanned, "");
  EXPECT_EQ(m.size, 544u);
  EXPECT_EQ(digest(m.content).sha256, digest(clamExe()).sha256);
  EXPECT_EQ(m.where, (std::vector<std::string>{"message.eml", fixture.file}));
}

INSTANTIATE_TEST_SUITE_P(
    ArchiveWalkerClamav, ArchiveWalkerClamavTest,
    ::testing::Values(
        ClamFixture{"clam.zip", "clam.exe"}, ClamFixture{"clam.7z", "clam.exe"},
        ClamFixture{"clam.cab", "clam.exe"}, ClamFixture{"clam.tar.gz", "clam.exe"},
        ClamFixture{"clam.bz2.zip", "clam.exe"}, ClamFixture{"clam.exe.bz2", "clam.exe"},
        ClamFixture{"clam.newc.cpio", "clam.exe"}, ClamFixture{"clam.odc.cpio", "clam.exe"},
        ClamFixture{"clam.bin-le.cpio", "clam.exe"}, ClamFixture{"clam.bin-be.cpio", "clam.exe"}),
    [](const auto& info) {
      std::string name = info.param.file;
      std::replace_if(
          name.begin(), name.end(), [](char c) { return !std::isalnum(c); }, '_');
      return name;
    });

TEST(ArchiveWalker, ZipMethodsLibarchiveCannotDecodeGiveDamagedMembersWithNameAndSize) {
  REQUIRE_CLAMAV_TESTFILES();
  ArchiveWalker walker(ArchiveLimits{});
  // PKWARE "implode" (method 6) and Deflate64 (method 9): libarchive 3.6 has neither.
  for (auto [file, member, method] : {std::tuple{"clam.impl.zip", "CLAM.EXE", "imploded"},
                                      std::tuple{"clam.d64.zip", "clam.exe", "deflation-64"}}) {
    Recorder seen;
    EXPECT_EQ(walker.walk(readFile(kTestFiles + file), archiveNamed(file), seen), 1u) << file;
    ASSERT_EQ(seen.files.size(), 1u) << file;
    EXPECT_EQ(seen.files[0].name, member);
    EXPECT_EQ(seen.files[0].size, 544u);
    EXPECT_EQ(seen.files[0].content.size(), 0u);
    EXPECT_EQ(seen.files[0].unscanned.rfind("damaged: ", 0), 0u) << seen.files[0].unscanned;
    EXPECT_NE(seen.files[0].unscanned.find(method), std::string::npos) << seen.files[0].unscanned;
  }
}

TEST(ArchiveWalker, ArchivesInsideAnArchiveAreDeliveredWholeNotUnpacked) {
  REQUIRE_CLAMAV_TESTFILES();
  // clam_cache_emax.tgz holds clam01.tgz and clam02.tgz; clam01.tgz holds clam02.tgz again.
  std::string bytes = readFile(kTestFiles + "clam_cache_emax.tgz");
  ArchiveWalker walker(ArchiveLimits{});
  Recorder seen;
  EXPECT_EQ(walker.walk(bytes, archiveNamed("clam_cache_emax.tgz"), seen), 2u);
  ASSERT_EQ(seen.names(), (std::vector<std::string>{"clam01.tgz", "clam02.tgz"}));
  EXPECT_EQ(seen.files[0].size, 1539u);
  EXPECT_EQ(seen.files[1].size, 1362u);
  for (const auto& f : seen.files) {
    EXPECT_EQ(f.content.size(), f.size);
    EXPECT_TRUE(walker.isArchive(f.content)) << f.name;
  }
  // One level down is the caller's choice, and gives the next level only.
  Recorder inner;
  FoundFile clam01 = archiveNamed("clam01.tgz");
  clam01.where = seen.files[0].where;
  EXPECT_EQ(walker.walk(seen.files[0].content, clam01, inner), 1u);
  ASSERT_EQ(inner.names(), (std::vector<std::string>{"clam02.tgz"}));
  EXPECT_EQ(inner.files[0].where,
            (std::vector<std::string>{"message.eml", "clam_cache_emax.tgz", "clam01.tgz"}));
  EXPECT_EQ(digest(inner.files[0].content).sha256, digest(seen.files[1].content).sha256);
}

TEST(ArchiveWalker, FilesLibarchiveCannotOpenAreNotArchives) {
  REQUIRE_CLAMAV_TESTFILES();
  ArchiveWalker walker(ArchiveLimits{});
  // A PE file, a PDF, a CHM, and ARJ, which libarchive does not read.
  for (const char* file : {"clam.exe", "clam.pdf", "clam.chm", "clam.arj"}) {
    std::string bytes = readFile(kTestFiles + file);
    EXPECT_FALSE(walker.isArchive(bytes)) << file;
    Recorder seen;
    EXPECT_EQ(walker.walk(bytes, archiveNamed(file), seen), 0u) << file;
    EXPECT_TRUE(seen.files.empty()) << file;
    EXPECT_EQ(seen.errors, (std::vector<std::string>{std::string(file) + ": not an archive"}));
  }
}

TEST(ArchiveWalker, RandomGarbageAndEmptyInputAreNotArchives) {
  ArchiveWalker walker(ArchiveLimits{});
  for (unsigned seed = 1; seed <= 20; ++seed) {
    std::string garbage = pseudoRandom(4096 * seed, seed);
    EXPECT_FALSE(walker.isArchive(garbage)) << "seed " << seed;
    Recorder seen;
    EXPECT_EQ(walker.walk(garbage, archiveNamed("noise.bin"), seen), 0u);
    EXPECT_EQ(seen.errors, (std::vector<std::string>{"noise.bin: not an archive"}));
  }
  EXPECT_FALSE(walker.isArchive(""));
  EXPECT_FALSE(walker.isArchive("just some text, not compressed\n"));
}

// ---- Archives written by libarchive itself: every format it can both write and read ----

struct Written {
  std::string format;
  std::string filter;
};

class ArchiveWalkerWrittenTest : public ::testing::TestWithParam<Written> {};

TEST_P(ArchiveWalkerWrittenTest, GivesBackEveryFileWithItsBytesAndSkipsDirectories) {
  REQUIRE_CLAMAV_TESTFILES();
  const std::string clam = clamExe();
  const std::string text = "Quarterly numbers attached.\n";
  std::string bytes = buildArchive(GetParam().format, GetParam().filter,
                                   {{"docs", "", 0, AE_IFDIR},
                                    {"docs/readme.txt", text},
                                    {"clam.exe", clam},
                                    {"empty.dat", ""}});
  ArchiveWalker walker(ArchiveLimits{});
  EXPECT_TRUE(walker.isArchive(bytes));
  Recorder seen;
  EXPECT_EQ(walker.walk(bytes, archiveNamed("a"), seen), 3u);
  EXPECT_TRUE(seen.errors.empty()) << seen.errors.front();
  std::vector<std::string> names = seen.names();
  std::sort(names.begin(), names.end());  // iso9660 sorts its directory records
  EXPECT_EQ(names, (std::vector<std::string>{"clam.exe", "docs/readme.txt", "empty.dat"}));
  ASSERT_NE(seen.find("clam.exe"), nullptr);
  EXPECT_EQ(digest(seen.find("clam.exe")->content).sha256, digest(clam).sha256);
  ASSERT_NE(seen.find("docs/readme.txt"), nullptr);
  EXPECT_EQ(seen.find("docs/readme.txt")->content, text);
  EXPECT_EQ(seen.find("docs/readme.txt")->size, text.size());
  ASSERT_NE(seen.find("empty.dat"), nullptr);
  EXPECT_EQ(seen.find("empty.dat")->size, 0u);
  EXPECT_EQ(seen.find("empty.dat")->unscanned, "");
}

INSTANTIATE_TEST_SUITE_P(
    ArchiveWalkerWritten, ArchiveWalkerWrittenTest,
    ::testing::Values(Written{"zip", ""}, Written{"7zip", ""}, Written{"pax", ""},
                      Written{"gnutar", "gzip"}, Written{"ustar", "bzip2"}, Written{"pax", "xz"},
                      Written{"pax", "lzma"}, Written{"pax", "zstd"}, Written{"pax", "lz4"},
                      Written{"pax", "lzip"}, Written{"pax", "compress"}, Written{"newc", ""},
                      Written{"iso9660", ""}),
    [](const auto& info) {
      return info.param.format + (info.param.filter.empty() ? "" : "_" + info.param.filter);
    });

TEST(ArchiveWalker, ArArchiveMembersAreDelivered) {
  REQUIRE_CLAMAV_TESTFILES();
  // ar keeps flat names only, so it gets its own test.
  std::string bytes = buildArchive("arsvr4", "", {{"clam.exe", clamExe()}, {"b.o", "bytes"}});
  ArchiveWalker walker(ArchiveLimits{});
  EXPECT_TRUE(walker.isArchive(bytes));
  Recorder seen;
  EXPECT_EQ(walker.walk(bytes, archiveNamed("lib.a"), seen), 2u);
  ASSERT_EQ(seen.names(), (std::vector<std::string>{"clam.exe", "b.o"}));
  EXPECT_EQ(digest(seen.files[0].content).sha256, digest(clamExe()).sha256);
  EXPECT_EQ(seen.files[1].content, "bytes");
}

TEST(ArchiveWalker, CompressedSingleFileIsOneMemberNamedWithoutTheCompressionExtension) {
  REQUIRE_CLAMAV_TESTFILES();
  const std::string clam = clamExe();
  ArchiveWalker walker(ArchiveLimits{});
  for (auto [filter, archiveName, memberName] :
       {std::tuple{"gzip", "clam.exe.gz", "clam.exe"}, std::tuple{"xz", "clam.exe.XZ", "clam.exe"},
        std::tuple{"zstd", "clam.exe.zst", "clam.exe"}, std::tuple{"lzma", "x.lzma", "x"},
        std::tuple{"lz4", "clam.exe.lz4", "clam.exe"}, std::tuple{"gzip", "", "data"},
        std::tuple{"gzip", "backup.tgz", "backup.tar"},
        std::tuple{"bzip2", "invoice.pdf", "invoice.pdf"}}) {
    std::string bytes = buildArchive("raw", filter, {{"ignored", clam}});
    EXPECT_TRUE(walker.isArchive(bytes)) << filter;
    Recorder seen;
    EXPECT_EQ(walker.walk(bytes, archiveNamed(archiveName), seen), 1u) << filter;
    ASSERT_EQ(seen.files.size(), 1u);
    EXPECT_EQ(seen.files[0].name, memberName);
    EXPECT_EQ(seen.files[0].size, clam.size());
    EXPECT_EQ(digest(seen.files[0].content).sha256, digest(clam).sha256);
    EXPECT_TRUE(seen.errors.empty());
  }
}

TEST(ArchiveWalker, ZipInsideAZipIsOneMemberAndIsNotOpened) {
  REQUIRE_CLAMAV_TESTFILES();
  std::string inner = buildArchive("zip", "", {{"clam.exe", clamExe()}});
  std::string outer =
      buildArchive("zip", "", {{"inner.zip", inner}, {"note.txt", "see the attachment\n"}});
  ArchiveWalker walker(ArchiveLimits{});
  Recorder seen;
  EXPECT_EQ(walker.walk(outer, archiveNamed("outer.zip"), seen), 2u);
  ASSERT_EQ(seen.names(), (std::vector<std::string>{"inner.zip", "note.txt"}));
  EXPECT_EQ(seen.find("clam.exe"), nullptr);
  EXPECT_EQ(digest(seen.files[0].content).sha256, digest(inner).sha256);
  EXPECT_TRUE(walker.isArchive(seen.files[0].content));
}

// ---- Limits ----

TEST(ArchiveWalker, ZipBombMemberIsCutAtTheCompressionRatioInLittleMemory) {
  // 2 MiB that does not compress, then 200 MiB of zeros (about 200 KiB deflated), then a
  // small file: the archive as a whole stays under 100:1 long enough that only the
  // member's own ratio catches the bomb.
  const std::string noise = pseudoRandom(2 << 20, 7);
  std::string bytes = buildArchive("zip", "",
                                   {{"noise.bin", noise},
                                    {"zeros.bin", "", std::uint64_t{200} << 20},
                                    {"after.txt", "still here\n"}});
  ASSERT_LT(bytes.size(), std::size_t{3} << 20);
  ArchiveLimits limits;
  limits.maxMemberSize = std::uint64_t{1} << 30;
  limits.maxTotalBytes = std::uint64_t{1} << 30;
  limits.maxRatio = 100;
  ArchiveWalker walker(limits);

  bool measured = resetPeakMemory();
  std::uint64_t before = statusKb("VmRSS");
  Recorder seen;
  EXPECT_EQ(walker.walk(bytes, archiveNamed("bomb.zip"), seen), 3u);
  std::uint64_t peak = statusKb("VmHWM");

  ASSERT_EQ(seen.names(), (std::vector<std::string>{"noise.bin", "zeros.bin", "after.txt"}));
  EXPECT_EQ(seen.files[0].unscanned, "");
  EXPECT_EQ(digest(seen.files[0].content).sha256, digest(noise).sha256);
  EXPECT_EQ(seen.files[1].unscanned, "evasion: compression ratio over 100");
  EXPECT_EQ(seen.files[1].content.size(), 0u);
  EXPECT_EQ(seen.files[1].size, std::uint64_t{200} << 20);  // as declared
  EXPECT_EQ(seen.files[2].content, "still here\n");
  EXPECT_TRUE(seen.errors.empty());
  if (!measured) GTEST_SKIP() << "cannot reset the peak RSS via /proc/self/clear_refs";
  // The recorder copies noise.bin (2 MiB) and the walk holds at most the 1 MiB read before
  // the ratio is judged; the 200 MiB bomb must not be held (64 MiB leaves room for
  // allocator and sanitizer overhead).
  EXPECT_LT(peak - std::min(peak, before), 64u * 1024)
      << "peak grew by " << peak - before << " KiB";
}

TEST(ArchiveWalker, ZipBombIsCutAtTheArchiveTotalWhenTheRatioIsNotLimited) {
  std::string bytes =
      buildArchive("zip", "", {{"zeros.bin", "", std::uint64_t{200} << 20}, {"b.txt", "b"}});
  ArchiveLimits limits;
  limits.maxMemberSize = std::uint64_t{1} << 30;
  limits.maxTotalBytes = 8 << 20;
  limits.maxRatio = 1e9;
  ArchiveWalker walker(limits);
  Recorder seen;
  EXPECT_EQ(walker.walk(bytes, archiveNamed("bomb.zip"), seen), 2u);
  ASSERT_EQ(seen.files.size(), 2u);
  // The declared size already says it: not a byte is read.
  EXPECT_EQ(seen.files[0].unscanned, "evasion: archive unpacks to more than 8388608 bytes");
  EXPECT_EQ(seen.files[0].size, std::uint64_t{200} << 20);
  EXPECT_EQ(seen.files[1].content, "b");
}

TEST(ArchiveWalker, MemberThatLiesAboutItsSizeIsStoppedWhileReading) {
  // A raw gzip stream declares no size, so the limits must hold while reading.
  std::string bytes = buildArchive("raw", "gzip", {{"x", "", std::uint64_t{64} << 20}});
  ArchiveLimits limits;
  limits.maxMemberSize = 5 << 20;
  limits.maxRatio = 1e9;
  Recorder seen;
  EXPECT_EQ(ArchiveWalker(limits).walk(bytes, archiveNamed("x.gz"), seen), 1u);
  ASSERT_EQ(seen.files.size(), 1u);
  EXPECT_EQ(seen.files[0].unscanned, "evasion: over size limit (5242880 bytes)");
  EXPECT_EQ(seen.files[0].content.size(), 0u);
  EXPECT_GT(seen.files[0].size, 5u << 20);  // what was read before stopping
  EXPECT_LE(seen.files[0].size, (5u << 20) + 64 * 1024);

  limits.maxMemberSize = std::uint64_t{1} << 30;
  limits.maxRatio = 100;
  Recorder ratio;
  ArchiveWalker(limits).walk(bytes, archiveNamed("x.gz"), ratio);
  ASSERT_EQ(ratio.files.size(), 1u);
  EXPECT_EQ(ratio.files[0].unscanned, "evasion: compression ratio over 100");
}

TEST(ArchiveWalker, SmallVeryCompressibleFilesAreNotTakenForBombs) {
  // 512 KiB of zeros deflates 1000:1, but is below the 1 MiB the ratio is judged from; a
  // large text that deflates ~2:1 is read whole.
  std::string text;
  for (int i = 0; text.size() < (6u << 20); ++i)
    text += "line " + std::to_string(i) + " of the log\n";
  std::string bytes =
      buildArchive("zip", "", {{"blank.bmp", std::string(512 << 10, '\0')}, {"server.log", text}});
  ArchiveWalker walker(ArchiveLimits{});
  Recorder seen;
  EXPECT_EQ(walker.walk(bytes, archiveNamed("a.zip"), seen), 2u);
  ASSERT_EQ(seen.files.size(), 2u);
  EXPECT_EQ(seen.files[0].unscanned, "");
  EXPECT_EQ(seen.files[0].size, 512u << 10);
  EXPECT_EQ(seen.files[1].unscanned, "");
  EXPECT_EQ(digest(seen.files[1].content).sha256, digest(text).sha256);
}

TEST(ArchiveWalker, MemberOverTheSizeLimitIsNotReadAndTheNextOneIs) {
  REQUIRE_CLAMAV_TESTFILES();
  std::string bytes =
      buildArchive("pax", "", {{"big.iso", std::string(4096, 'x')}, {"clam.exe", clamExe()}});
  ArchiveLimits limits;
  limits.maxMemberSize = 1000;
  Recorder seen;
  EXPECT_EQ(ArchiveWalker(limits).walk(bytes, archiveNamed("a.tar"), seen), 2u);
  ASSERT_EQ(seen.files.size(), 2u);
  EXPECT_EQ(seen.files[0].name, "big.iso");
  EXPECT_EQ(seen.files[0].unscanned, "evasion: over size limit (1000 bytes)");
  EXPECT_EQ(seen.files[0].size, 4096u);
  EXPECT_EQ(seen.files[0].content.size(), 0u);
  EXPECT_EQ(seen.files[1].unscanned, "");
  EXPECT_EQ(digest(seen.files[1].content).sha256, digest(clamExe()).sha256);
}

TEST(ArchiveWalker, MembersBeyondTheArchiveTotalAreUnscanned) {
  std::string bytes = buildArchive("zip", "",
                                   {{"1.txt", std::string(500, '1')},
                                    {"2.txt", std::string(500, '2')},
                                    {"3.txt", std::string(500, '3')},
                                    {"4.txt", std::string(100, '4')}});
  ArchiveLimits limits;
  limits.maxTotalBytes = 1200;
  Recorder seen;
  EXPECT_EQ(ArchiveWalker(limits).walk(bytes, archiveNamed("a.zip"), seen), 4u);
  ASSERT_EQ(seen.files.size(), 4u);
  EXPECT_EQ(seen.files[0].content, std::string(500, '1'));
  EXPECT_EQ(seen.files[1].content, std::string(500, '2'));
  EXPECT_EQ(seen.files[2].unscanned, "evasion: archive unpacks to more than 1200 bytes");
  EXPECT_EQ(seen.files[2].size, 500u);
  // 1000 + 100 still fits: the total counts bytes unpacked, not bytes declared.
  EXPECT_EQ(seen.files[3].content, std::string(100, '4'));
}

TEST(ArchiveWalker, BombInACompressedStreamCostsItsOwnBytesNotTheMembersAfterIt) {
  // In a .tar.gz, skipping a member means decompressing it; that work counts against the
  // archive's total, but a bomb alone does not hide the members after it.
  std::string bytes = buildArchive(
      "pax", "gzip", {{"zeros.bin", "", std::uint64_t{200} << 20}, {"after.txt", "after\n"}});
  ASSERT_LT(bytes.size(), 1u << 20);
  Recorder seen;
  EXPECT_EQ(ArchiveWalker(ArchiveLimits{}).walk(bytes, archiveNamed("bomb.tgz"), seen), 2u);
  ASSERT_EQ(seen.names(), (std::vector<std::string>{"zeros.bin", "after.txt"}));
  // 200 MiB declared > 100 MiB
  EXPECT_EQ(seen.files[0].unscanned, "evasion: over size limit (104857600 bytes)");
  EXPECT_EQ(seen.files[1].content, "after\n");
  EXPECT_TRUE(seen.errors.empty());
}

TEST(ArchiveWalker, BombInACompressedStreamPastTheArchiveTotalListsTheRestAsUnscanned) {
  std::string bytes = buildArchive(
      "pax", "gzip", {{"zeros.bin", "", std::uint64_t{200} << 20}, {"after.txt", "after\n"}});
  ArchiveLimits limits;
  limits.maxTotalBytes = 8 << 20;
  Recorder seen;
  EXPECT_EQ(ArchiveWalker(limits).walk(bytes, archiveNamed("bomb.tgz"), seen), 2u);
  ASSERT_EQ(seen.names(), (std::vector<std::string>{"zeros.bin", "(members not read)"}));
  EXPECT_EQ(seen.files[1].unscanned,
            "evasion: archive unpacks to more than 8388608 bytes; the rest of bomb.tgz was not "
            "read");
  EXPECT_EQ(seen.files[1].where, (std::vector<std::string>{"message.eml", "bomb.tgz"}));
  EXPECT_TRUE(seen.errors.empty());
}

TEST(ArchiveWalker, MembersPastTheLimitAreCountedInOneUnscannedEntry) {
  std::vector<Member> members;
  for (int i = 0; i < 7; ++i) members.push_back({"f" + std::to_string(i) + ".txt", "x"});
  std::string bytes = buildArchive("zip", "", members);
  ArchiveLimits limits;
  limits.maxMembers = 4;
  Recorder seen;
  EXPECT_EQ(ArchiveWalker(limits).walk(bytes, archiveNamed("many.zip"), seen), 5u);
  EXPECT_EQ(seen.names(),
            (std::vector<std::string>{"f0.txt", "f1.txt", "f2.txt", "f3.txt", "(3 more members)"}));
  EXPECT_EQ(seen.files[4].unscanned, "evasion: 3 more members not listed (limit 4)");
  EXPECT_TRUE(seen.errors.empty());
  // In a compressed stream, counting means decompressing: not counted past the first.
  Recorder tgz;
  EXPECT_EQ(ArchiveWalker(limits).walk(buildArchive("pax", "gzip", members),
                                       archiveNamed("many.tgz"), tgz),
            5u);
  EXPECT_EQ(tgz.files[4].unscanned, "evasion: at least 1 more members not listed (limit 4)");
  limits.maxMembers = 7;
  Recorder all;
  EXPECT_EQ(ArchiveWalker(limits).walk(bytes, archiveNamed("many.zip"), all), 7u);
  EXPECT_TRUE(all.errors.empty());
}

TEST(ArchiveWalker, ZipOf100001MembersListsTheRestWithTheirCount) {
  // The payload at member 100,001 of a zip is never read, but the message says so.
  std::vector<Member> members;
  for (int i = 0; i < 100001; ++i) members.push_back({std::to_string(i), ""});
  members.back() = {"eicar.com", "X5O!P%@AP"};
  std::string bytes = buildArchive("zip", "", members);
  Recorder seen;
  EXPECT_EQ(ArchiveWalker(ArchiveLimits{}).walk(bytes, archiveNamed("many.zip"), seen), 10001u);
  ASSERT_EQ(seen.files.size(), 10001u);
  EXPECT_EQ(seen.files.back().name, "(90,001 more members)");
  EXPECT_EQ(seen.files.back().unscanned, "evasion: 90,001 more members not listed (limit 10,000)");
}

TEST(ArchiveWalker, TheRatioIsPerMemberSoABombDoesNotHideTheFileAfterIt) {
  // Before: 2 MiB of zeros (a ratio of ~1000 on its own) made the whole archive's ratio
  // too high, and the small exe after it unscanned.
  const std::string exe = "MZ" + pseudoRandom(542, 3);
  for (const char* filter : {"", "gzip"}) {
    std::string format = *filter ? "pax" : "zip";
    std::string bytes =
        buildArchive(format, filter, {{"zeros.bin", "", std::uint64_t{2} << 20}, {"a.exe", exe}});
    Recorder seen;
    ArchiveWalker(ArchiveLimits{}).walk(bytes, archiveNamed("a"), seen);
    ASSERT_EQ(seen.names(), (std::vector<std::string>{"zeros.bin", "a.exe"})) << format;
    EXPECT_EQ(seen.files[0].unscanned, "evasion: compression ratio over 100") << format;
    EXPECT_EQ(seen.files[1].unscanned, "") << format;
    EXPECT_EQ(seen.files[1].content, exe) << format;
  }
}

// ---- Encrypted and damaged archives ----

TEST(ArchiveWalker, EncryptedZipMembersAreUnscannedWithTheirNameAndSize) {
  REQUIRE_CLAMAV_TESTFILES();
  for (const char* method : {"zipcrypt", "aes128", "aes256"}) {
    std::string bytes =
        buildArchive("zip", "", {{"clam.exe", clamExe()}, {"readme.txt", "password: infected"}},
                     std::string("zip:encryption=") + method, "infected");
    Recorder seen;
    EXPECT_EQ(ArchiveWalker(ArchiveLimits{}).walk(bytes, archiveNamed("e.zip"), seen), 2u)
        << method;
    ASSERT_EQ(seen.files.size(), 2u) << method;
    EXPECT_EQ(seen.files[0].name, "clam.exe");
    EXPECT_EQ(seen.files[0].unscanned, "evasion: encrypted zip, no password opened it") << method;
    EXPECT_EQ(seen.files[0].content.size(), 0u);
    EXPECT_EQ(seen.files[0].size, 544u);
    EXPECT_EQ(seen.files[1].unscanned, "evasion: encrypted zip, no password opened it") << method;
    EXPECT_TRUE(seen.errors.empty()) << method << ": " << seen.errors.front();
  }
}

TEST(ArchiveWalker, EncryptedZipIsOpenedWithTheFirstPasswordThatWorksAndSaysWhich) {
  REQUIRE_CLAMAV_TESTFILES();
  for (const char* method : {"zipcrypt", "aes128", "aes256"}) {
    std::string bytes = buildArchive("zip", "", {{"clam.exe", clamExe()}, {"readme.txt", "hello"}},
                                     std::string("zip:encryption=") + method, "1234");
    int asked = 0;
    auto passwords = [&] {
      ++asked;
      return std::vector<bccsink::sandbox::ArchivePassword>{
          {"invoice", "the subject"}, {"1234", "the message body"}, {"x", "BccArchivePasswords"}};
    };
    Recorder seen;
    EXPECT_EQ(ArchiveWalker(ArchiveLimits{}).walk(bytes, archiveNamed("e.zip"), seen, passwords),
              2u);
    EXPECT_EQ(asked, 1) << method;  // once per archive, not per member
    ASSERT_EQ(seen.files.size(), 2u) << method;
    EXPECT_EQ(seen.files[0].unscanned, "") << method;
    EXPECT_EQ(digest(seen.files[0].content).sha256, digest(clamExe()).sha256) << method;
    EXPECT_EQ(seen.files[0].note, "opened with password '1234' from the message body");
    EXPECT_EQ(seen.files[1].content, "hello") << method;
    EXPECT_TRUE(seen.errors.empty()) << method << ": " << seen.errors.front();

    Recorder wrong;
    ArchiveWalker(ArchiveLimits{}).walk(bytes, archiveNamed("e.zip"), wrong, [] {
      return std::vector<bccsink::sandbox::ArchivePassword>{{"12345", "the message body"}};
    });
    ASSERT_EQ(wrong.files.size(), 2u) << method;
    EXPECT_EQ(wrong.files[0].unscanned, "evasion: encrypted zip, no password opened it");
    EXPECT_EQ(wrong.files[1].unscanned, "evasion: encrypted zip, no password opened it");
  }
}

TEST(ArchiveWalker, TruncatedZipDeliversWhatCouldBeReadAndReportsTheDamage) {
  REQUIRE_CLAMAV_TESTFILES();
  const std::string noise = pseudoRandom(64 << 10, 3);
  std::string whole = buildArchive(
      "zip", "", {{"clam.exe", clamExe()}, {"noise.bin", noise}, {"last.txt", "last"}});
  std::string half = whole.substr(0, whole.size() / 2);  // inside noise.bin's data
  ArchiveWalker walker(ArchiveLimits{});
  EXPECT_TRUE(walker.isArchive(half));
  Recorder seen;
  std::size_t delivered = walker.walk(half, archiveNamed("cut.zip"), seen);
  ASSERT_GE(delivered, 1u);
  EXPECT_EQ(delivered, seen.files.size());
  EXPECT_EQ(seen.files[0].name, "clam.exe");
  EXPECT_EQ(digest(seen.files[0].content).sha256, digest(clamExe()).sha256);
  EXPECT_EQ(seen.find("last.txt"), nullptr);
  if (const Seen* cut = seen.find("noise.bin")) {
    EXPECT_EQ(cut->content.size(), 0u);
    EXPECT_EQ(cut->unscanned.rfind("damaged: ", 0), 0u) << cut->unscanned;
  }
  ASSERT_EQ(seen.errors.size(), 1u);
  EXPECT_EQ(seen.errors[0].rfind("cut.zip: ", 0), 0u) << seen.errors[0];
}

TEST(ArchiveWalker, ZipMemberWithABadCrcIsScannedAsIsAndTheDamageReported) {
  REQUIRE_CLAMAV_TESTFILES();
  // Stored, so the member's bytes sit in the zip as they are and one can be flipped. A
  // reader that took libarchive's ARCHIVE_WARN block for nothing would deliver it empty.
  const std::string clam = clamExe();
  std::string bytes =
      buildArchive("zip", "", {{"clam.exe", clam}, {"b.txt", "bbb"}}, "zip:compression=store");
  std::size_t at = bytes.find(clam);
  ASSERT_NE(at, std::string::npos);
  bytes[at + 100] ^= 0x01;
  std::string tampered = clam;
  tampered[100] ^= 0x01;
  Recorder seen;
  EXPECT_EQ(ArchiveWalker(ArchiveLimits{}).walk(bytes, archiveNamed("crc.zip"), seen), 2u);
  ASSERT_EQ(seen.files.size(), 2u);
  EXPECT_EQ(seen.files[0].name, "clam.exe");
  EXPECT_EQ(seen.files[0].unscanned, "");
  EXPECT_EQ(seen.files[0].content, tampered);
  EXPECT_EQ(seen.files[1].content, "bbb");
  ASSERT_EQ(seen.errors.size(), 1u);
  EXPECT_EQ(seen.errors[0].rfind("crc.zip: clam.exe: ZIP bad CRC", 0), 0u) << seen.errors[0];
}

TEST(ArchiveWalker, EveryTruncationAndManyCorruptionsOfRealArchivesAreSurvived) {
  REQUIRE_CLAMAV_TESTFILES();
  std::vector<std::string> inputs;
  for (const char* file : {"clam.zip", "clam.7z", "clam.cab", "clam.tar.gz", "clam.exe.bz2",
                           "clam.newc.cpio", "clam.bz2.zip", "clam_cache_emax.tgz"}) {
    inputs.push_back(readFile(kTestFiles + file));
  }
  inputs.push_back(buildArchive("7zip", "", {{"a", clamExe()}, {"b", std::string(3000, 'b')}},
                                "7zip:compression=deflate"));
  ArchiveLimits limits;
  limits.maxTotalBytes = 1 << 20;
  ArchiveWalker walker(limits);
  std::mt19937 gen(11);
  auto check = [&](const std::string& bytes) {
    Recorder seen;
    std::size_t n = walker.walk(bytes, archiveNamed("x"), seen);
    ASSERT_EQ(n, seen.files.size());
    for (const auto& f : seen.files) {
      if (f.unscanned.empty()) {
        ASSERT_EQ(f.content.size(), f.size);
      } else {
        ASSERT_TRUE(f.content.empty());
      }
    }
  };
  for (const auto& input : inputs) {
    for (std::size_t cut = 0; cut < input.size();
         cut += std::max<std::size_t>(1, input.size() / 300)) {
      check(input.substr(0, cut));
    }
    for (int round = 0; round < 300; ++round) {
      std::string bytes = input;
      int flips = 1 + static_cast<int>(gen() % 8);
      for (int k = 0; k < flips; ++k) bytes[gen() % bytes.size()] = static_cast<char>(gen());
      check(bytes);
    }
  }
}

// ---- Names ----

TEST(ArchiveWalker, NonAsciiNamesComeOutAsUtf8EvenInTheCLocale) {
  CLocale c;  // a daemon that never called setlocale()
  const std::vector<std::string> names = {"Grüße/Отчёт за март.exe", "日本語.txt", "ñ"};
  for (const char* format : {"zip", "7zip", "pax", "iso9660"}) {
    std::vector<Member> members;
    for (const auto& n : names) members.push_back({n, n});
    std::string bytes = buildArchive(format, "", members);
    locale_t before = uselocale(locale_t{});
    Recorder seen;
    EXPECT_EQ(ArchiveWalker(ArchiveLimits{}).walk(bytes, archiveNamed("names"), seen), 3u)
        << format;
    std::vector<std::string> got = seen.names();
    std::sort(got.begin(), got.end());
    std::vector<std::string> want = names;
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want) << format;
    for (const auto& f : seen.files) EXPECT_EQ(f.content, f.name) << format;
    EXPECT_TRUE(seen.errors.empty()) << format;
    // The walker's UTF-8 locale stays inside the walker.
    EXPECT_EQ(uselocale(locale_t{}), before);
    for (const auto& codeset : seen.codesets) EXPECT_EQ(codeset, "ANSI_X3.4-1968");
  }
}

TEST(ArchiveWalker, NameBytesThatAreNotUtf8AreReplacedNotPassedOn) {
  // A tar keeps a name's bytes as they are: here Latin-1 "café.txt".
  archive* a = archive_write_new();
  std::string bytes;
  ASSERT_EQ(archive_write_set_format_gnutar(a), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open(a, &bytes, nullptr, appendTo, nullptr), ARCHIVE_OK);
  archive_entry* e = archive_entry_new();
  archive_entry_copy_pathname(e, "caf\xe9.txt");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, 1);
  ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
  ASSERT_EQ(archive_write_data(a, "x", 1), 1);
  archive_entry_free(e);
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  Recorder seen;
  EXPECT_EQ(ArchiveWalker(ArchiveLimits{}).walk(bytes, archiveNamed("l.tar"), seen), 1u);
  ASSERT_EQ(seen.files.size(), 1u);
  EXPECT_EQ(seen.files[0].name, "caf\xEF\xBF\xBD.txt");
  EXPECT_EQ(seen.files[0].content, "x");
}

TEST(ArchiveWalker, OnlyRegularFilesAreDeliveredAndNamesAreKeptAsGivenButForALeadingDotSlash) {
  std::string bytes = buildArchive("pax", "",
                                   {{"./dir", "", 0, AE_IFDIR},
                                    {"./dir/a.txt", "a"},
                                    {"./link", "", 0, AE_IFLNK, "dir/a.txt"},
                                    {"./fifo", "", 0, AE_IFIFO},
                                    {"../escape.txt", "b"},
                                    {"/etc/absolute.txt", "c"},
                                    {"dir/./inner.txt", "d"}});
  Recorder seen;
  EXPECT_EQ(ArchiveWalker(ArchiveLimits{}).walk(bytes, archiveNamed("t.tar"), seen), 4u);
  ASSERT_EQ(seen.names(), (std::vector<std::string>{"dir/a.txt", "../escape.txt",
                                                    "/etc/absolute.txt", "dir/./inner.txt"}));
  EXPECT_EQ(seen.files[1].content, "b");
  EXPECT_TRUE(seen.errors.empty());
}

TEST(ArchiveWalker, MembersAfterADamagedLocalHeaderAreListedFromTheCentralDirectory) {
  // The second local header's signature spoilt: libarchive's reader stops there, but the
  // central directory (what Explorer and 7-Zip read) still lists b.exe.
  std::string z = buildArchive("zip", "", {{"a.txt", "first\n"}, {"b.exe", "MZ second\n"}});
  auto second = z.find("PK\x03\x04", 4);
  ASSERT_NE(second, std::string::npos);
  z[second + 2] = 'X';
  ArchiveWalker walker(ArchiveLimits{});
  Recorder seen;
  walker.walk(z, archiveNamed("x.zip"), seen);
  const auto* b = seen.find("b.exe");
  ASSERT_NE(b, nullptr) << ::testing::PrintToString(seen.names());
  EXPECT_TRUE(bccsink::sandbox::isEvasion(b->unscanned)) << b->unscanned;
}
