#include "sink/smtp/Spool.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "db/SegmentReader.h"
#include "test/TempDir.h"
#include "test/sink/smtp/SpoolTesting.h"

using namespace bccsink;
using bccsink::test::appendBatch;
using bccsink::test::appendOne;
using bccsink::test::idOf;
using bccsink::test::messageOf;
using bccsink::test::readBack;
using bccsink::test::recordSize;
using bccsink::test::rowsOf;
using bccsink::test::Version;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

db::Locator locatorOf(const std::string& text) {
  db::Locator l;
  EXPECT_TRUE(db::parseLocator(text, l)) << text;
  return l;
}

}  // namespace

TEST(Spool, AFreshSpoolStartsWithItsFirstSegmentZeroFilled) {
  test::TempDir dir;
  Spool spool(dir / "spool", 64 * 1024);
  auto r = spool.recover(rowsOf({}));
  EXPECT_EQ(r.segment, "segments/000000000001.seg");
  EXPECT_EQ(r.tail, 0u);
  EXPECT_EQ(fs::file_size(dir / "spool/segments/000000000001.seg"), 64u * 1024);
  EXPECT_EQ(slurp(dir / "spool/segments/000000000001.seg"), std::string(64 * 1024, '\0'));
}

TEST(Spool, ABatchIsAppendedInOrderAndEachMessageReadsBack) {
  test::TempDir dir;
  Spool spool(dir / "spool", 64 * 1024);
  spool.recover(rowsOf({}));
  auto locators = appendBatch(spool, {{idOf(1), "one"}, {idOf(2), ""}, {idOf(3), "three"}});
  auto second = recordSize(idOf(1), "one"), third = second + recordSize(idOf(2), "");
  auto fourth = third + recordSize(idOf(3), "three");
  EXPECT_EQ(locators,
            (std::vector<std::string>{"segments/000000000001.seg#0",
                                      "segments/000000000001.seg#" + std::to_string(second),
                                      "segments/000000000001.seg#" + std::to_string(third)}));
  EXPECT_EQ(readBack(dir / "spool", locators[0]), "one");
  EXPECT_EQ(readBack(dir / "spool", locators[1]), "");
  EXPECT_EQ(readBack(dir / "spool", locators[2]), "three");
  EXPECT_EQ(appendOne(spool, idOf(4), "four"),
            "segments/000000000001.seg#" + std::to_string(fourth));
  // The segment keeps its preallocated size: an fdatasync flushes data only.
  EXPECT_EQ(fs::file_size(dir / "spool/segments/000000000001.seg"), 64u * 1024);
}

TEST(Spool, WithoutRecoveryTheFirstAppendRecoversOnItsOwn) {
  test::TempDir dir;
  Spool spool(dir / "spool", 64 * 1024);
  auto l = appendOne(spool, idOf(1), "x");
  EXPECT_EQ(readBack(dir / "spool", l), "x");
}

TEST(Spool, TinySegmentsRotateBetweenBatchesAndARestartContinuesInTheLastOne) {
  test::TempDir dir;
  constexpr std::uint64_t kSize = 4096;
  std::map<std::string, std::string> rows, bytes;  // id -> locator, id -> message
  std::vector<std::string> order;
  {
    Spool spool(dir / "spool", kSize);
    spool.recover(rowsOf({}));
    int n = 0;
    for (int batch = 0; batch < 120; ++batch) {
      std::vector<std::pair<std::string, std::string>> messages;
      for (int k = 0; k <= batch % 3; ++k, ++n) {
        messages.emplace_back(idOf(n), messageOf(n, 200 + (n * 397) % 1300));
      }
      auto locators = appendBatch(spool, messages);
      ASSERT_EQ(locators.size(), messages.size()) << locators.front();
      // A batch is never split across segments.
      for (const auto& l : locators) EXPECT_EQ(locatorOf(l).file, locatorOf(locators[0]).file);
      for (std::size_t i = 0; i < messages.size(); ++i) {
        rows[messages[i].first] = locators[i];
        bytes[messages[i].first] = messages[i].second;
        order.push_back(messages[i].first);
      }
    }
    // One message larger than a whole segment goes alone and makes its segment longer.
    std::string big = messageOf(9999, 3 * kSize);
    auto l = appendOne(spool, idOf(9999), big);
    EXPECT_EQ(locatorOf(l).offset, 0u);
    rows[idOf(9999)] = l;
    bytes[idOf(9999)] = big;
    order.push_back(idOf(9999));
    EXPECT_GT(spool.segments().size(), 40u);
  }
  for (const auto& [id, locator] : rows) {
    EXPECT_EQ(readBack(dir / "spool", locator), bytes[id]) << id << " at " << locator;
  }
  // A restart finds the last segment written and appends after its last record.
  Spool again(dir / "spool", kSize);
  auto r = again.recover(rowsOf(rows));
  EXPECT_TRUE(r.markedDead.empty());
  EXPECT_TRUE(r.droppedTail.empty()) << r.droppedTail;
  auto last = locatorOf(rows[order.back()]);
  EXPECT_EQ(r.segment, last.file);
  EXPECT_EQ(r.tail, last.offset + recordSize(order.back(), bytes[order.back()]));
  // That segment is full (the big message): the next append rotates to the one after.
  auto next = locatorOf(appendOne(again, idOf(10000), "after the restart"));
  EXPECT_EQ(db::segmentNumber(fs::path(next.file).filename().string()),
            db::segmentNumber(fs::path(last.file).filename().string()) + 1);
  EXPECT_EQ(next.offset, 0u);
}

TEST(Spool, ARestartAppendsToTheCurrentSegmentWhereItsRecordsEnd) {
  test::TempDir dir;
  std::string first;
  {
    Spool spool(dir / "spool", 64 * 1024);
    spool.recover(rowsOf({}));
    first = appendOne(spool, idOf(1), "first");
  }
  Spool again(dir / "spool", 64 * 1024);
  auto r = again.recover(rowsOf({{idOf(1), first}}));
  EXPECT_EQ(r.segment, "segments/000000000001.seg");
  EXPECT_EQ(r.tail, recordSize(idOf(1), "first"));
  EXPECT_EQ(appendOne(again, idOf(2), "second"),
            "segments/000000000001.seg#" + std::to_string(r.tail));
  EXPECT_EQ(readBack(dir / "spool", first), "first");
}

TEST(Spool, Version1RecordsThatNoRowNamesAreMarkedDeadAtRecoveryAndStayUnread) {
  test::TempDir dir;
  std::vector<std::string> l;
  {
    Spool spool(dir / "spool", 64 * 1024);
    spool.recover(rowsOf({}));
    l = appendBatch(spool, {{idOf(1), "kept"}, {idOf(2), "never committed"}, {idOf(3), "kept"}},
                    Version::V1);
  }
  Spool again(dir / "spool", 64 * 1024);
  auto r = again.recover(rowsOf({{idOf(1), l[0]}, {idOf(3), l[2]}}));
  EXPECT_EQ(r.markedDead, std::vector<std::string>{l[1]});
  EXPECT_NE(readBack(dir / "spool", l[1]).find("dead"), std::string::npos);
  EXPECT_EQ(readBack(dir / "spool", l[0]), "kept");
  EXPECT_EQ(readBack(dir / "spool", l[2]), "kept");
  // Dead records are walked over, not reused: appends go after them.
  EXPECT_TRUE(r.restorable.empty());
  EXPECT_TRUE(again.takeRestorable().empty());
  EXPECT_EQ(appendOne(again, idOf(4), "next"),
            "segments/000000000001.seg#" + std::to_string(3 * 96 + 4 + 15 + 4));
}

TEST(Spool, RecordsThatNoRowNamesHaveTheirRowsRestoredAndARowElsewhereMeansDead) {
  test::TempDir dir;
  std::vector<std::string> l;
  {
    Spool spool(dir / "spool", 64 * 1024);
    spool.recover(rowsOf({}));
    l = appendBatch(spool, {{idOf(1), "kept"}, {idOf(2), "row lost"}, {idOf(3), "twice"}});
  }
  Spool again(dir / "spool", 64 * 1024);
  // idOf(3) has a row, naming another record: this one is not its message.
  auto r = again.recover(rowsOf({{idOf(1), l[0]}, {idOf(3), "segments/000000000009.seg#0"}}));
  EXPECT_EQ(r.markedDead, std::vector<std::string>{l[2]});
  EXPECT_EQ(r.restorable, std::vector<std::string>{l[1]});
  auto rows = again.takeRestorable();
  ASSERT_EQ(rows.size(), 1u);
  auto expected = test::rowOf(idOf(2), "row lost");
  EXPECT_EQ(rows[0].id, expected.id);
  EXPECT_EQ(rows[0].spoolFile, l[1]);
  EXPECT_EQ(rows[0].sha256, expected.sha256);
  EXPECT_EQ(rows[0].size, 8);
  EXPECT_TRUE(again.takeRestorable().empty());
  EXPECT_EQ(readBack(dir / "spool", l[1]), "row lost");
}

TEST(Spool, RoundsWhoseCommitsWereLostAcrossRotationsAreAllRestored) {
  // Rounds are committed in order; the last ones, spread over three segments, lost theirs.
  test::TempDir dir;
  std::map<std::string, std::string> rows;
  std::vector<std::string> uncommitted;
  {
    Spool spool(dir / "spool", 4096);
    spool.recover(rowsOf({}));
    for (int i = 0; i < 12; ++i) {
      auto l = appendOne(spool, idOf(i), messageOf(i, 1500));
      if (i < 4) {
        rows[idOf(i)] = l;
      } else {
        uncommitted.push_back(l);
      }
    }
    ASSERT_GE(locatorOf(uncommitted.back()).file, "segments/000000000004.seg");
  }
  Spool again(dir / "spool", 4096);
  auto r = again.recover(rowsOf(rows));
  EXPECT_TRUE(r.markedDead.empty());
  std::sort(r.restorable.begin(), r.restorable.end());
  std::sort(uncommitted.begin(), uncommitted.end());
  EXPECT_EQ(r.restorable, uncommitted);
  // Oldest first, as they were committed.
  std::vector<std::string> restored;
  for (const auto& row : again.takeRestorable()) restored.push_back(row.spoolFile);
  EXPECT_EQ(restored, uncommitted);
  for (const auto& [id, l] : rows) EXPECT_EQ(readBack(dir / "spool", l).substr(0, 9), "Subject: ");
}

TEST(Spool, MarkDeadTouchesOnlyTheRecordsNamed) {
  test::TempDir dir;
  Spool spool(dir / "spool", 64 * 1024);
  spool.recover(rowsOf({}));
  auto l = appendBatch(spool, {{idOf(1), "a"}, {idOf(2), "b"}});
  std::string error;
  ASSERT_TRUE(spool.markDead({l[1], "segments/000000000001.seg#5"}, error)) << error;
  EXPECT_EQ(readBack(dir / "spool", l[0]), "a");
  EXPECT_NE(readBack(dir / "spool", l[1]).find("dead"), std::string::npos);
  db::SegmentReader r(dir / "spool/segments/000000000001.seg", db::SegmentReader::Verify::Messages);
  db::RecordHeader h;
  ASSERT_TRUE(r.next(h));
  EXPECT_FALSE(h.dead);
  ASSERT_TRUE(r.next(h));
  EXPECT_TRUE(h.dead);
  EXPECT_FALSE(r.next(h));
  EXPECT_TRUE(r.damage().empty());
}

TEST(SpoolFile, AFinishedFileIsRenamedIntoPlace) {
  test::TempDir dir;
  Spool spool(dir / "spool");
  auto f = spool.create("01TESTID");
  ASSERT_TRUE(f->error().empty()) << f->error();
  EXPECT_TRUE(fs::exists(dir / "spool/01TESTID.eml.tmp"));
  std::string big(200000, 'x');
  ASSERT_TRUE(f->write("abc"));
  ASSERT_TRUE(f->write(big));
  ASSERT_TRUE(f->finish()) << f->error();
  EXPECT_FALSE(fs::exists(dir / "spool/01TESTID.eml.tmp"));
  EXPECT_EQ(slurp(dir / "spool/01TESTID.eml"), "abc" + big);
  EXPECT_EQ(f->size(), 3 + big.size());
  EXPECT_EQ(spool.files(), std::vector<std::string>{"01TESTID.eml"});
  std::string error;
  EXPECT_TRUE(spool.syncDirectory(error)) << error;
  f->discard();
  EXPECT_FALSE(fs::exists(dir / "spool/01TESTID.eml"));
}

TEST(SpoolFile, AnUnfinishedFileIsRemovedWhenDroppedAndAnIdIsCreatedOnce) {
  test::TempDir dir;
  Spool spool(dir / "spool");
  {
    auto f = spool.create("01A");
    ASSERT_TRUE(f->write("partial"));
    auto twice = spool.create("01A");
    EXPECT_NE(twice->error(), "");
    EXPECT_FALSE(twice->write("x"));
  }
  EXPECT_FALSE(fs::exists(dir / "spool/01A.eml.tmp"));
  EXPECT_TRUE(spool.files().empty());
}

TEST(Spool, RecoveryRemovesUnfinishedFilesAndNamesThem) {
  test::TempDir dir;
  { Spool spool(dir / "spool"); }
  std::ofstream(dir / "spool/A.eml.tmp") << "x";
  std::ofstream(dir / "spool/B.eml") << "kept";
  std::ofstream(dir / "spool/segments/000000000009.seg.prep") << "half";
  Spool spool(dir / "spool", 64 * 1024);
  auto r = spool.recover(rowsOf({}));
  EXPECT_EQ(r.removedTemporaries, std::vector<std::string>{"A.eml.tmp"});
  EXPECT_FALSE(fs::exists(dir / "spool/A.eml.tmp"));
  EXPECT_FALSE(fs::exists(dir / "spool/segments/000000000009.seg.prep"));
  EXPECT_EQ(spool.files(), std::vector<std::string>{"B.eml"});
}

TEST(Spool, ReportsFreeSpace) {
  test::TempDir dir;
  Spool spool(dir / "spool");
  EXPECT_GT(spool.freeBytes(), 0u);
}
