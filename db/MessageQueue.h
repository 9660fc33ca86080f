#pragma once
// The message queue: the intake adds pending rows, workers (later) claim them, the
// administrator's commands list them. Every method is one short transaction.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "MessageRecord.h"

namespace bccsink::db {

class Database;

struct ListFilter {
  std::string state;      // '' = every state
  std::size_t limit = 0;  // 0 = no limit
};

class MessageQueue {
 public:
  explicit MessageQueue(Database& db);

  // Inserts every record as `pending` in one write transaction: all or none.
  // Throws on any database error (the caller turns it into a 4xx).
  void insertPending(const std::vector<MessageRecord>& records);

  std::vector<MessageRecord> list(const ListFilter& filter);
  std::optional<MessageRecord> find(const std::string& id);
  std::map<std::string, std::int64_t> countByState();
  std::int64_t countInState(const std::string& state);
  // Every spool file name the queue refers to (for the consistency check).
  std::vector<std::string> spoolFiles();

  // Work that a crashed run left half-done: `analyzing` rows whose lease ran out
  // return to `pending`. Returns how many.
  int releaseExpiredLeases(std::int64_t nowMs);

 private:
  std::vector<MessageRecord> select(const std::string& where, const std::string& arg,
                                    std::size_t limit);
  Database& db_;
};

}  // namespace bccsink::db
