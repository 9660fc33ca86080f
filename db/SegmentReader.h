#pragma once
// Walks the records of one spool segment front to back (db/SpoolRecord.h), checking each
// header and each live record's envelope checksum and, when asked, each live message
// against its SHA-256. Used by the spool's
// recovery (where does the good data end?) and by `queue list --check`.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/MappedFile.h"
#include "db/SpoolRecord.h"

namespace bccsink::db {

class SegmentReader {
 public:
  enum class Verify { Headers, Messages };
  // Maps the segment; throws std::runtime_error naming it when it cannot.
  SegmentReader(const std::string& path, Verify verify);

  // The next record (live or dead); false once the records end, cleanly or not.
  bool next(RecordHeader& out);
  // After next() returned false: where the records end (the next one would go there).
  std::uint64_t tail() const { return offset_; }
  // Why the walk stopped short of a clean end ('' when it ended at an all-zero header or at
  // the end of the file): a torn or damaged record at tail().
  const std::string& damage() const { return damage_; }
  // Whether every byte from tail() to the end of the file is 0 (a clean end also needs
  // this: stale bytes of a torn batch may lie beyond an all-zero header).
  bool zeroFromTail() const;
  std::uint64_t size() const { return bytes_.size(); }
  std::string_view bytes() const { return bytes_; }
  // The envelope block of a record next() returned ('' for version 1).
  std::string_view envelope(const RecordHeader& h) const;

 private:
  MappedFile file_;
  std::string_view bytes_;
  Verify verify_;
  std::uint64_t offset_ = 0;
  bool ended_ = false;
  std::string damage_;
};

}  // namespace bccsink::db
