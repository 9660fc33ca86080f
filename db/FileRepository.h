#pragma once
// The verdict cache (DESIGN.md, "Data flow"): one row per distinct file (SHA-256) and one
// verdict per file and analyzer, shared by every sink, so a file is analysed once across
// the site. A submission in flight is a row with a lease: the claimer that gets it
// submits, everyone else waits for its verdict, and a lease that runs out (a sink died
// mid-analysis) lets the next claimer take over.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bccsink::db {

class Database;

struct FileRow {
  std::string sha256, md5;
  std::int64_t size = 0;
  std::string trueType, description, family;
  std::string firstSeen, lastSeen;  // ISO 8601 UTC (read back only)
  std::int64_t seenCount = 0;       // messages it arrived in (read back only)
};

struct StoredVerdict {
  std::string sha256, analyzer;
  std::string verdict;  // clean, suspicious, dangerous, unscanned
  int score = 0;
  std::vector<std::string> threats;
  std::string reportUrl, taskId, reason;
  std::string decidedAt;       // ISO 8601 UTC
  std::int64_t decidedMs = 0;  // ms since the epoch
};

// How long a stored verdict answers for a new message. Suspicious and dangerous ones
// never expire; clean ones may (new signatures); unscanned ones (analyzer unreachable,
// file it cannot take) are kept briefly, so a burst of copies of one file does not
// hammer an analyzer that just failed on it.
struct Freshness {
  std::int64_t cleanMaxAgeMs = 0;      // 0 = never expires
  std::int64_t unscannedMaxAgeMs = 0;  // 0 = never reused
};

class FileRepository {
 public:
  explicit FileRepository(Database& db);

  // Inserts new files; bumps last_seen and, when `newArrival` (not a message claimed
  // again), seen_count of known ones. One transaction.
  void recordSeen(const std::vector<FileRow>& files, const std::string& nowIso,
                  bool newArrival = true);
  std::optional<FileRow> find(const std::string& sha256);

  // The analyzer's stored verdict on the file if it still answers at `nowMs`.
  std::optional<StoredVerdict> freshVerdict(const std::string& sha256, const std::string& analyzer,
                                            const Freshness& freshness, std::int64_t nowMs);
  // Every analyzer's stored verdict on the file, by analyzer name.
  std::vector<StoredVerdict> verdicts(const std::string& sha256);

  // True when the caller should submit the file to the analyzer: no fresh verdict and no
  // submission in flight whose lease still runs, or one whose lease ran out (its sink died:
  // this one takes it over). Right with many claimers on several sinks: a write
  // transaction, on PostgreSQL under a per-file lock that recordVerdict takes too.
  bool claimSubmission(const std::string& sha256, const std::string& analyzer,
                       const std::string& owner, const Freshness& freshness, std::int64_t nowMs,
                       std::int64_t leaseUntilMs);
  // Stores the verdict (replacing the analyzer's earlier one) and ends the submission.
  void recordVerdict(const StoredVerdict& verdict);
  // Ends `owner`'s submission without a verdict (shutting down).
  void releaseSubmission(const std::string& sha256, const std::string& analyzer,
                         const std::string& owner);
  // Every submission `owner` holds (a restarted sink takes them back at start).
  int releaseSubmissionsOf(const std::string& owner);
  // Submissions in flight (for tests and metrics).
  std::int64_t submissionsInFlight();

 private:
  Database& db_;
};

}  // namespace bccsink::db
