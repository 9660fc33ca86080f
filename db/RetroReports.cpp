#include "db/RetroReports.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>

#include <algorithm>

#include "db/Columns.h"
#include "db/Conditions.h"
#include "db/Database.h"
#include "db/MessageRecord.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {
namespace {

// Message ids per recipients query: an alert on a file that went round the site can name
// thousands of messages.
constexpr std::size_t kKeysPerQuery = 500;

const char* const kAlertColumns =
    "a.id, a.sink, a.sha256, a.analyzer, a.verdict, a.threats, a.cause, a.created_at,"
    " a.created_ms, a.report_status, a.report_attempts, a.report_next_at, a.report_error,"
    " a.reported_at,"
    " (SELECT COUNT(*) FROM retro_messages r WHERE r.alert_id = a.id) AS message_count,"
    " (SELECT MIN(r.file_path) FROM retro_messages r WHERE r.alert_id = a.id) AS file_path";

// retro_alerts.threats: one name a line.
std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    auto end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    auto line = s.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) out.push_back(line);
    start = end + 1;
  }
  return out;
}

RetroAlert alertFrom(RecordSet& rs) {
  RetroAlert a;
  a.id = text(rs, "id");
  a.sink = text(rs, "sink");
  a.sha256 = text(rs, "sha256");
  a.analyzer = text(rs, "analyzer");
  a.verdict = text(rs, "verdict");
  a.threats = lines(text(rs, "threats"));
  a.cause = text(rs, "cause");
  a.createdAt = text(rs, "created_at");
  a.createdMs = integer(rs, "created_ms");
  a.reportStatus = text(rs, "report_status");
  a.reportAttempts = static_cast<int>(integer(rs, "report_attempts"));
  a.reportNextAt = integer(rs, "report_next_at");
  a.reportError = text(rs, "report_error");
  a.reportedAt = text(rs, "reported_at");
  a.messageCount = static_cast<std::size_t>(integer(rs, "message_count"));
  a.filePath = text(rs, "file_path");
  return a;
}

// Fills each message's recipients (and original recipients) from message_recipients.
void addRecipients(Database& db, std::vector<RetroMessage>& messages) {
  std::map<std::string, std::vector<RetroMessage*>> byId;
  std::vector<std::string> ids;
  for (auto& m : messages) {
    if (byId[m.msgId].empty()) ids.push_back(m.msgId);
    byId[m.msgId].push_back(&m);
  }
  for (std::size_t from = 0; from < ids.size(); from += kKeysPerQuery) {
    std::vector<std::string> keys(
        ids.begin() + static_cast<std::ptrdiff_t>(from),
        ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), from + kKeysPerQuery)));
    Statement stmt(db.session());
    keyListStatement(db, stmt,
                     "SELECT msg_id, address, original FROM message_recipients"
                     " WHERE msg_id IN ",
                     keys, " ORDER BY msg_id, position");
    stmt.execute();
    RecordSet rs(stmt);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      auto original = text(rs, 2);
      for (auto* m : byId[text(rs, 0)]) {
        m->recipients.push_back(text(rs, 1));
        if (!original.empty()) m->originalRecipients.push_back(original);
      }
    }
  }
}

}  // namespace

RetroReports::RetroReports(Database& db) : db_(db) {}

std::vector<std::string> RetroReports::due(const std::string& sink, std::int64_t nowMs,
                                           std::size_t limit) {
  std::string owner = sink, status = report_status::kDue;
  std::int64_t t = nowMs;
  auto n = static_cast<std::int64_t>(limit);
  std::vector<std::string> out;
  // Seeks retro_alerts_report (sink, report_status, report_next_at).
  db_.session() << db_.sql(
      "SELECT id FROM retro_alerts WHERE sink = ? AND report_status = ?"
      " AND report_next_at <= ? ORDER BY created_ms, id LIMIT ?"),
      use(owner), use(status), use(t), use(n), into(out), now;
  return out;
}

std::optional<RetroAlert> RetroReports::find(const std::string& id) {
  std::string key = id;
  Statement stmt = (db_.session() << db_.sql(std::string("SELECT ") + kAlertColumns +
                                             " FROM retro_alerts a WHERE a.id = ?"),
                    use(key));
  stmt.execute();
  RecordSet rs(stmt);
  if (!rs.moveFirst()) return std::nullopt;
  auto alert = alertFrom(rs);
  // LEFT JOIN: a message row removed (BccKeepRows) where SQLite did not cascade still
  // shows what the alert recorded of it.
  Statement msgs = (db_.session() << db_.sql(
                        "SELECT r.msg_id, r.earlier_verdict, r.earlier_checked_at, r.verdict,"
                        " r.file_path, m.sink, m.sender, m.received_at, m.header_message_id"
                        " FROM retro_messages r LEFT JOIN messages m ON m.id = r.msg_id"
                        " WHERE r.alert_id = ? ORDER BY m.received_at, r.msg_id"),
                    use(key));
  msgs.execute();
  RecordSet ms(msgs);
  for (bool more = ms.moveFirst(); more; more = ms.moveNext()) {
    RetroMessage m;
    m.msgId = text(ms, 0);
    m.earlierVerdict = text(ms, 1);
    m.earlierCheckedAt = text(ms, 2);
    m.verdict = text(ms, 3);
    m.filePath = text(ms, 4);
    m.sink = text(ms, 5);
    m.sender = text(ms, 6);
    m.receivedAt = text(ms, 7);
    m.headerMessageId = text(ms, 8);
    alert.messages.push_back(std::move(m));
  }
  addRecipients(db_, alert.messages);
  return alert;
}

std::vector<RetroAlert> RetroReports::list(const RetroQuery& q) {
  Conditions where;
  where.add("a.sink = ?", q.sink);
  where.add("a.report_status = ?", q.status);
  where.add("a.created_at >= ?", q.since);
  where.add("a.created_at < ?", q.until);
  std::string sql = std::string("SELECT ") + kAlertColumns + " FROM retro_alerts a" + where.sql();
  sql += " ORDER BY a.created_ms DESC, a.id DESC LIMIT " +
         std::to_string(std::max<std::size_t>(q.limit, 1));
  Statement stmt(db_.session());
  stmt << db_.sql(sql);
  where.bind(stmt);
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<RetroAlert> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(alertFrom(rs));
  return out;
}

std::vector<RetroMention> RetroReports::ofMessage(const std::string& msgId) {
  std::string key = msgId;
  Statement stmt = (db_.session() << db_.sql(
                        "SELECT r.alert_id, r.earlier_verdict, r.earlier_checked_at, r.verdict,"
                        " r.file_path, a.analyzer, a.threats, a.cause, a.created_at"
                        " FROM retro_messages r JOIN retro_alerts a ON a.id = r.alert_id"
                        " WHERE r.msg_id = ? ORDER BY a.created_ms, a.id"),
                    use(key));
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<RetroMention> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    RetroMention m;
    m.alertId = text(rs, 0);
    m.earlierVerdict = text(rs, 1);
    m.earlierCheckedAt = text(rs, 2);
    m.verdict = text(rs, 3);
    m.filePath = text(rs, 4);
    m.analyzer = text(rs, 5);
    m.threats = lines(text(rs, 6));
    m.cause = text(rs, 7);
    m.createdAt = text(rs, 8);
    out.push_back(std::move(m));
  }
  return out;
}

void RetroReports::markSent(const std::string& id, const std::string& nowIso) {
  std::string key = id, at = nowIso, sent = report_status::kSent;
  WriteTransaction tx(db_, Durability::Durable);
  db_.session() << db_.sql(
      "UPDATE retro_alerts SET report_status = ?, reported_at = ?,"
      " report_error = NULL, report_next_at = 0,"
      " report_attempts = report_attempts + 1 WHERE id = ?"),
      use(sent), use(at), use(key), now;
  tx.commit();
}

void RetroReports::markDeferred(const std::string& id, const std::string& error,
                                std::int64_t nextMs) {
  std::string key = id, why = storedText(error);
  std::int64_t next = nextMs;
  WriteTransaction tx(db_);
  db_.session() << db_.sql(
      "UPDATE retro_alerts SET report_attempts = report_attempts + 1,"
      " report_error = ?, report_next_at = ? WHERE id = ?"),
      use(why), use(next), use(key), now;
  tx.commit();
}

void RetroReports::markUndeliverable(const std::string& id, const std::string& error) {
  std::string key = id, why = storedText(error), status = report_status::kUndeliverable;
  WriteTransaction tx(db_);
  db_.session() << db_.sql(
      "UPDATE retro_alerts SET report_status = ?,"
      " report_attempts = report_attempts + 1, report_error = ?,"
      " report_next_at = 0 WHERE id = ?"),
      use(status), use(why), use(key), now;
  tx.commit();
}

bool RetroReports::requeue(const std::string& id) {
  std::string key = id, due = report_status::kDue;
  WriteTransaction tx(db_);
  Statement stmt = (db_.session() << db_.sql("UPDATE retro_alerts SET report_status = ?,"
                                             " report_attempts = 0, report_next_at = 0,"
                                             " report_error = NULL"
                                             " WHERE id = ? AND report_status <> ?"),
                    use(due), use(key), use(due));
  auto changed = stmt.execute();
  tx.commit();
  return changed > 0;
}

std::map<std::string, std::int64_t> RetroReports::countByStatus() {
  std::vector<std::string> statuses;
  std::vector<Poco::Int64> counts;
  db_.session() << db_.sql(
      "SELECT report_status, COUNT(*) FROM retro_alerts GROUP BY report_status"),
      into(statuses), into(counts), now;
  std::map<std::string, std::int64_t> out;
  for (std::size_t i = 0; i < statuses.size(); ++i) out[statuses[i]] = counts[i];
  return out;
}

}  // namespace bccsink::db
