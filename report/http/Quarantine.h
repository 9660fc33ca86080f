#pragma once
// The administrator's quarantine of SMTP mode (issue 16), over db::HoldQueue: which held
// messages are listed, their JSON, and release and delete with who did it and when. Shared
// by `bccsink quarantine` and /api/quarantine, so that both list, show and refuse alike. A
// release or a delete is only a row change: any sink may make it, and the hold stage of the
// sink that received the message (its spool holds the bytes) delivers a released one.

#include <Poco/JSON/Object.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "db/HoldQueue.h"
#include "db/MessageRecord.h"

namespace bccsink::db {
class Database;
}

namespace bccsink::report {

// What is listed when no state is asked for: what needs the administrator's attention, i.e.
// quarantined and discarded (kept, not delivered) and rejected (the relay refused it).
const std::vector<std::string>& attentionStates();
// Every state of a held row (holding, deliver, delivered, quarantined, ...).
const std::set<std::string>& holdStates();

// A held row and its message's recipients, as listed.
struct QuarantineEntry {
  db::HeldMessage held;
  std::vector<db::Recipient> recipients;
};

// HoldQueue::list with each row's recipients; `states` empty = attentionStates().
std::vector<QuarantineEntry> listQuarantine(db::Database& db,
                                            const std::vector<std::string>& states,
                                            const std::string& sink, std::size_t limit);

// A listed row: {"id", "sink", "state", "action", "message_id", "sender", "recipients",
// "verdict" (null until checked), "why", "since" (when the action was decided, ISO 8601)}.
Poco::JSON::Object::Ptr quarantineJson(const QuarantineEntry& entry);

// One held message: the list's fields, then every field of its held row ("held_at", "tries",
// "last_error", "next_try_at", "delivered_recipients", "delivered_at", "relay_reply",
// "released_by", "released_at", "smtputf8", "xforward"; times null when unset), and its
// queue row with the envelope as "message" (null when the row is gone).
Poco::JSON::Object::Ptr quarantineDetailJson(const db::HeldMessage& held,
                                             const std::optional<db::MessageRecord>& message);

// "2026-11-30T04:00:00.000Z", '' for 0 (never).
std::string heldTime(std::int64_t ms);

struct QuarantineChange {
  enum Result { Done, Unknown, WrongState };
  Result result = Unknown;
  db::HeldMessage held;  // after the change (Done), or as found (WrongState)
  std::string error;     // what to tell the administrator when not Done
};

// quarantined, discarded or rejected -> deliver (HoldQueue::release), recorded with `by`.
QuarantineChange releaseHeld(db::Database& db, const std::string& id, const std::string& by,
                             std::int64_t nowMs);
// quarantined, discarded or rejected -> deleted (HoldQueue::remove), recorded with `by`.
QuarantineChange deleteHeld(db::Database& db, const std::string& id, const std::string& by,
                            std::int64_t nowMs);

}  // namespace bccsink::report
