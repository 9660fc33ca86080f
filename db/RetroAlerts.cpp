#include "db/RetroAlerts.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <map>

#include "base/Text.h"
#include "db/Columns.h"
#include "db/Database.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {
namespace {

const char* kVerdicts[] = {"clean", "unscanned", "suspicious", "dangerous"};

// The same key as FileRepository's per-file lock (its recordVerdict takes it too), so
// two sinks that record one change one after the other judge its messages one after the
// other: the second finds them judged already and makes no alert. SQLite's BEGIN IMMEDIATE
// serialises every writer already.
void lockFile(Database& db, const std::string& sha256, const std::string& analyzer) {
  if (db.engine() != Engine::Postgresql) return;
  std::string key = sha256, name = analyzer;
  db.session() << db.sql(
      "SELECT pg_advisory_xact_lock(hashtextextended("
      "CAST(? AS TEXT) || '/' || CAST(? AS TEXT), 0))"),
      use(key), use(name), now;
}

// One message that carried the file, as it was judged.
struct Carrier {
  std::string id, verdict, checkedAt, path;
};

// "<received>/<sha256>" split; false for ''.
bool splitCursor(const std::string& cursor, std::string& received, std::string& sha256) {
  auto slash = cursor.rfind('/');
  if (cursor.empty() || slash == std::string::npos) return false;
  received = cursor.substr(0, slash);
  sha256 = cursor.substr(slash + 1);
  return true;
}

// The window's messages of a sink, newest first, after the cursor when `from`: on the
// partial index messages_content (kept ones) or messages_received (all), each query
// reading only the rows it returns.
std::string windowMessages(bool keptOnly, bool from) {
  std::string q = "SELECT id, received_at FROM messages WHERE sink = ? AND received_at >= ?";
  if (keptOnly) q += " AND content_expired_at IS NULL";
  if (from) q += " AND (received_at < ? OR (received_at = ? AND id < ?))";
  return q;
}

}  // namespace

int retroRank(const std::string& verdict) {
  for (int i = 0; i < 4; ++i) {
    if (verdict == kVerdicts[i]) return i;
  }
  return -1;
}

RetroAlerts::RetroAlerts(Database& db) : db_(db) {}

std::optional<RetroOutcome> RetroAlerts::recordWorse(const WorseVerdict& change) {
  const int rank = retroRank(change.verdict);
  const int threshold = retroRank(change.threshold);
  if (rank < 2) return std::nullopt;  // only suspicious and dangerous turn messages worse
  WriteTransaction tx(db_);
  lockFile(db_, change.sha256, change.analyzer);
  auto& s = db_.session();

  std::string sha256 = change.sha256, since = change.windowStartIso;
  Statement find(s);
  find << db_.sql(
      "SELECT m.id, m.verdict AS msg_verdict, COALESCE(m.checked_at, m.updated_at) AS judged,"
      " f.position, f.verdict AS file_verdict, f.path"
      " FROM message_files f JOIN messages m ON m.id = f.msg_id"
      " WHERE f.sha256 = ? AND f.verdict IS NOT NULL AND m.received_at >= ?"
      " AND m.state IN ('checked', 'reported', 'failed')"
      " ORDER BY m.received_at, m.id, f.position"),
      use(sha256), use(since);
  find.execute();
  RecordSet rs(find);
  std::vector<Carrier> carriers;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    if (retroRank(text(rs, "file_verdict")) >= rank) continue;  // as bad already
    auto id = text(rs, "id");
    if (carriers.empty() || carriers.back().id != id) {
      Carrier c;
      c.id = id;
      c.verdict = text(rs, "msg_verdict");
      if (retroRank(c.verdict) < 0) c.verdict = "unscanned";  // a failed one without
      c.checkedAt = text(rs, "judged");
      c.path = text(rs, "path");
      carriers.push_back(std::move(c));
    }
  }
  std::vector<std::string> names;
  // An analyzer sizes the list (vxCube: every rule of every task): the first 20, one line
  // each, so that the reason and the report stay readable and a name holds no newline.
  for (std::size_t i = 0; i < change.threats.size() && i < 20; ++i)
    names.push_back(storedText(oneLineUtf8(change.threats[i], 200)));
  std::string reason = storedText("retro: " + change.analyzer + " " +
                                  (names.empty() ? change.verdict : join(names, ", ")));
  std::string threats = join(names, "\n");
  std::string verdict = change.verdict, nowIso = change.nowIso, alertId = change.alertId;

  // The file's places in the window's messages whose verdict ranks below the new one, in one
  // statement: the judged ones (the carriers above) and those of messages still being
  // analysed that decided this file already (the pipeline writes a file's verdict before
  // its message completes, and never looks at it again), so that their completion, the
  // worst of their files, judges with it; no alert for those, they were not judged yet.
  // The verdicts ranked below are literals of kVerdicts, not input.
  std::string lower;
  for (int i = 0; i < rank; ++i) lower += std::string(i ? ", '" : "'") + kVerdicts[i] + "'";
  s << db_.sql(
      "UPDATE message_files SET verdict = ?, reason = ? WHERE sha256 = ?"
      " AND verdict IN (" +
      lower + ") AND msg_id IN (SELECT id FROM messages WHERE received_at >= ?)"),
      use(verdict), use(reason), use(sha256), use(since), now;
  if (carriers.empty()) {
    tx.commit();
    return std::nullopt;
  }

  RetroOutcome out;
  out.alertId = change.alertId;
  out.messages = static_cast<int>(carriers.size());
  for (const auto& c : carriers) {
    const int before = retroRank(c.verdict);
    // Crossing the threshold from below, or worse while at or above it: either way the
    // message now is at or above it and worse than it was.
    if (rank > before && rank >= threshold) out.due = true;
  }
  std::string status = out.due ? "due" : "none", sink = change.sink, analyzer = change.analyzer,
              cause = change.cause;
  Poco::Int64 createdMs = change.nowMs;
  s << db_.sql(
      "INSERT INTO retro_alerts (id, sink, sha256, analyzer, verdict, threats, cause,"
      " created_at, created_ms, report_status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      use(alertId), use(sink), use(sha256), use(analyzer), use(verdict), use(threats), use(cause),
      use(nowIso), use(createdMs), use(status), now;

  for (const auto& c : carriers) {
    std::string id = c.id;
    std::string earlier = c.verdict, checkedAt = c.checkedAt, path = c.path;
    std::string worst = retroRank(c.verdict) >= rank ? c.verdict : change.verdict;
    s << db_.sql("UPDATE messages SET verdict = ?, updated_at = ? WHERE id = ?"), use(worst),
        use(nowIso), use(id), now;
    s << db_.sql(
        "INSERT INTO retro_messages (alert_id, msg_id, earlier_verdict, earlier_checked_at,"
        " verdict, file_path) VALUES (?, ?, ?, ?, ?, ?)"),
        use(alertId), use(id), use(earlier), use(checkedAt), use(worst), use(path), now;
  }
  tx.commit();
  return out;
}

std::optional<AnalyzerGeneration> RetroAlerts::generation(const std::string& sink,
                                                          const std::string& analyzer) {
  std::string who = sink, name = analyzer;
  Statement stmt(db_.session());
  stmt << db_.sql(
      "SELECT generation, changed_ms, recheck_cursor FROM analyzer_generations"
      " WHERE sink = ? AND analyzer = ?"),
      use(who), use(name);
  stmt.execute();
  RecordSet rs(stmt);
  if (!rs.moveFirst()) return std::nullopt;
  AnalyzerGeneration g;
  g.generation = text(rs, "generation");
  g.changedMs = integer(rs, "changed_ms");
  if (!rs["recheck_cursor"].isEmpty()) g.cursor = text(rs, "recheck_cursor");
  return g;
}

void RetroAlerts::setGeneration(const std::string& sink, const std::string& analyzer,
                                const AnalyzerGeneration& g) {
  std::string who = sink, name = analyzer, generation = g.generation;
  Poco::Int64 changed = g.changedMs;
  Poco::Nullable<std::string> cursor;
  if (g.cursor) cursor = *g.cursor;
  WriteTransaction tx(db_);
  db_.session() << db_.sql(
      "INSERT INTO analyzer_generations (sink, analyzer, generation, changed_ms,"
      " recheck_cursor) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sink, analyzer) DO UPDATE SET"
      " generation = excluded.generation, changed_ms = excluded.changed_ms,"
      " recheck_cursor = excluded.recheck_cursor"),
      use(who), use(name), use(generation), use(changed), use(cursor), now;
  tx.commit();
}

void RetroAlerts::setCursor(const std::string& sink, const std::string& analyzer,
                            const std::optional<std::string>& cursor) {
  std::string who = sink, name = analyzer;
  Poco::Nullable<std::string> value;
  if (cursor) value = *cursor;
  WriteTransaction tx(db_);
  db_.session() << db_.sql(
      "UPDATE analyzer_generations SET recheck_cursor = ? WHERE sink = ? AND analyzer = ?"),
      use(value), use(who), use(name), now;
  tx.commit();
}

std::vector<RecheckFile> RetroAlerts::recheckBatch(const std::string& sink,
                                                   const std::string& windowStartIso,
                                                   const std::string& cursor, std::size_t limit,
                                                   bool keptOnly) {
  std::string who = sink, since = windowStartIso, received, after;
  const bool from = splitCursor(cursor, received, after);
  // LEFT JOIN: a message without a file to re-check still moves the cursor.
  std::string q = "SELECT m.id, m.received_at, f.sha256 FROM (" + windowMessages(keptOnly, from) +
                  " ORDER BY received_at DESC, id DESC LIMIT " + std::to_string(limit) +
                  ") m LEFT JOIN message_files f ON f.msg_id = m.id AND f.sha256 IS NOT NULL";
  if (keptOnly) q += " AND f.selected = 1";
  q += " ORDER BY m.received_at DESC, m.id DESC, f.position";
  Statement stmt(db_.session());
  stmt << db_.sql(q), use(who), use(since);
  if (from) stmt, use(received), use(received), use(after);
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<RecheckFile> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext())
    out.push_back({text(rs, 2), text(rs, 1) + "/" + text(rs, 0)});
  return out;
}

std::int64_t RetroAlerts::recheckRemaining(const std::string& sink,
                                           const std::string& windowStartIso,
                                           const std::string& cursor, bool keptOnly) {
  std::string who = sink, since = windowStartIso, received, after;
  const bool from = splitCursor(cursor, received, after);
  std::string q = "SELECT COUNT(DISTINCT f.sha256) FROM (" + windowMessages(keptOnly, from) +
                  ") m JOIN message_files f ON f.msg_id = m.id AND f.sha256 IS NOT NULL";
  if (keptOnly) q += " AND f.selected = 1";
  Poco::Int64 n = 0;
  Statement stmt(db_.session());
  stmt << db_.sql(q), use(who), use(since);
  if (from) stmt, use(received), use(received), use(after);
  stmt, into(n);
  stmt.execute();
  return n;
}

}  // namespace bccsink::db
