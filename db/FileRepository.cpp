#include "db/FileRepository.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <algorithm>
#include <memory>
#include <string_view>

#include "base/Text.h"
#include "db/Columns.h"
#include "db/Database.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {
namespace {

std::vector<std::string> splitLines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

const char* kVerdictColumns =
    "sha256, analyzer, verdict, score, threats, report_url, task_id, reason, decided_at, "
    "decided_ms";

StoredVerdict readVerdict(RecordSet& rs) {
  StoredVerdict v;
  v.sha256 = text(rs, "sha256");
  v.analyzer = text(rs, "analyzer");
  v.verdict = text(rs, "verdict");
  v.score = static_cast<int>(integer(rs, "score"));
  v.threats = splitLines(text(rs, "threats"));
  v.reportUrl = text(rs, "report_url");
  v.taskId = text(rs, "task_id");
  v.reason = text(rs, "reason");
  v.decidedAt = text(rs, "decided_at");
  v.decidedMs = integer(rs, "decided_ms");
  return v;
}

bool fresh(const StoredVerdict& v, const Freshness& f, std::int64_t nowMs) {
  const auto age = nowMs - v.decidedMs;
  if (v.verdict == "clean") return f.cleanMaxAgeMs == 0 || age < f.cleanMaxAgeMs;
  if (v.verdict == "unscanned") return f.unscannedMaxAgeMs > 0 && age < f.unscannedMaxAgeMs;
  return true;  // suspicious and dangerous stand
}

// PostgreSQL's READ COMMITTED lets another sink's recordVerdict (verdict in, submission
// deleted) commit between claimSubmission's read of the verdict and its upsert, and the
// file would be submitted twice. So on PostgreSQL both take this per-file lock first,
// released at commit; SQLite's BEGIN IMMEDIATE serialises every writer already.
void lockSubmission(Database& db, const std::string& sha256, const std::string& analyzer) {
  if (db.engine() != Engine::Postgresql) return;
  std::string key = sha256, name = analyzer;
  db.session() << db.sql(
      "SELECT pg_advisory_xact_lock(hashtextextended("
      "CAST(? AS TEXT) || '/' || CAST(? AS TEXT), 0))"),
      use(key), use(name), now;
}

}  // namespace

FileRepository::FileRepository(Database& db) : db_(db) {}

void FileRepository::recordSeen(const std::vector<FileRow>& files, const std::string& nowIso,
                                bool newArrival) {
  if (files.empty()) return;
  // Bound as columns: one prepared statement for every file (see MessageQueue::insertPending).
  std::vector<std::string> sha256, md5, trueType, description, family, seen;
  std::vector<Poco::Int64> size, bump;
  for (const auto& f : files) {
    sha256.push_back(f.sha256);
    md5.push_back(f.md5);
    size.push_back(f.size);
    trueType.push_back(storedText(f.trueType));
    description.push_back(storedText(f.description));
    family.push_back(storedText(f.family));
    seen.push_back(nowIso);
    bump.push_back(newArrival ? 1 : 0);
  }
  WriteTransaction tx(db_);
  ReusedStatement stmt(db_);
  *stmt << db_.sql(
      "INSERT INTO files (sha256, md5, size, true_type, description, family,"
      " first_seen, last_seen, seen_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)"
      " ON CONFLICT (sha256) DO UPDATE SET last_seen = excluded.last_seen,"
      " seen_count = files.seen_count + ?"),
      use(sha256), use(md5), use(size), use(trueType), use(description), use(family), use(seen),
      use(seen), use(bump);
  stmt.execute();
  tx.commit();
}

std::optional<FileRow> FileRepository::find(const std::string& sha256) {
  std::string key = sha256;
  Statement stmt(db_.session());
  stmt << db_.sql(
      "SELECT sha256, md5, size, true_type, description, family, first_seen,"
      " last_seen, seen_count FROM files WHERE sha256 = ?"),
      use(key);
  stmt.execute();
  RecordSet rs(stmt);
  if (!rs.moveFirst()) return std::nullopt;
  FileRow f;
  f.sha256 = text(rs, "sha256");
  f.md5 = text(rs, "md5");
  f.size = integer(rs, "size");
  f.trueType = text(rs, "true_type");
  f.description = text(rs, "description");
  f.family = text(rs, "family");
  f.firstSeen = text(rs, "first_seen");
  f.lastSeen = text(rs, "last_seen");
  f.seenCount = integer(rs, "seen_count");
  return f;
}

std::optional<StoredVerdict> FileRepository::freshVerdict(const std::string& sha256,
                                                          const std::string& analyzer,
                                                          const Freshness& freshness,
                                                          std::int64_t nowMs) {
  std::string key = sha256, name = analyzer;
  Statement stmt(db_.session());
  stmt << db_.sql(std::string("SELECT ") + kVerdictColumns +
                  " FROM file_verdicts WHERE sha256 = ? AND analyzer = ?"),
      use(key), use(name);
  stmt.execute();
  RecordSet rs(stmt);
  if (!rs.moveFirst()) return std::nullopt;
  auto v = readVerdict(rs);
  if (!fresh(v, freshness, nowMs)) return std::nullopt;
  return v;
}

std::vector<StoredVerdict> FileRepository::verdicts(const std::string& sha256) {
  std::string key = sha256;
  Statement stmt(db_.session());
  stmt << db_.sql(std::string("SELECT ") + kVerdictColumns +
                  " FROM file_verdicts WHERE sha256 = ? ORDER BY analyzer"),
      use(key);
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<StoredVerdict> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(readVerdict(rs));
  return out;
}

bool FileRepository::claimSubmission(const std::string& sha256, const std::string& analyzer,
                                     const std::string& owner, const Freshness& freshness,
                                     std::int64_t nowMs, std::int64_t leaseUntilMs) {
  WriteTransaction tx(db_);
  lockSubmission(db_, sha256, analyzer);
  // Under the lock: a verdict that arrived since the caller looked wins.
  if (freshVerdict(sha256, analyzer, freshness, nowMs)) return false;
  std::string key = sha256, name = analyzer, who = owner;
  Poco::Int64 until = leaseUntilMs, at = nowMs;
  std::vector<std::string> claimed;
  // Inserted, or taken over from a lease that ran out (its sink died or gave up); a live
  // lease returns no row.
  db_.session() << db_.sql(
      "INSERT INTO file_submissions (sha256, analyzer, owner, lease_until)"
      " VALUES (?, ?, ?, ?) ON CONFLICT (sha256, analyzer) DO UPDATE SET"
      " owner = excluded.owner, lease_until = excluded.lease_until"
      " WHERE file_submissions.lease_until < ? RETURNING owner"),
      use(key), use(name), use(who), use(until), use(at), into(claimed), now;
  tx.commit();
  return !claimed.empty();
}

void FileRepository::recordVerdict(const StoredVerdict& v) {
  std::string sha256 = v.sha256, analyzer = v.analyzer, verdict = storedText(v.verdict),
              decidedAt = storedText(v.decidedAt);
  std::vector<std::string> names;
  for (const auto& t : v.threats) names.push_back(storedText(t));
  std::string threats = join(names, "\n");
  Poco::Nullable<std::string> reportUrl = nullIfEmpty(storedText(v.reportUrl)),
                              taskId = nullIfEmpty(storedText(v.taskId)),
                              reason = nullIfEmpty(storedText(v.reason));
  int score = v.score;
  Poco::Int64 decidedMs = v.decidedMs;
  WriteTransaction tx(db_);
  lockSubmission(db_, sha256, analyzer);
  auto& s = db_.session();
  s << db_.sql(std::string("INSERT INTO file_verdicts (") + kVerdictColumns +
               ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256, analyzer) DO UPDATE"
               " SET verdict = excluded.verdict, score = excluded.score,"
               " threats = excluded.threats, report_url = excluded.report_url,"
               " task_id = excluded.task_id, reason = excluded.reason,"
               " decided_at = excluded.decided_at, decided_ms = excluded.decided_ms"),
      use(sha256), use(analyzer), use(verdict), use(score), use(threats), use(reportUrl),
      use(taskId), use(reason), use(decidedAt), use(decidedMs), now;
  s << db_.sql("DELETE FROM file_submissions WHERE sha256 = ? AND analyzer = ?"), use(sha256),
      use(analyzer), now;
  tx.commit();
}

void FileRepository::releaseSubmission(const std::string& sha256, const std::string& analyzer,
                                       const std::string& owner) {
  // No per-file lock: deleting only this owner's row cannot let anyone submit twice (a
  // claimer that finds the row still there simply claims again later).
  std::string key = sha256, name = analyzer, who = owner;
  WriteTransaction tx(db_);
  db_.session() << db_.sql(
      "DELETE FROM file_submissions WHERE sha256 = ? AND analyzer = ?"
      " AND owner = ?"),
      use(key), use(name), use(who), now;
  tx.commit();
}

int FileRepository::releaseSubmissionsOf(const std::string& owner) {
  std::string who = owner;
  WriteTransaction tx(db_);
  Statement stmt(db_.session());
  stmt << db_.sql("DELETE FROM file_submissions WHERE owner = ?"), use(who);
  auto n = stmt.execute();
  tx.commit();
  return static_cast<int>(n);
}

std::int64_t FileRepository::submissionsInFlight() {
  Poco::Int64 n = 0;
  db_.session() << db_.sql("SELECT COUNT(*) FROM file_submissions"), into(n), now;
  return n;
}

}  // namespace bccsink::db
