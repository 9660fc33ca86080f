#include "sink/smtp/Spool.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "test/TempDir.h"

using bccsink::Spool;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(Spool, FinishedFileIsRenamedIntoPlaceWithItsDigest) {
  bccsink::test::TempDir dir;
  Spool spool(dir / "spool");
  std::string error;
  auto f = spool.create("01TESTID", error);
  ASSERT_TRUE(f) << error;
  EXPECT_TRUE(fs::exists(dir / "spool/01TESTID.eml.tmp"));
  EXPECT_FALSE(fs::exists(dir / "spool/01TESTID.eml"));
  ASSERT_TRUE(f->write("abc"));
  ASSERT_TRUE(f->finish()) << f->error();
  EXPECT_FALSE(fs::exists(dir / "spool/01TESTID.eml.tmp"));
  EXPECT_EQ(slurp(dir / "spool/01TESTID.eml"), "abc");
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  EXPECT_EQ(f->sha256(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(f->size(), 3u);
  EXPECT_TRUE(spool.syncDirectory(error)) << error;
}

TEST(Spool, LargeWritesCrossTheBufferIntact) {
  bccsink::test::TempDir dir;
  Spool spool(dir / "spool");
  std::string error;
  auto f = spool.create("BIG", error);
  std::string expected;
  for (int i = 0; i < 3000; ++i) {
    std::string chunk(static_cast<std::size_t>(i % 200 + 1), static_cast<char>('a' + i % 26));
    if (i % 500 == 0) chunk.assign(100000, 'z');
    expected += chunk;
    ASSERT_TRUE(f->write(chunk));
  }
  ASSERT_TRUE(f->finish());
  EXPECT_EQ(slurp(dir / "spool/BIG.eml"), expected);
  EXPECT_EQ(f->size(), expected.size());
}

TEST(Spool, UnfinishedFileIsRemovedWhenDropped) {
  bccsink::test::TempDir dir;
  Spool spool(dir / "spool");
  std::string error;
  {
    auto f = spool.create("GONE", error);
    f->write("partial");
  }
  EXPECT_FALSE(fs::exists(dir / "spool/GONE.eml.tmp"));
  EXPECT_TRUE(spool.files().empty());
}

TEST(Spool, DiscardRemovesAFinishedFile) {
  bccsink::test::TempDir dir;
  Spool spool(dir / "spool");
  std::string error;
  auto f = spool.create("UNDO", error);
  f->write("x");
  ASSERT_TRUE(f->finish());
  f->discard();
  EXPECT_FALSE(fs::exists(dir / "spool/UNDO.eml"));
}

TEST(Spool, CreatingTheSameIdTwiceFails) {
  bccsink::test::TempDir dir;
  Spool spool(dir / "spool");
  std::string error;
  auto a = spool.create("SAME", error);
  auto b = spool.create("SAME", error);
  EXPECT_TRUE(a);
  EXPECT_FALSE(b);
  EXPECT_NE(error.find("cannot create"), std::string::npos);
}

TEST(Spool, TemporariesOfACrashedRunAreListedAndRemoved) {
  bccsink::test::TempDir dir;
  { Spool spool(dir / "spool"); }
  std::ofstream(dir / "spool/A.eml.tmp") << "half";
  std::ofstream(dir / "spool/DONE.eml") << "whole";
  Spool spool(dir / "spool");
  EXPECT_EQ(spool.removeTemporaries(), std::vector<std::string>{"A.eml.tmp"});
  EXPECT_FALSE(fs::exists(dir / "spool/A.eml.tmp"));
  EXPECT_EQ(spool.files(), std::vector<std::string>{"DONE.eml"});
}

TEST(Spool, ReportsFreeSpace) {
  bccsink::test::TempDir dir;
  Spool spool(dir / "spool");
  EXPECT_GT(spool.freeBytes(), 0u);
}
