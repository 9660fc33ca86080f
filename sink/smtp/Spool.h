#pragma once
// The spool under DataDir/spool. A message of up to kMaxRecordMessage bytes is a record
// (db/SpoolRecord.h) appended to the current segment, segments/NNNNNNNNNNNN.seg: the group
// committer appends a whole batch with one pwritev and one fdatasync. Segments are
// zero-filled ahead of use (SegmentPreparer, asked once the current one is half full), so
// that fdatasync flushes data only. When a
// batch would pass the segment's size, the spool moves on to the next segment first; a
// batch is never split across two. A larger message is a standalone file, ID.eml
// (SpoolFile). A row's spool_file column holds the locator of either.
//
// A record carries its row's envelope (version 2): it is the write-ahead log of the row,
// so the intake may commit rows without waiting for the database's own fsync.
//
// After a crash, recover() finds where the current segment's good records end (header and
// envelope checksums, then each message's SHA-256): a torn tail, never acknowledged, is
// zeroed. A live record that no row names had its 250 once its record was on disk and its
// row committed, and lost that commit with the machine: recovery keeps its row to be
// restored (takeRestorable(), which the group committer inserts before it takes new
// messages). Records from before envelopes (version 1) that no row names, and records whose
// id has a row elsewhere, are marked dead. So whatever deletes a row (retention) must mark
// its record dead first, or a restart in the same segments restores it. Only the
// committer's thread appends.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "db/SpoolRecord.h"
#include "sink/smtp/SpoolFile.h"

namespace bccsink {

class SegmentPreparer;

// A message to append as a record.
struct RecordInput {
  std::string_view id;
  std::string_view bytes;
  db::Sha256 sha256;
  std::string_view envelope;  // db::encodeEnvelope of its row; '' writes a version 1 record
};

// What recover() found and did, for the log.
struct SpoolRecovery {
  std::vector<std::string> removedTemporaries;  // unfinished standalone files
  std::string segment;                          // where appends continue
  std::uint64_t tail = 0;                       // at this offset
  std::string droppedTail;              // '' or the torn tail zeroed: where, why, how many bytes
  std::vector<std::string> markedDead;  // locators of records without a row
  std::vector<std::string> restorable;  // locators of records whose rows are to be restored
  std::vector<std::string> problems;    // what recovery found and left alone
};

class Spool {
 public:
  static constexpr std::uint64_t kDefaultSegmentSize = 64ull << 20;
  // The largest message kept as a record; larger ones get a file of their own.
  static constexpr std::size_t kMaxRecordMessage = 1 << 20;
  // For the ids given, the locator of those that have a row (db/SpoolRows).
  using RowLookup =
      std::function<std::map<std::string, std::string>(const std::vector<std::string>& ids)>;

  // Creates DataDir/spool and its segments folder when missing; throws on failure.
  explicit Spool(std::string dir, std::uint64_t segmentSize = kDefaultSegmentSize);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // At start, before the first append (which otherwise calls it without `rows`: records
  // without a row are then left alone, and a damaged tail with valid records after it is
  // not zeroed but left for a new segment). Throws when the spool cannot be used.
  SpoolRecovery recover(const RowLookup& rows);

  // The rows of the records recover() found without one, each with its locator, as the
  // intake would have committed them; taken once (later calls return nothing).
  std::vector<db::MessageRecord> takeRestorable();

  // Appends every record in one write and one fdatasync, into the current segment or,
  // when they would not fit, the next one. Their locators, in order, in `locators`.
  // False with the reason when any part failed: then none of them may be acknowledged,
  // and `locators` names those that may have reached the segment (to be marked dead).
  bool append(const std::vector<RecordInput>& records, std::vector<std::string>& locators,
              std::string& error);
  // Marks records dead (a batch whose rows were not committed) and syncs them.
  bool markDead(const std::vector<std::string>& locators, std::string& error);

  // A standalone file for message `id`; check its error().
  std::unique_ptr<SpoolFile> create(const std::string& id);
  // fsync of the spool folder: makes the renames of finished standalone files durable.
  bool syncDirectory(std::string& error);

  const std::string& dir() const { return dir_; }
  std::uint64_t segmentSize() const { return segmentSize_; }
  // Free bytes for unprivileged writers on the spool's file system.
  std::uint64_t freeBytes() const;
  // The finished standalone files ("ID.eml"), for the consistency check.
  std::vector<std::string> files() const;
  // The segments, oldest first ("segments/000000000001.seg").
  std::vector<std::string> segments() const;
  // Rotations that had to wait for the next segment to be prepared.
  std::uint64_t rotationStalls() const;

 private:
  bool rotate(std::string& error);
  bool openSegment(std::uint64_t number, std::uint64_t used, std::string& error);
  std::string segmentPath(std::uint64_t number) const;
  void prepareAheadIfHalfFull();

  std::string dir_;
  std::string segmentsDir_;
  std::uint64_t segmentSize_;
  int dirFd_ = -1;
  int segmentsFd_ = -1;
  std::unique_ptr<SegmentPreparer> preparer_;
  bool recovered_ = false;
  // The current segment.
  int fd_ = -1;
  std::uint64_t number_ = 0;
  std::uint64_t used_ = 0;
  std::uint64_t capacity_ = 0;
  bool mustRotate_ = false;      // the current segment is not to be appended to any more
  std::uint64_t preparing_ = 0;  // the segment asked of the preparer last
  std::vector<db::MessageRecord> restorable_;
};

}  // namespace bccsink
