#include "db/StatsRepository.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <algorithm>
#include <string_view>

#include "base/Text.h"
#include "db/Columns.h"
#include "db/Database.h"
#include "db/MessageRecord.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {
namespace {

// The interval's messages, as a condition on `m` (bound: sink, start, end).
const char* kInInterval = "m.sink = ? AND m.received_at >= ? AND m.received_at < ?";

const char* kRowColumns = "sink, start_ms, end_ms, computed_at, counters, exported_at";

std::vector<StatsRow> statsRows(Statement& stmt) {
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<StatsRow> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    StatsRow r;
    r.sink = text(rs, 0);
    r.startMs = integer(rs, 1);
    r.endMs = integer(rs, 2);
    r.computedAt = text(rs, 3);
    r.counters = text(rs, 4);
    r.exportedAt = text(rs, 5);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

StatsRepository::StatsRepository(Database& db) : db_(db) {}

IntervalRows StatsRepository::rowsIn(const std::string& sink, const std::string& startIso,
                                     const std::string& endIso) {
  auto& s = db_.session();
  std::string owner = sink, from = startIso, to = endIso;
  IntervalRows out;
  {
    Statement stmt =
        (s << db_.sql(std::string("SELECT m.id, m.received_at,"
                                  " COALESCE(m.origin_ip, m.client_ip), m.state, m.verdict,"
                                  " m.size, (SELECT COUNT(*) FROM message_recipients r"
                                  " WHERE r.msg_id = m.id) FROM messages m WHERE ") +
                      kInInterval + " ORDER BY m.received_at, m.id"),
         use(owner), use(from), use(to));
    stmt.execute();
    RecordSet rs(stmt);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      StatsMessage m;
      m.id = text(rs, 0);
      m.receivedAt = text(rs, 1);
      m.ip = text(rs, 2);
      m.state = text(rs, 3);
      m.verdict = text(rs, 4);
      m.size = integer(rs, 5);
      m.recipients = integer(rs, 6);
      out.messages.push_back(std::move(m));
    }
  }
  {
    Statement stmt =
        (s << db_.sql(std::string("SELECT mf.msg_id, mf.name, mf.path, mf.extension,"
                                  " mf.extension_mismatch, mf.size, mf.selected, mf.sha256,"
                                  " f.true_type, f.family FROM message_files mf"
                                  " JOIN messages m ON m.id = mf.msg_id"
                                  " LEFT JOIN files f ON f.sha256 = mf.sha256 WHERE ") +
                      kInInterval + " ORDER BY mf.msg_id, mf.position"),
         use(owner), use(from), use(to));
    stmt.execute();
    RecordSet rs(stmt);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      StatsFile f;
      f.msgId = text(rs, 0);
      f.name = text(rs, 1);
      f.path = text(rs, 2);
      f.extension = text(rs, 3);
      f.extensionMismatch = integer(rs, 4) != 0;
      f.size = integer(rs, 5);
      f.selected = integer(rs, 6) != 0;
      f.sha256 = text(rs, 7);
      f.trueType = text(rs, 8);
      f.family = text(rs, 9);
      out.files.push_back(std::move(f));
    }
  }
  {
    Statement stmt =
        (s << db_.sql(std::string("SELECT v.sha256, v.analyzer, v.verdict, v.decided_ms"
                                  " FROM file_verdicts v WHERE v.sha256 IN"
                                  " (SELECT mf.sha256 FROM message_files mf"
                                  " JOIN messages m ON m.id = mf.msg_id"
                                  " WHERE mf.selected = 1 AND ") +
                      kInInterval + ") ORDER BY v.sha256, v.analyzer"),
         use(owner), use(from), use(to));
    stmt.execute();
    RecordSet rs(stmt);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      out.verdicts.push_back({text(rs, 0), text(rs, 1), text(rs, 2), integer(rs, 3)});
    }
  }
  return out;
}

std::int64_t StatsRepository::unjudgedIn(const std::string& sink, const std::string& startIso,
                                         const std::string& endIso) {
  std::string owner = sink, from = startIso, to = endIso, held = report_status::kHeld;
  std::int64_t n = 0;
  // An SMTP-mode message waiting for its action is not judged yet either.
  db_.session() << db_.sql(std::string("SELECT COUNT(*) FROM messages m WHERE ") + kInInterval +
                           " AND (m.report_status IS NULL OR m.report_status = ?)"),
      use(owner), use(from), use(to), use(held), into(n), now;
  return n;
}

std::string StatsRepository::oldestReceivedSince(const std::string& sink,
                                                 const std::string& sinceIso) {
  std::string owner = sink, from = sinceIso;
  Poco::Nullable<std::string> oldest;
  db_.session() << db_.sql(
      "SELECT MIN(received_at) FROM messages WHERE sink = ?"
      " AND received_at >= ?"),
      use(owner), use(from), into(oldest), now;
  return oldest.isNull() ? std::string() : oldest.value();
}

bool StatsRepository::save(const StatsRow& row) {
  // The counters are our JSON, but of names and types from mail: kept valid UTF-8 without
  // NUL so that both engines store them alike (PostgreSQL refuses invalid UTF-8).
  std::string owner = row.sink, at = row.computedAt, counters = storedText(row.counters);
  std::int64_t start = row.startMs, end = row.endMs;
  WriteTransaction tx(db_);
  Statement stmt = (db_.session() << db_.sql("INSERT INTO stats_intervals (sink, start_ms,"
                                             " end_ms, computed_at, counters)"
                                             " VALUES (?, ?, ?, ?, ?)"
                                             " ON CONFLICT (sink, start_ms) DO NOTHING"),
                    use(owner), use(start), use(end), use(at), use(counters));
  auto n = stmt.execute();
  tx.commit();
  return n == 1;
}

std::optional<StatsRow> StatsRepository::latest(const std::string& sink) {
  std::string owner = sink;
  Statement stmt = (db_.session() << db_.sql(std::string("SELECT ") + kRowColumns +
                                             " FROM stats_intervals WHERE sink = ?"
                                             " ORDER BY start_ms DESC LIMIT 1"),
                    use(owner));
  auto rows = statsRows(stmt);
  if (rows.empty()) return std::nullopt;
  return rows.front();
}

std::vector<StatsRow> StatsRepository::since(const std::string& sink, std::int64_t sinceMs) {
  std::string owner = sink;
  std::int64_t t = sinceMs;
  Statement stmt = (db_.session() << db_.sql(std::string("SELECT ") + kRowColumns +
                                             " FROM stats_intervals WHERE sink = ?"
                                             " AND end_ms > ? ORDER BY start_ms"),
                    use(owner), use(t));
  return statsRows(stmt);
}

std::vector<StatsRow> StatsRepository::unexported(const std::string& sink, std::int64_t fromMs,
                                                  std::size_t limit) {
  std::string owner = sink;
  std::int64_t t = fromMs, n = static_cast<std::int64_t>(limit);
  Statement stmt = (db_.session() << db_.sql(std::string("SELECT ") + kRowColumns +
                                             " FROM stats_intervals WHERE sink = ?"
                                             " AND exported_at IS NULL AND start_ms >= ?"
                                             " ORDER BY start_ms LIMIT ?"),
                    use(owner), use(t), use(n));
  return statsRows(stmt);
}

void StatsRepository::markExported(const std::string& sink,
                                   const std::vector<std::int64_t>& startsMs,
                                   const std::string& nowIso) {
  if (startsMs.empty()) return;
  std::string owner = sink, at = nowIso;
  std::vector<Poco::Int64> starts(startsMs.begin(), startsMs.end());
  WriteTransaction tx(db_);
  // One statement: Poco 1.11's PostgreSQL connector mishandles a statement run again after
  // a failed run (db::ReusedStatement).
  Statement stmt(db_.session());
  stmt, use(at), use(owner);
  std::string list;
  for (const auto& start : starts) {
    stmt, useRef(start);
    list += list.empty() ? "?" : ", ?";
  }
  stmt << db_.sql("UPDATE stats_intervals SET exported_at = ? WHERE sink = ? AND start_ms IN (" +
                  list + ")");
  stmt.execute();
  tx.commit();
}

std::vector<StatsRow> StatsRepository::everySinkIn(std::int64_t fromMs, std::int64_t toMs) {
  std::int64_t from = fromMs, to = toMs;
  // Reads the whole table (its key leads with the sink): one row per sink and interval,
  // about 105,000 a year for a sink at 5 minutes, read in milliseconds.
  Statement stmt = (db_.session() << db_.sql(std::string("SELECT ") + kRowColumns +
                                             " FROM stats_intervals WHERE end_ms > ?"
                                             " AND start_ms < ? ORDER BY start_ms, sink"),
                    use(from), use(to));
  return statsRows(stmt);
}

std::vector<std::string> StatsRepository::sinksSince(const std::string& sinceIso,
                                                     std::int64_t sinceMs) {
  // DISTINCT would read every message ever received; this seeks the next sink in an index
  // led by the sink (messages_received), one probe per sink, on both engines. The
  // intervals' table is small (one row per sink and interval).
  std::string from = sinceIso;
  std::int64_t t = sinceMs;
  std::vector<std::string> names;
  db_.session() << db_.sql(
      "WITH RECURSIVE s(sink) AS (SELECT MIN(sink) FROM messages"
      " UNION ALL SELECT (SELECT MIN(m.sink) FROM messages m"
      " WHERE m.sink > s.sink) FROM s WHERE s.sink IS NOT NULL)"
      " SELECT sink FROM s WHERE sink IS NOT NULL AND EXISTS"
      " (SELECT 1 FROM messages m WHERE m.sink = s.sink"
      " AND m.received_at >= ?)"
      " UNION SELECT sink FROM stats_intervals WHERE end_ms > ?"
      " ORDER BY 1"),
      use(from), use(t), into(names), now;
  return names;
}

}  // namespace bccsink::db
