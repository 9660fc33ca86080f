#include "db/Retention.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <tuple>

#include "db/Columns.h"
#include "db/Database.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {
namespace {

// Whether a copy may lose its content or its row at all: analysed, judged by the reporter
// (its report done or not needed), and not held in SMTP mode: neither held nor on its way
// out, nor discarded or refused by the relay (`quarantine release` can still send those;
// SmtpQuarantineDays ends them). Literals, not parameters:
// they are the state names of db/MessageRecord.h and HoldQueue's, fixed by the schema.
constexpr const char* kSettled =
    " AND state NOT IN ('pending', 'analyzing')"
    " AND report_status IS NOT NULL AND report_status NOT IN ('due', 'held')"
    " AND NOT EXISTS (SELECT 1 FROM held h WHERE h.msg_id = messages.id"
    " AND h.state IN ('holding', 'deliver', 'quarantined', 'discarded', 'rejected'))";
// Kept for BccKeepFlagged: what an administrator may still want to look at.
constexpr const char* kFlagged =
    "(verdict IN ('suspicious', 'dangerous') OR spoofed = 1 OR state = 'failed')";
constexpr const char* kClean =
    " AND verdict IN ('clean', 'unscanned') AND COALESCE(spoofed, 0) = 0 AND state <> 'failed'";
constexpr const char* kColumns =
    "SELECT id, spool_file, received_at, verdict, size, content_expired_at FROM messages";

// The effective keep time: keepRows caps it; 0 = forever.
std::chrono::seconds capped(std::chrono::seconds keep, std::chrono::seconds rows) {
  if (rows.count() == 0) return keep;
  if (keep.count() == 0) return rows;
  return std::min(keep, rows);
}

std::vector<ExpiringCopy> readCopies(Statement& stmt, bool flagged) {
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<ExpiringCopy> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    ExpiringCopy c;
    c.id = text(rs, 0);
    c.spoolFile = text(rs, 1);
    c.receivedAt = text(rs, 2);
    c.verdict = text(rs, 3);
    c.size = integer(rs, 4);
    c.contentExpired = !text(rs, 5).empty();
    c.flagged = flagged;
    out.push_back(std::move(c));
  }
  return out;
}

std::vector<ExpiringCopy> selectDue(Database& db, const std::string& sink,
                                    const std::string& before, const std::string& rule,
                                    std::size_t limit, bool flagged) {
  std::string owner = sink, cutoff = before;
  auto n = static_cast<std::int64_t>(limit);
  Statement stmt(db.session());
  std::string query = std::string(kColumns) +
                      " WHERE sink = ? AND content_expired_at IS NULL AND received_at < ?" + rule +
                      kSettled + " ORDER BY received_at, id LIMIT ?";
  stmt << db.sql(query), use(owner), use(cutoff), use(n);
  return readCopies(stmt, flagged);
}

}  // namespace

Retention::Retention(Database& db) : db_(db) {}

std::vector<ExpiringCopy> Retention::contentDue(const RetentionRules& rules, std::int64_t nowMs,
                                                std::size_t limit) {
  std::vector<ExpiringCopy> out;
  if (limit == 0) return out;
  auto clean = capped(rules.keepClean, rules.keepRows);
  auto flagged = capped(rules.keepFlagged, rules.keepRows);
  if (clean.count() > 0) {
    auto cutoff = isoOfMs(nowMs - clean.count() * 1000);
    out = selectDue(db_, rules.sink, cutoff, kClean, limit, false);
  }
  if (flagged.count() > 0) {
    auto cutoff = isoOfMs(nowMs - flagged.count() * 1000);
    auto more = selectDue(db_, rules.sink, cutoff, std::string(" AND ") + kFlagged, limit, true);
    out.insert(out.end(), more.begin(), more.end());
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::tie(a.receivedAt, a.id) < std::tie(b.receivedAt, b.id);
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

std::vector<ExpiringCopy> Retention::oldestClean(const std::string& sink, std::size_t limit) {
  if (limit == 0) return {};
  // Every received_at sorts before this.
  return selectDue(db_, sink, "9999", kClean, limit, false);
}

std::size_t Retention::markContentExpired(const std::vector<std::string>& ids,
                                          const std::string& nowIso) {
  if (ids.empty()) return 0;
  std::string at = nowIso;
  Statement stmt(db_.session());
  stmt, use(at);
  keyListStatement(db_, stmt, "UPDATE messages SET content_expired_at = ? WHERE id IN ", ids,
                   " AND content_expired_at IS NULL");
  return stmt.execute();
}

std::vector<ExpiringCopy> Retention::rowsDue(const RetentionRules& rules, std::int64_t nowMs,
                                             std::size_t limit) {
  if (rules.keepRows.count() == 0 || limit == 0) return {};
  std::string owner = rules.sink, cutoff = isoOfMs(nowMs - rules.keepRows.count() * 1000);
  auto n = static_cast<std::int64_t>(limit);
  Statement stmt(db_.session());
  // messages_received (sink, received_at): rows whose content went are not in the partial
  // index any more.
  std::string query = std::string(kColumns) + " WHERE sink = ? AND received_at < ?" + kSettled +
                      " ORDER BY received_at, id LIMIT ?";
  stmt << db_.sql(query), use(owner), use(cutoff), use(n);
  return readCopies(stmt, false);
}

std::size_t Retention::deleteRows(const std::vector<std::string>& ids, std::int64_t beforeMs) {
  if (ids.empty()) return 0;
  Statement stmt(db_.session());
  keyListStatement(db_, stmt, "DELETE FROM messages WHERE id IN ", ids, "");
  auto deleted = stmt.execute();
  // An alert is one verdict change; once none of its messages is left it says nothing
  // the statistics do not already count.
  auto before = beforeMs;
  Statement alerts(db_.session());
  alerts << db_.sql(
      "DELETE FROM retro_alerts WHERE created_ms < ? AND NOT EXISTS"
      " (SELECT 1 FROM retro_messages r WHERE r.alert_id = retro_alerts.id)"),
      use(before);
  alerts.execute();
  return deleted;
}

std::vector<std::string> Retention::filesOf(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  if (ids.empty()) return out;
  Statement stmt(db_.session());
  keyListStatement(db_, stmt, "SELECT DISTINCT sha256 FROM message_files WHERE msg_id IN ", ids,
                   " AND sha256 IS NOT NULL");
  stmt.execute();
  RecordSet rs(stmt);
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(text(rs, 0));
  std::sort(out.begin(), out.end());
  return out;
}

std::set<std::string> Retention::stillReferenced(const std::string& sink,
                                                 const std::vector<std::string>& sha256s,
                                                 const std::string& seenSinceIso) {
  std::set<std::string> out;
  std::string owner = sink, since = seenSinceIso;
  // Keys per `IN (...)`: the files of a batch of copies that carried large archives can be
  // many more than SQLite's limit of bound values.
  constexpr std::size_t kKeysPerQuery = 500;
  for (std::size_t at = 0; at < sha256s.size(); at += kKeysPerQuery) {
    const std::vector<std::string> keys(sha256s.begin() + static_cast<std::ptrdiff_t>(at),
                                        sha256s.begin() + static_cast<std::ptrdiff_t>(std::min(
                                                              sha256s.size(), at + kKeysPerQuery)));
    {
      Statement stmt(db_.session());
      stmt, use(owner);
      keyListStatement(db_, stmt,
                       "SELECT DISTINCT f.sha256 FROM message_files f JOIN messages m"
                       " ON m.id = f.msg_id WHERE m.sink = ? AND m.content_expired_at IS NULL"
                       " AND f.sha256 IN ",
                       keys, "");
      stmt.execute();
      RecordSet rs(stmt);
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.insert(text(rs, 0));
    }
    {
      Statement stmt(db_.session());
      keyListStatement(db_, stmt, "SELECT sha256 FROM files WHERE sha256 IN ", keys,
                       " AND last_seen >= ?");
      stmt, use(since);
      stmt.execute();
      RecordSet rs(stmt);
      for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.insert(text(rs, 0));
    }
  }
  return out;
}

}  // namespace bccsink::db
