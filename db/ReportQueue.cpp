#include "db/ReportQueue.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Session.h>

#include <algorithm>
#include <memory>
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

std::vector<std::string> ids(Statement& stmt) {
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<std::string> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out.push_back(text(rs, 0));
  return out;
}

}  // namespace

ReportQueue::ReportQueue(Database& db) : db_(db) {}

std::vector<std::string> ReportQueue::unjudged(const std::string& sink, std::size_t limit) {
  std::string owner = sink, checked = state::kChecked, failed = state::kFailed;
  auto n = static_cast<std::int64_t>(limit);
  Statement stmt = (db_.session() << db_.sql("SELECT id FROM messages WHERE state IN (?, ?)"
                                             " AND report_status IS NULL AND sink = ?"
                                             " ORDER BY received_at, id LIMIT ?"),
                    use(checked), use(failed), use(owner), use(n));
  return ids(stmt);
}

void ReportQueue::judge(const std::string& id, bool spoofed, const std::string& spoofReason,
                        bool due, const std::string& originIp) {
  judge(std::vector<Judgement>{{id, spoofed, spoofReason, due, originIp, "", 0}});
}

void ReportQueue::judge(const std::vector<Judgement>& list) {
  if (list.empty()) return;
  // Bound as columns: one prepared statement for the round (see MessageQueue::insertPending).
  std::vector<std::string> ids, statuses, reasons, origins, groups;
  std::vector<int> flags;
  std::vector<Poco::Int64> holds;
  for (const auto& j : list) {
    groups.push_back(j.due ? j.group : "");
    holds.push_back(j.due ? j.holdUntilMs : 0);
    ids.push_back(j.id);
    statuses.push_back(j.due ? report_status::kDue : report_status::kNone);
    reasons.push_back(storedText(j.spoofReason));
    origins.push_back(storedText(j.originIp));
    flags.push_back(j.spoofed ? 1 : 0);
  }
  WriteTransaction tx(db_);
  ReusedStatement stmt(db_);
  *stmt << db_.sql(
      "UPDATE messages SET spoofed = ?, spoof_reason = NULLIF(?, ''),"
      " report_status = ?, report_attempts = 0, report_next_at = ?,"
      " report_error = NULL, origin_ip = NULLIF(?, ''), report_group = NULLIF(?, ''),"
      " report_batch = NULL WHERE id = ?"),
      use(flags), use(reasons), use(statuses), use(holds), use(origins), use(groups), use(ids);
  stmt.execute();
  tx.commit();
}

std::vector<std::string> ReportQueue::due(const std::string& sink, std::int64_t nowMs,
                                          std::size_t limit) {
  std::string owner = sink, status = report_status::kDue, checked = state::kChecked,
              reported = state::kReported, failed = state::kFailed;
  auto n = static_cast<std::int64_t>(limit);
  std::int64_t t = nowMs;
  // Every state a due report can have (judged: checked or failed; resent: reported too),
  // named so that the row is found by seeking messages_report, not by reading the sink's
  // whole history in received order.
  Statement stmt =
      (db_.session() << db_.sql("SELECT id FROM messages WHERE report_status = ?"
                                " AND sink = ? AND state IN (?, ?, ?) AND"
                                " (report_next_at IS NULL OR report_next_at <= ?)"
                                " ORDER BY received_at, id LIMIT ?"),
       use(status), use(owner), use(checked), use(reported), use(failed), use(t), use(n));
  return ids(stmt);
}

void ReportQueue::markSent(const std::vector<std::string>& list, const std::string& nowIso,
                           const std::string& batch) {
  if (list.empty()) return;
  std::string at = nowIso, sent = report_status::kSent, checked = state::kChecked,
              reported = state::kReported, group = batch;
  // Durable on any connection: the receiver has the mail; forgetting that would send it
  // again after a power loss.
  WriteTransaction tx(db_, Durability::Durable);
  Statement stmt(db_.session());
  stmt, use(sent), use(at), use(group), use(checked), use(reported), use(at);
  keyListStatement(db_, stmt,
                   "UPDATE messages SET report_status = ?, reported_at = ?,"
                   " report_batch = NULLIF(?, ''),"
                   " report_error = NULL, report_next_at = NULL,"
                   " report_attempts = report_attempts + 1,"
                   " state = CASE WHEN state = ? THEN ? ELSE state END,"
                   " updated_at = ? WHERE id IN ",
                   list, "");
  stmt.execute();
  tx.commit();
}

void ReportQueue::markDeferred(const std::vector<std::string>& list, const std::string& error,
                               std::int64_t nextMs) {
  if (list.empty()) return;
  std::string why = storedText(error);
  std::int64_t next = nextMs;
  WriteTransaction tx(db_);
  Statement stmt(db_.session());
  stmt, use(why), use(next);
  keyListStatement(db_, stmt,
                   "UPDATE messages SET report_attempts = report_attempts + 1,"
                   " report_error = ?, report_next_at = ? WHERE id IN ",
                   list, "");
  stmt.execute();
  tx.commit();
}

void ReportQueue::markUndeliverable(const std::vector<std::string>& list,
                                    const std::string& error) {
  if (list.empty()) return;
  std::string why = storedText(error), status = report_status::kUndeliverable;
  WriteTransaction tx(db_);
  Statement stmt(db_.session());
  stmt, use(status), use(why);
  keyListStatement(db_, stmt,
                   "UPDATE messages SET report_status = ?, report_attempts = report_attempts + 1,"
                   " report_error = ?, report_next_at = NULL WHERE id IN ",
                   list, "");
  stmt.execute();
  tx.commit();
}

std::map<std::string, std::string> ReportQueue::holdStates(const std::vector<std::string>& list) {
  std::map<std::string, std::string> out;
  if (list.empty()) return out;
  Statement stmt(db_.session());
  keyListStatement(db_, stmt, "SELECT msg_id, state FROM held WHERE msg_id IN ", list, "");
  stmt.execute();
  RecordSet rs(stmt);
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out[text(rs, 0)] = text(rs, 1);
  return out;
}

bool ReportQueue::requeue(const std::string& id) {
  std::string key = id, due = report_status::kDue, held = report_status::kHeld,
              checked = state::kChecked, reported = state::kReported, failed = state::kFailed;
  WriteTransaction tx(db_);
  Statement stmt =
      (db_.session() << db_.sql("UPDATE messages SET report_status = ?,"
                                " report_attempts = 0, report_next_at = NULL,"
                                " report_group = NULL, report_batch = NULL,"
                                " report_error = NULL WHERE id = ? AND state IN (?, ?, ?)"
                                " AND report_status IS NOT NULL AND report_status NOT IN (?, ?)"),
       use(due), use(key), use(checked), use(reported), use(failed), use(due), use(held));
  auto changed = stmt.execute();
  tx.commit();
  return changed > 0;
}

std::map<std::string, std::string> ReportQueue::groupsOf(const std::vector<std::string>& list) {
  std::map<std::string, std::string> out;
  if (list.empty()) return out;
  Statement stmt(db_.session());
  keyListStatement(db_, stmt, "SELECT id, report_group FROM messages WHERE id IN ", list,
                   " AND report_group IS NOT NULL");
  stmt.execute();
  RecordSet rs(stmt);
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) out[text(rs, 0)] = text(rs, 1);
  return out;
}

std::vector<std::string> ReportQueue::groupDue(const std::string& sink, const std::string& group,
                                               std::int64_t nowMs, std::size_t limit) {
  std::string owner = sink, key = group, status = report_status::kDue, checked = state::kChecked,
              reported = state::kReported, failed = state::kFailed;
  auto n = static_cast<std::int64_t>(limit);
  std::int64_t t = nowMs;
  // Never tried: it only waited for its window, which its group's first message ended.
  Statement stmt =
      (db_.session() << db_.sql("SELECT id FROM messages WHERE sink = ? AND report_group = ?"
                                " AND report_status = ? AND state IN (?, ?, ?) AND"
                                " (report_attempts = 0 OR report_next_at IS NULL OR"
                                " report_next_at <= ?) ORDER BY received_at, id LIMIT ?"),
       use(owner), use(key), use(status), use(checked), use(reported), use(failed), use(t), use(n));
  return ids(stmt);
}

std::optional<GroupBatch> ReportQueue::lastBatch(const std::string& sink,
                                                 const std::string& group) {
  std::string owner = sink, key = group;
  Statement stmt =
      (db_.session() << db_.sql("SELECT report_batch, MAX(reported_at), COUNT(*) FROM messages"
                                " WHERE sink = ? AND report_group = ? AND report_batch IS NOT NULL"
                                " GROUP BY report_batch ORDER BY 2 DESC, 1 DESC"),
       use(owner), use(key));
  stmt.execute();
  RecordSet rs(stmt);
  std::optional<GroupBatch> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    auto count = integer(rs, 2);
    if (!out) out = GroupBatch{text(rs, 0), text(rs, 1), count, 0};
    out->total += count;
  }
  return out;
}

std::map<std::string, std::int64_t> ReportQueue::countByStatus() {
  std::vector<std::string> statuses;
  std::vector<Poco::Int64> counts;
  db_.session() << db_.sql(
      "SELECT report_status, COUNT(*) FROM messages"
      " WHERE report_status IS NOT NULL GROUP BY report_status"),
      into(statuses), into(counts), now;
  std::map<std::string, std::int64_t> out;
  for (std::size_t i = 0; i < statuses.size(); ++i) out[statuses[i]] = counts[i];
  return out;
}

}  // namespace bccsink::db
