#include "report/http/Quarantine.h"

#include <Poco/JSON/Array.h>

#include <map>

#include "db/MessageQueue.h"
#include "report/ReportJson.h"
#include "report/stats/StatsCounters.h"

namespace bccsink::report {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

Object::Ptr ordered() {
  return new Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

Var orNull(const std::string& s) {
  return s.empty() ? Var() : Var(s);
}

Var timeOrNull(std::int64_t ms) {
  return orNull(heldTime(ms));
}

// The fields a listed row and a shown one share.
void setCommon(Object& o, const db::HeldMessage& h) {
  o.set("id", h.id);
  o.set("sink", h.sink);
  o.set("state", h.state);
  o.set("action", orNull(h.action));
  o.set("message_id", h.headerMessageId);
  o.set("sender", h.sender);
}

void setDecision(Object& o, const db::HeldMessage& h) {
  o.set("verdict", orNull(h.verdict));
  o.set("why", h.why);
  o.set("since", timeOrNull(h.decidedMs != 0 ? h.decidedMs : h.heldMs));
}

std::string whatCanChange(const std::string& id, const std::string& state, const char* verb) {
  return "message " + id + " is in state " + state +
         ": only a quarantined, discarded or rejected message" + " can be " + verb;
}

template <typename Change>
QuarantineChange change(db::Database& db, const std::string& id, const char* verb, Change&& apply) {
  db::HoldQueue queue(db);
  QuarantineChange out;
  if (!queue.find(id)) {
    out.error = "no such message in the hold queue: " + id;
    return out;
  }
  const bool done = apply(queue);
  // Read again either way: what it is now (another process may have changed it meanwhile).
  auto now = queue.find(id);
  if (!now) {
    out.error = "no such message in the hold queue: " + id;
    return out;
  }
  out.held = *now;
  if (done) {
    out.result = QuarantineChange::Done;
  } else {
    out.result = QuarantineChange::WrongState;
    out.error = whatCanChange(id, now->state, verb);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& attentionStates() {
  static const std::vector<std::string> states = {
      db::hold_state::kQuarantined, db::hold_state::kDiscarded, db::hold_state::kRejected};
  return states;
}

const std::set<std::string>& holdStates() {
  static const std::set<std::string> states = {
      db::hold_state::kHolding,     db::hold_state::kDeliver,   db::hold_state::kDelivered,
      db::hold_state::kQuarantined, db::hold_state::kDiscarded, db::hold_state::kRejected,
      db::hold_state::kDeleted};
  return states;
}

std::string heldTime(std::int64_t ms) {
  return ms == 0 ? "" : isoMillis(ms);
}

std::vector<QuarantineEntry> listQuarantine(db::Database& db,
                                            const std::vector<std::string>& states,
                                            const std::string& sink, std::size_t limit) {
  auto rows = db::HoldQueue(db).list(states.empty() ? attentionStates() : states, sink, limit);
  std::vector<std::string> ids;
  for (const auto& h : rows) ids.push_back(h.id);
  std::map<std::string, std::vector<db::Recipient>> recipients;
  for (auto& m : db::MessageQueue(db).findAll(ids)) recipients[m.id] = std::move(m.recipients);
  std::vector<QuarantineEntry> out;
  for (auto& h : rows) {
    QuarantineEntry e;
    e.recipients = recipients[h.id];
    e.held = std::move(h);
    out.push_back(std::move(e));
  }
  return out;
}

Object::Ptr quarantineJson(const QuarantineEntry& entry) {
  auto o = ordered();
  setCommon(*o, entry.held);
  Array::Ptr rcpts = new Array;
  for (const auto& r : entry.recipients) rcpts->add(r.address);
  o->set("recipients", rcpts);
  setDecision(*o, entry.held);
  return o;
}

Object::Ptr quarantineDetailJson(const db::HeldMessage& h,
                                 const std::optional<db::MessageRecord>& message) {
  auto o = ordered();
  setCommon(*o, h);
  Array::Ptr rcpts = new Array;
  if (message) {
    for (const auto& r : message->recipients) rcpts->add(r.address);
  }
  o->set("recipients", rcpts);
  setDecision(*o, h);
  o->set("message_state", h.messageState);
  o->set("held_at", timeOrNull(h.heldMs));
  o->set("decided_at", timeOrNull(h.decidedMs));
  o->set("tries", h.tries);
  o->set("last_error", orNull(h.lastError));
  o->set("next_try_at", h.state == db::hold_state::kDeliver ? timeOrNull(h.nextMs) : Var());
  Array::Ptr done = new Array;
  for (int p : h.doneRecipients) done->add(p);
  o->set("delivered_recipients", done);
  o->set("delivered_at", timeOrNull(h.deliveredMs));
  o->set("relay_reply", orNull(h.relayReply));
  o->set("released_by", orNull(h.releasedBy));
  o->set("released_at", timeOrNull(h.releasedMs));
  o->set("smtputf8", h.smtputf8);
  o->set("xforward", h.xforward);
  o->set("message", message ? Var(messageJson(*message)) : Var());
  return o;
}

QuarantineChange releaseHeld(db::Database& db, const std::string& id, const std::string& by,
                             std::int64_t nowMs) {
  return change(db, id, "released", [&](db::HoldQueue& q) { return q.release(id, by, nowMs); });
}

QuarantineChange deleteHeld(db::Database& db, const std::string& id, const std::string& by,
                            std::int64_t nowMs) {
  return change(db, id, "deleted", [&](db::HoldQueue& q) { return q.remove(id, by, nowMs); });
}

}  // namespace bccsink::report
