#pragma once
// SMTP mode's hold queue (schema 6, table `held`): one row per message that came in on
// SmtpSocket, inserted in its intake transaction (MessageQueue::insertPending), so that the
// 250 that made Postfix delete its copy stands for a row that ends delivered or kept.
//
//   holding --(verdict, or SmtpMaxHold)--> deliver     --(relay 250)--> delivered
//                                      \-> quarantined --release--> deliver
//                                      \-> discarded   --release--> deliver
//   deliver --(relay 5xx)--> rejected (the administrator is told; `release` tries again)
//   quarantined, discarded --delete or SmtpQuarantineDays--> deleted
//
// Every sink's hold stage works only its own rows (its spool holds the bytes); a release
// or a delete is a row change that any sink's command or API may make: the owner's stage
// delivers. Text from mail is stored as db::storedText() makes it.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bccsink::db {

class Database;

namespace hold_state {
inline constexpr const char* kHolding = "holding";
inline constexpr const char* kDeliver = "deliver";
inline constexpr const char* kDelivered = "delivered";
inline constexpr const char* kQuarantined = "quarantined";
inline constexpr const char* kDiscarded = "discarded";
inline constexpr const char* kRejected = "rejected";
inline constexpr const char* kDeleted = "deleted";
}  // namespace hold_state

namespace hold_action {
inline constexpr const char* kPass = "pass";
inline constexpr const char* kTag = "tag";
inline constexpr const char* kQuarantine = "quarantine";
inline constexpr const char* kDiscard = "discard";
}  // namespace hold_action

struct HeldMessage {
  std::string id;  // the message's queue id (messages.id)
  std::string sink;
  std::string state;   // hold_state
  std::string action;  // hold_action, '' while holding
  std::string why;     // what decided the action
  bool smtputf8 = false;
  std::string xforward;  // NAME=value lines
  std::int64_t heldMs = 0;
  std::int64_t decidedMs = 0;
  int tries = 0;
  std::int64_t nextMs = 0;
  std::string lastError;
  std::vector<int> doneRecipients;  // positions already delivered
  std::int64_t deliveredMs = 0;
  std::string relayReply;
  std::string releasedBy;
  std::int64_t releasedMs = 0;
  // From the message's row, for deciding and listing.
  std::string messageState;  // pending, analyzing, checked, reported, failed
  std::string verdict;       // '' until checked
  std::string headerMessageId;
  std::string sender;
};

// "0,2" <-> {0, 2}; malformed parts are skipped.
std::string positionsText(const std::vector<int>& positions);
std::vector<int> parsePositions(const std::string& text);

class HoldQueue {
 public:
  explicit HoldQueue(Database& db);

  // `holding` rows of `sink` whose message has a verdict (checked, reported or failed),
  // oldest first.
  std::vector<HeldMessage> decidable(const std::string& sink, std::size_t limit);
  // `holding` rows of `sink` held since `heldBeforeMs` or earlier, whatever their message's
  // state: SmtpMaxHold has run out.
  std::vector<HeldMessage> overdue(const std::string& sink, std::int64_t heldBeforeMs,
                                   std::size_t limit);
  // holding -> `state` (deliver, quarantined or discarded) with the action and why; the
  // message's report is released to the reporter (report_status held -> NULL) in the same
  // transaction. False when the row was not holding (already decided).
  bool decide(const std::string& id, const std::string& state, const std::string& action,
              const std::string& why, std::int64_t nowMs);
  // `deliver` rows of `sink` whose next try is due, oldest first.
  std::vector<HeldMessage> deliverable(const std::string& sink, std::int64_t nowMs,
                                       std::size_t limit);
  // deliver -> delivered, with the relay's reply: durable before the bytes may go.
  // `refused`: the recipients the relay refused for good while it took the others (kept as
  // the row's last error: the administrator is told, as of a rejection).
  bool markDelivered(const std::string& id, const std::string& relayReply, std::int64_t nowMs,
                     const std::string& refused = "");
  // Rows of `sink` the administrator must hear of (rejected, or delivered with recipients
  // refused for good) whose message's report is not due or sent yet (not judged, held, or
  // judged "none"), oldest decision first.
  std::vector<HeldMessage> awaitingReport(const std::string& sink, std::size_t limit);
  // A try that failed for now: tries + 1, the error, the next try; `done` the recipient
  // positions delivered so far (a try that reached some of them), durable.
  bool markRetry(const std::string& id, const std::string& error, std::int64_t nextMs,
                 const std::vector<int>& done);
  // deliver -> rejected (the relay refused for good), with the error.
  bool markRejected(const std::string& id, const std::string& error, std::int64_t nowMs,
                    const std::vector<int>& done);
  // quarantined, discarded or rejected -> deliver, recorded with who and when. False when
  // the message is in no such state.
  bool release(const std::string& id, const std::string& by, std::int64_t nowMs);
  // quarantined, discarded or rejected -> deleted (kept as a row, its content no longer
  // offered), recorded with who and when. False when the message is in no such state.
  bool remove(const std::string& id, const std::string& by, std::int64_t nowMs);
  // quarantined and discarded rows of `sink` decided before `beforeMs` -> deleted
  // (SmtpQuarantineDays); how many.
  int expire(const std::string& sink, std::int64_t beforeMs, std::int64_t nowMs);

  std::optional<HeldMessage> find(const std::string& id);
  // find() of each: the held rows of those of `ids` that have one, by id.
  std::map<std::string, HeldMessage> findAll(const std::vector<std::string>& ids);
  // Rows in any of `states` (every state when empty), of `sink` ('' = every sink), newest
  // decision first, at most `limit` (0 = no limit).
  std::vector<HeldMessage> list(const std::vector<std::string>& states, const std::string& sink,
                                std::size_t limit);
  // state -> rows of `sink`.
  std::map<std::string, std::int64_t> countByState(const std::string& sink);

 private:
  Database& db_;
};

}  // namespace bccsink::db
