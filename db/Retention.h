#pragma once
// Retention's side of the queue (issue 17): which of this sink's copies have content due
// to expire, marking it expired, the rows past BccKeepRows, and which files/ entries a
// kept copy still refers to. It decides nothing about bytes on disk: the retention stage
// (sink/retention/RetentionStage) frees the spool records and files these name.
//
// The rules, per copy of this sink whose content is kept (content_expired_at IS NULL),
// walked oldest first through the partial index messages_content (sink, received_at):
//   - clean after keepClean: verdict clean, or unscanned with its report done
//     (report_status none, sent or undeliverable);
//   - flagged after keepFlagged: verdict suspicious or dangerous, spoofed, or failed;
//   - never while it is pending or analyzing, not judged by the reporter yet (report_status
//     NULL, due or held), or held in SMTP mode (holding, deliver, quarantined: the
//     quarantine has its own expiry, SmtpQuarantineDays);
//   - keepRows, when set, caps both: content never outlives its row. 0 = forever.
// Times are ISO 8601 UTC with ms as the rows keep them, which order as text.

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "base/Clock.h"

namespace bccsink::db {

class Database;

struct RetentionRules {
  std::string sink;
  std::chrono::seconds keepClean{0};    // 0 = forever
  std::chrono::seconds keepFlagged{0};  // 0 = forever
  std::chrono::seconds keepRows{0};     // 0 = forever
};

// A copy whose content (or row) is due.
struct ExpiringCopy {
  std::string id;
  std::string spoolFile;
  std::string receivedAt;
  std::string verdict;
  std::int64_t size = 0;
  bool flagged = false;         // kept after keepFlagged rather than keepClean
  bool contentExpired = false;  // rowsDue only: its content went already
};

class Retention {
 public:
  explicit Retention(Database& db);

  // Up to `limit` copies whose content is due at `nowMs`, oldest first.
  std::vector<ExpiringCopy> contentDue(const RetentionRules& rules, std::int64_t nowMs,
                                       std::size_t limit);
  // Disk pressure: the oldest clean copies whose content is kept, whatever their age (the
  // same guards: judged, not held).
  std::vector<ExpiringCopy> oldestClean(const std::string& sink, std::size_t limit);
  // Records that their content is gone (only rows still marked kept); how many changed.
  std::size_t markContentExpired(const std::vector<std::string>& ids, const std::string& nowIso);

  // Up to `limit` rows of `sink` received before now - keepRows, oldest first, not pending,
  // analyzing, unjudged or held; none when keepRows is 0.
  std::vector<ExpiringCopy> rowsDue(const RetentionRules& rules, std::int64_t nowMs,
                                    std::size_t limit);
  // Deletes these rows (their recipients, files, hold and retro_messages rows cascade) and
  // the retro alerts created before `beforeMs` that have no message left. Rows deleted.
  std::size_t deleteRows(const std::vector<std::string>& ids, std::int64_t beforeMs);

  // The distinct SHA-256 of the files of these copies.
  std::vector<std::string> filesOf(const std::vector<std::string>& ids);
  // Of `sha256s`, those a copy of `sink` whose content is kept still refers to, and those
  // seen (files.last_seen) since `seenSinceIso`: a copy being extracted right now may use
  // a stored file before its message_files row commits.
  std::set<std::string> stillReferenced(const std::string& sink,
                                        const std::vector<std::string>& sha256s,
                                        const std::string& seenSinceIso);

 private:
  Database& db_;
};

// (ISO times of ms since the epoch: base/Clock.h's isoOfMs.)
using bccsink::isoOfMs;

}  // namespace bccsink::db
