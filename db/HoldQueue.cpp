#include "db/HoldQueue.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <algorithm>
#include <charconv>

#include "db/Columns.h"
#include "db/Database.h"
#include "db/MessageRecord.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {
namespace {

const char* kSelect =
    "SELECT h.msg_id, h.sink, h.state, h.action, h.why, h.smtputf8, h.xforward, h.held_ms,"
    " h.decided_ms, h.tries, h.next_ms, h.last_error, h.done_rcpts, h.delivered_ms,"
    " h.relay_reply, h.released_by, h.released_ms, m.state AS message_state, m.verdict,"
    " m.header_message_id, m.sender FROM held h JOIN messages m ON m.id = h.msg_id ";

std::vector<HeldMessage> readHeld(Statement& stmt) {
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<HeldMessage> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    HeldMessage h;
    h.id = text(rs, "msg_id");
    h.sink = text(rs, "sink");
    h.state = text(rs, "state");
    h.action = text(rs, "action");
    h.why = text(rs, "why");
    h.smtputf8 = integer(rs, "smtputf8") != 0;
    h.xforward = text(rs, "xforward");
    h.heldMs = integer(rs, "held_ms");
    h.decidedMs = integer(rs, "decided_ms");
    h.tries = static_cast<int>(integer(rs, "tries"));
    h.nextMs = integer(rs, "next_ms");
    h.lastError = text(rs, "last_error");
    h.doneRecipients = parsePositions(text(rs, "done_rcpts"));
    h.deliveredMs = integer(rs, "delivered_ms");
    h.relayReply = text(rs, "relay_reply");
    h.releasedBy = text(rs, "released_by");
    h.releasedMs = integer(rs, "released_ms");
    h.messageState = text(rs, "message_state");
    h.verdict = text(rs, "verdict");
    h.headerMessageId = text(rs, "header_message_id");
    h.sender = text(rs, "sender");
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace

std::string positionsText(const std::vector<int>& positions) {
  std::string out;
  for (int p : positions) {
    if (!out.empty()) out += ',';
    out += std::to_string(p);
  }
  return out;
}

std::vector<int> parsePositions(const std::string& text) {
  std::vector<int> out;
  std::size_t at = 0;
  while (at < text.size()) {
    auto comma = text.find(',', at);
    if (comma == std::string::npos) comma = text.size();
    int value = -1;
    auto [end, ec] = std::from_chars(text.data() + at, text.data() + comma, value);
    if (ec == std::errc() && end == text.data() + comma && value >= 0) out.push_back(value);
    at = comma + 1;
  }
  return out;
}

HoldQueue::HoldQueue(Database& db) : db_(db) {}

std::vector<HeldMessage> HoldQueue::decidable(const std::string& sink, std::size_t limit) {
  std::string owner = sink, holding = hold_state::kHolding, checked = state::kChecked,
              reported = state::kReported, failed = state::kFailed;
  auto n = static_cast<std::int64_t>(limit);
  Statement stmt(db_.session());
  stmt << db_.sql(std::string(kSelect) +
                  "WHERE h.sink = ? AND h.state = ? AND m.state IN (?, ?, ?)"
                  " ORDER BY h.held_ms, h.msg_id LIMIT ?"),
      use(owner), use(holding), use(checked), use(reported), use(failed), use(n);
  return readHeld(stmt);
}

std::vector<HeldMessage> HoldQueue::overdue(const std::string& sink, std::int64_t heldBeforeMs,
                                            std::size_t limit) {
  std::string owner = sink, holding = hold_state::kHolding;
  std::int64_t before = heldBeforeMs;
  auto n = static_cast<std::int64_t>(limit);
  Statement stmt(db_.session());
  stmt << db_.sql(std::string(kSelect) +
                  "WHERE h.sink = ? AND h.state = ? AND h.held_ms <= ?"
                  " ORDER BY h.held_ms, h.msg_id LIMIT ?"),
      use(owner), use(holding), use(before), use(n);
  return readHeld(stmt);
}

bool HoldQueue::decide(const std::string& id, const std::string& state, const std::string& action,
                       const std::string& why, std::int64_t nowMs) {
  std::string key = id, to = state, act = action, reason = storedText(why),
              holding = hold_state::kHolding, held = report_status::kHeld;
  std::int64_t at = nowMs;
  WriteTransaction tx(db_);
  Statement stmt(db_.session());
  stmt << db_.sql(
      "UPDATE held SET state = ?, action = ?, why = ?, decided_ms = ?,"
      " next_ms = ? WHERE msg_id = ? AND state = ?"),
      use(to), use(act), use(reason), use(at), use(at), use(key), use(holding);
  const auto changed = stmt.execute();
  if (changed > 0) {
    db_.session() << db_.sql(
        "UPDATE messages SET report_status = NULL"
        " WHERE id = ? AND report_status = ?"),
        use(key), use(held), now;
  }
  tx.commit();
  return changed > 0;
}

std::vector<HeldMessage> HoldQueue::deliverable(const std::string& sink, std::int64_t nowMs,
                                                std::size_t limit) {
  std::string owner = sink, deliver = hold_state::kDeliver;
  std::int64_t at = nowMs;
  auto n = static_cast<std::int64_t>(limit);
  Statement stmt(db_.session());
  stmt << db_.sql(std::string(kSelect) +
                  "WHERE h.sink = ? AND h.state = ? AND h.next_ms <= ?"
                  " ORDER BY h.next_ms, h.held_ms, h.msg_id LIMIT ?"),
      use(owner), use(deliver), use(at), use(n);
  return readHeld(stmt);
}

bool HoldQueue::markDelivered(const std::string& id, const std::string& relayReply,
                              std::int64_t nowMs, const std::string& refused) {
  std::string key = id, reply = storedText(relayReply), delivered = hold_state::kDelivered,
              deliver = hold_state::kDeliver, error = storedText(refused);
  std::int64_t at = nowMs;
  // Durable on any connection: the relay has the message; forgetting that would deliver
  // it again after a power loss.
  WriteTransaction tx(db_, Durability::Durable);
  Statement stmt(db_.session());
  stmt << db_.sql(
      "UPDATE held SET state = ?, relay_reply = ?, delivered_ms = ?,"
      " tries = tries + 1, last_error = NULLIF(?, '') WHERE msg_id = ? AND state = ?"),
      use(delivered), use(reply), use(at), use(error), use(key), use(deliver);
  auto changed = stmt.execute();
  tx.commit();
  return changed > 0;
}

std::vector<HeldMessage> HoldQueue::awaitingReport(const std::string& sink, std::size_t limit) {
  std::string owner = sink, rejected = hold_state::kRejected, delivered = hold_state::kDelivered,
              held = report_status::kHeld, none = report_status::kNone;
  auto n = static_cast<std::int64_t>(limit);
  Statement stmt(db_.session());
  stmt << db_.sql(std::string(kSelect) +
                  "WHERE h.sink = ? AND h.last_error IS NOT NULL AND h.state IN (?, ?)"
                  " AND (m.report_status IS NULL OR m.report_status IN (?, ?))"
                  " ORDER BY h.decided_ms, h.msg_id LIMIT ?"),
      use(owner), use(rejected), use(delivered), use(held), use(none), use(n);
  return readHeld(stmt);
}

bool HoldQueue::markRetry(const std::string& id, const std::string& error, std::int64_t nextMs,
                          const std::vector<int>& done) {
  std::string key = id, why = storedText(error), deliver = hold_state::kDeliver,
              positions = positionsText(done);
  std::int64_t next = nextMs;
  WriteTransaction tx(db_, done.empty() ? Durability::Deferred : Durability::Durable);
  Statement stmt(db_.session());
  stmt << db_.sql(
      "UPDATE held SET tries = tries + 1, last_error = ?, next_ms = ?,"
      " done_rcpts = NULLIF(?, '') WHERE msg_id = ? AND state = ?"),
      use(why), use(next), use(positions), use(key), use(deliver);
  auto changed = stmt.execute();
  tx.commit();
  return changed > 0;
}

bool HoldQueue::markRejected(const std::string& id, const std::string& error, std::int64_t nowMs,
                             const std::vector<int>& done) {
  std::string key = id, why = storedText(error), deliver = hold_state::kDeliver,
              rejected = hold_state::kRejected, positions = positionsText(done);
  std::int64_t at = nowMs;
  WriteTransaction tx(db_, Durability::Durable);
  Statement stmt(db_.session());
  stmt << db_.sql(
      "UPDATE held SET state = ?, tries = tries + 1, last_error = ?,"
      " decided_ms = ?, done_rcpts = NULLIF(?, '') WHERE msg_id = ? AND state = ?"),
      use(rejected), use(why), use(at), use(positions), use(key), use(deliver);
  auto changed = stmt.execute();
  tx.commit();
  return changed > 0;
}

bool HoldQueue::release(const std::string& id, const std::string& by, std::int64_t nowMs) {
  std::string key = id, who = storedText(by), deliver = hold_state::kDeliver,
              quarantined = hold_state::kQuarantined, discarded = hold_state::kDiscarded,
              rejected = hold_state::kRejected;
  std::int64_t at = nowMs;
  WriteTransaction tx(db_, Durability::Durable);
  Statement stmt(db_.session());
  stmt << db_.sql(
      "UPDATE held SET state = ?, released_by = ?, released_ms = ?, next_ms = ?,"
      " last_error = NULL WHERE msg_id = ? AND state IN (?, ?, ?)"),
      use(deliver), use(who), use(at), use(at), use(key), use(quarantined), use(discarded),
      use(rejected);
  auto changed = stmt.execute();
  tx.commit();
  return changed > 0;
}

bool HoldQueue::remove(const std::string& id, const std::string& by, std::int64_t nowMs) {
  std::string key = id, who = storedText(by), deleted = hold_state::kDeleted,
              quarantined = hold_state::kQuarantined, discarded = hold_state::kDiscarded,
              rejected = hold_state::kRejected;
  std::int64_t at = nowMs;
  WriteTransaction tx(db_, Durability::Durable);
  Statement stmt(db_.session());
  stmt << db_.sql(
      "UPDATE held SET state = ?, released_by = ?, released_ms = ?"
      " WHERE msg_id = ? AND state IN (?, ?, ?)"),
      use(deleted), use(who), use(at), use(key), use(quarantined), use(discarded), use(rejected);
  auto changed = stmt.execute();
  tx.commit();
  return changed > 0;
}

int HoldQueue::expire(const std::string& sink, std::int64_t beforeMs, std::int64_t nowMs) {
  std::string owner = sink, who = "SmtpQuarantineDays", deleted = hold_state::kDeleted,
              quarantined = hold_state::kQuarantined, discarded = hold_state::kDiscarded;
  std::int64_t before = beforeMs, at = nowMs;
  WriteTransaction tx(db_);
  Statement stmt(db_.session());
  stmt << db_.sql(
      "UPDATE held SET state = ?, released_by = ?, released_ms = ?"
      " WHERE sink = ? AND state IN (?, ?) AND decided_ms < ?"),
      use(deleted), use(who), use(at), use(owner), use(quarantined), use(discarded), use(before);
  auto changed = stmt.execute();
  tx.commit();
  return static_cast<int>(changed);
}

std::optional<HeldMessage> HoldQueue::find(const std::string& id) {
  auto rows = findAll({id});
  if (rows.empty()) return std::nullopt;
  return std::move(rows.begin()->second);
}

std::map<std::string, HeldMessage> HoldQueue::findAll(const std::vector<std::string>& ids) {
  std::map<std::string, HeldMessage> out;
  constexpr std::size_t kKeysPerQuery = 500;  // far below SQLite's limit of bound values
  for (std::size_t at = 0; at < ids.size(); at += kKeysPerQuery) {
    std::vector<std::string> keys(ids.begin() + at,
                                  ids.begin() + std::min(ids.size(), at + kKeysPerQuery));
    Statement stmt(db_.session());
    keyListStatement(db_, stmt, std::string(kSelect) + "WHERE h.msg_id IN ", keys, "");
    for (auto& h : readHeld(stmt)) out.emplace(h.id, std::move(h));
  }
  return out;
}

std::vector<HeldMessage> HoldQueue::list(const std::vector<std::string>& states,
                                         const std::string& sink, std::size_t limit) {
  std::string where = "WHERE 1 = 1";
  Statement stmt(db_.session());
  std::string owner = sink;
  if (!sink.empty()) {
    where += " AND h.sink = ?";
    stmt, use(owner);
  }
  std::string text = std::string(kSelect) + where;
  std::string tail = " ORDER BY COALESCE(h.decided_ms, h.held_ms) DESC, h.msg_id DESC";
  if (limit > 0) tail += " LIMIT " + std::to_string(limit);
  if (states.empty()) {
    stmt << db_.sql(text + tail);
  } else {
    keyListStatement(db_, stmt, text + " AND h.state IN ", states, tail);
  }
  return readHeld(stmt);
}

std::map<std::string, std::int64_t> HoldQueue::countByState(const std::string& sink) {
  std::string owner = sink;
  std::vector<std::string> states;
  std::vector<Poco::Int64> counts;
  db_.session() << db_.sql("SELECT state, COUNT(*) FROM held WHERE sink = ? GROUP BY state"),
      use(owner), into(states), into(counts), now;
  std::map<std::string, std::int64_t> out;
  for (std::size_t i = 0; i < states.size(); ++i) out[states[i]] = counts[i];
  return out;
}

}  // namespace bccsink::db
