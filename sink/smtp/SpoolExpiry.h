#pragma once
// Frees the spool's bytes of copies whose content expired (retention, issue 17), beside a
// running group committer.
//
// A record is marked dead first (its magic rewritten, fdatasync'd): recovery restores a
// live record that no row names, so a record whose row may go must be dead before it
// does. Then the page-aligned interior of its message is punched out
// (fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)): the header and the envelope stay,
// and so does every byte of the next record, because recovery and `queue list --check`
// walk from header to header; a dead record's message is never checked against its
// SHA-256. A file system without hole punching (EOPNOTSUPP) frees nothing then; that is not
// an error. A segment with no live record left is unlinked unless a later segment holds a
// record (so it is never the one the committer appends to). A standalone ID.eml is
// unlinked. Only records with rows are touched, all of them before the current segment's
// tail, so the committer's appends (after the tail) and this never write the same bytes.

#include <cstdint>
#include <string>
#include <vector>

namespace bccsink {

// A copy whose spool content is to go: its queue id and its row's locator.
struct ExpiringContent {
  std::string id;
  std::string locator;
};

struct SpoolExpiryResult {
  std::uint64_t bytesFreed = 0;  // blocks the file system gave back (st_blocks)
  std::size_t records = 0;       // records marked dead (or found dead already)
  std::size_t files = 0;         // standalone files unlinked (or found gone)
  std::vector<std::string> segmentsRemoved;
  std::vector<std::string> problems;  // what was left alone, and why
};

class SpoolExpiry {
 public:
  explicit SpoolExpiry(std::string spoolDir);

  // Frees the content of these copies. False when a record could not be marked dead: its
  // row must then keep saying the content is there (the caller leaves it for later); the
  // locators of the copies that are done in `done` (every one when it returns true).
  bool expire(const std::vector<ExpiringContent>& copies, SpoolExpiryResult& result,
              std::vector<std::string>& done);

  // Test hook: pretend the file system cannot punch holes.
  void disablePunchForTest() { punch_ = false; }

 private:
  bool removeIfAllDead(const std::string& segment, SpoolExpiryResult& result);

  std::string dir_;
  bool punch_ = true;
};

}  // namespace bccsink
