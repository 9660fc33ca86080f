#pragma once
// The message queue: the intake adds pending rows, workers (later) claim them, the
// administrator's commands list them. Every method is one short transaction. Text from
// mail is stored as db::storedText() makes it (valid UTF-8, no NUL), on both engines.
// The claim's statements are kept prepared from one call to the next (the workers' hot
// path): keep one MessageQueue per connection for claiming.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/MessageRecord.h"

namespace bccsink::db {

class Database;

struct ListFilter {
  std::string state;      // '' = every state
  std::size_t limit = 0;  // 0 = no limit
};

class MessageQueue {
 public:
  explicit MessageQueue(Database& db);
  ~MessageQueue();
  MessageQueue(MessageQueue&&) noexcept;

  // Inserts every record as `pending` in one write transaction: all or none.
  // Throws on any database error (the caller turns it into a 4xx).
  void insertPending(const std::vector<MessageRecord>& records);

  std::vector<MessageRecord> list(const ListFilter& filter);
  std::optional<MessageRecord> find(const std::string& id);
  // find() of each, the statements prepared once: in the order given, missing ones left out.
  std::vector<MessageRecord> findAll(const std::vector<std::string>& ids);
  std::map<std::string, std::int64_t> countByState();
  std::int64_t countInState(const std::string& state);
  // Messages waiting for analysis: pending or analyzing.
  std::int64_t countBacklog();
  // Every spool file name the queue refers to (for the consistency check).
  std::vector<std::string> spoolFiles();

  // Work that a crashed run left half-done: `analyzing` rows whose lease ran out
  // return to `pending`. Returns how many.
  int releaseExpiredLeases(std::int64_t nowMs);
  // At start: every `analyzing` row of this sink returns to `pending` (its only claimer,
  // the previous run, is gone). Returns how many.
  int releaseLeasesOf(const std::string& sink);

  // The oldest `pending` messages this sink received, at most `limit`, oldest first, now
  // `analyzing` under a lease held by `sink`, their attempts counted and their deadline
  // set: one write transaction for all of them. Empty when none waits.
  std::vector<MessageRecord> claim(const std::string& sink, std::size_t limit,
                                   std::int64_t leaseUntilMs, std::int64_t deadlineMs,
                                   const std::string& nowIso);
  // claim() of one; nullopt when none waits.
  std::optional<MessageRecord> claimNext(const std::string& sink, std::int64_t leaseUntilMs,
                                         std::int64_t deadlineMs, const std::string& nowIso);
  // analyzing -> pending for the claimed messages `owner` never began (not extracted), the
  // claim's attempt given back: a worker stopping with part of its claim untouched.
  // Returns how many.
  int unclaim(const std::vector<std::string>& ids, const std::string& owner);
  // Extends every lease `owner` holds (workers still on their messages).
  int renewLeases(const std::string& owner, std::int64_t leaseUntilMs);
  // `analyzing` messages whose lease `owner` holds.
  std::vector<MessageRecord> analyzingBy(const std::string& owner);
  // analyzing -> checked with the message's verdict, if `owner` still holds it. False
  // when it does not (another worker finished it, or the lease was lost).
  bool markChecked(const std::string& id, const std::string& owner, const std::string& verdict,
                   const std::string& nowIso);
  // markChecked() of each (id, verdict) in one write transaction; the ids it marked.
  std::vector<std::string> markChecked(
      const std::vector<std::pair<std::string, std::string>>& verdicts, const std::string& owner,
      const std::string& nowIso);
  // analyzing -> pending (a worker hit an error that may pass: disk full, database busy),
  // with the reason for `queue show`; the next claim counts another attempt.
  bool release(const std::string& id, const std::string& owner, const std::string& reason);
  // -> failed with the reason and the verdict known so far (at least unscanned: the
  // caller passes the worst of the files it could judge), from any state but reported.
  void markFailed(const std::string& id, const std::string& reason, const std::string& verdict,
                  const std::string& nowIso);

 private:
  struct Claim;  // the claim's statements, kept prepared across calls
  std::vector<MessageRecord> select(const std::string& where, const std::string& arg,
                                    std::size_t limit);
  std::vector<MessageRecord> claimOnce(Claim& claim);
  std::vector<MessageRecord> takeRows(Claim& claim);
  Database& db_;
  std::unique_ptr<Claim> claim_;  // built by the first claim
};

}  // namespace bccsink::db
