// The spool after a crash: a torn last record is dropped (it was never acknowledged), the
// records before it stay readable, nothing is read twice, and appends go on.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "db/SegmentReader.h"
#include "sink/smtp/Spool.h"
#include "test/TempDir.h"
#include "test/sink/smtp/SpoolTesting.h"

using namespace bccsink;
using bccsink::test::appendOne;
using bccsink::test::idOf;
using bccsink::test::messageOf;
using bccsink::test::readBack;
using bccsink::test::rowsOf;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kSegment = 16 * 1024;
constexpr int kRecords = 5;

enum class Tear { Truncate, Zeros, Garbage };

const char* name(Tear t) {
  return t == Tear::Truncate ? "truncated" : t == Tear::Zeros ? "zeroed" : "garbage";
}

// A spool with kRecords messages in its first segment, appended one batch each.
struct Written {
  std::vector<std::string> locators, messages;
  std::uint64_t lastStart = 0, lastEnd = 0;
};

Written writeSpool(const std::string& spoolDir) {
  Written w;
  Spool spool(spoolDir, kSegment);
  spool.recover(rowsOf({}));
  for (int i = 0; i < kRecords; ++i) {
    w.messages.push_back(messageOf(i, 60 + 7 * i));
    w.locators.push_back(appendOne(spool, idOf(i), w.messages.back()));
  }
  db::Locator last;
  db::parseLocator(w.locators.back(), last);
  w.lastStart = last.offset;
  w.lastEnd = last.offset + test::recordSize(idOf(kRecords - 1), w.messages.back());
  return w;
}

// Tears the segment file from `cut` to the end of the last record.
void tear(const std::string& segment, std::uint64_t cut, std::uint64_t end, Tear how) {
  if (how == Tear::Truncate) {
    fs::resize_file(segment, cut);
    return;
  }
  std::fstream f(segment, std::ios::in | std::ios::out | std::ios::binary);
  std::string bytes(end - cut, '\0');
  f.seekg(static_cast<std::streamoff>(cut));
  f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  for (auto& c : bytes) c = how == Tear::Zeros ? '\0' : static_cast<char>(c ^ 0x5a);
  f.seekp(static_cast<std::streamoff>(cut));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Every live record of every segment, by id (a duplicate fails the test).
std::map<std::string, std::string> liveRecords(const std::string& spoolDir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(spoolDir + "/segments")) {
    auto number = db::segmentNumber(e.path().filename().string());
    if (!number) continue;
    db::SegmentReader r(e.path(), db::SegmentReader::Verify::Messages);
    for (db::RecordHeader h; r.next(h);) {
      if (h.dead) continue;
      EXPECT_TRUE(out.emplace(h.id, db::recordLocator(number, h.offset)).second) << h.id;
    }
    EXPECT_TRUE(r.damage().empty() && r.zeroFromTail()) << e.path() << ": " << r.damage();
  }
  return out;
}

}  // namespace

// For every byte offset inside the last record, header, envelope and message alike, and three ways
// a write can be torn (the file cut short, the rest never written, garbage written).
TEST(SpoolRecovery, ATornLastRecordIsDroppedAtEveryOffsetAndNothingElseIsLost) {
  test::TempDir dir;
  auto w = writeSpool(dir / "pristine");
  // The first kRecords - 1 were acknowledged: their rows exist.
  std::map<std::string, std::string> rows;
  for (int i = 0; i + 1 < kRecords; ++i) rows[idOf(i)] = w.locators[i];
  int runs = 0;
  for (auto how : {Tear::Truncate, Tear::Zeros, Tear::Garbage}) {
    for (auto cut = w.lastStart; cut < w.lastEnd; ++cut) {
      SCOPED_TRACE(std::string(name(how)) + " from offset " + std::to_string(cut));
      std::string spoolDir = dir / "spool";
      fs::remove_all(spoolDir);
      fs::copy(dir / "pristine", spoolDir, fs::copy_options::recursive);
      tear(spoolDir + "/segments/000000000001.seg", cut, w.lastEnd, how);

      Spool spool(spoolDir, kSegment);
      auto r = spool.recover(rowsOf(rows));
      EXPECT_TRUE(r.problems.empty()) << r.problems.front();
      EXPECT_TRUE(r.markedDead.empty());
      EXPECT_TRUE(r.restorable.empty()) << r.restorable.front();  // the torn one has no row
      for (int i = 0; i + 1 < kRecords; ++i) {
        ASSERT_EQ(readBack(spoolDir, w.locators[i]), w.messages[i]) << i;
      }
      // The torn one is gone (or, cut at its very first byte with zeros, was never there).
      EXPECT_NE(readBack(spoolDir, w.locators.back()), w.messages.back());
      EXPECT_EQ(r.tail, w.lastStart);
      // Whatever of it reached the disk is zeroed (a cut at its first byte left nothing).
      EXPECT_EQ(r.droppedTail.empty(), cut == w.lastStart && how != Tear::Garbage) << r.droppedTail;
      // New appends work, read back, and nothing is there twice.
      auto again = messageOf(100, 80);
      auto l = appendOne(spool, idOf(100), again);
      ASSERT_EQ(readBack(spoolDir, l), again) << l;
      auto live = liveRecords(spoolDir);
      EXPECT_EQ(live.size(), static_cast<std::size_t>(kRecords));
      EXPECT_EQ(live.count(idOf(kRecords - 1)), 0u);
      EXPECT_EQ(live[idOf(100)], l);
      ++runs;
    }
  }
  EXPECT_EQ(runs, 3 * static_cast<int>(w.lastEnd - w.lastStart));
}

TEST(SpoolRecovery, WholeRecordsBehindATornOneAreZeroedSoThatNoneComesBack) {
  // The last batch was records 2, 3 and 4, never committed: 2 torn, 3 and 4 written whole.
  test::TempDir dir;
  auto w = writeSpool(dir / "spool");
  db::Locator torn;
  db::parseLocator(w.locators[2], torn);
  tear(dir / "spool/segments/000000000001.seg", torn.offset + 120, torn.offset + 121,
       Tear::Garbage);
  std::map<std::string, std::string> rows;
  for (int i = 0; i < 2; ++i) rows[idOf(i)] = w.locators[i];
  Spool spool(dir / "spool", kSegment);
  auto r = spool.recover(rowsOf(rows));
  EXPECT_TRUE(r.problems.empty());
  EXPECT_TRUE(r.markedDead.empty());
  EXPECT_TRUE(r.restorable.empty());
  EXPECT_EQ(r.tail, torn.offset);
  EXPECT_NE(r.droppedTail.find(w.locators[2]), std::string::npos) << r.droppedTail;
  for (int i = 2; i < kRecords; ++i) {
    EXPECT_NE(readBack(dir / "spool", w.locators[i]), w.messages[i]) << i;
  }
  // A short append where the torn record was: the whole ones behind it stay gone.
  auto l = appendOne(spool, idOf(200), "x");
  EXPECT_EQ(l, w.locators[2]);
  rows[idOf(200)] = l;
  Spool third(dir / "spool", kSegment);
  auto r3 = third.recover(rowsOf(rows));
  EXPECT_TRUE(r3.droppedTail.empty()) << r3.droppedTail;
  EXPECT_TRUE(r3.markedDead.empty());
  EXPECT_EQ(r3.tail, torn.offset + test::recordSize(idOf(200), "x"));
  EXPECT_EQ(liveRecords(dir / "spool").size(), 3u);
}

TEST(SpoolRecovery, DamageBeforeRecordsThatHaveRowsIsLeftAloneAndAppendsMoveOn) {
  test::TempDir dir;
  auto w = writeSpool(dir / "spool");
  std::map<std::string, std::string> rows;
  for (int i = 0; i < kRecords; ++i) rows[idOf(i)] = w.locators[i];
  // Record 2's message damaged on disk though it was acknowledged: not a torn write.
  db::Locator third;
  db::parseLocator(w.locators[2], third);
  tear(dir / "spool/segments/000000000001.seg", third.offset + 100, third.offset + 101,
       Tear::Garbage);
  Spool spool(dir / "spool", kSegment);
  auto r = spool.recover(rowsOf(rows));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].find("have rows"), std::string::npos) << r.problems[0];
  EXPECT_TRUE(r.droppedTail.empty());
  EXPECT_EQ(readBack(dir / "spool", w.locators[4]), w.messages[4]);
  auto l = appendOne(spool, idOf(300), "after the damage");
  EXPECT_EQ(l, "segments/000000000002.seg#0");
}
