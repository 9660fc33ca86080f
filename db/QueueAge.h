#pragma once
// How old this sink's backlog is, for /metrics and the verdict SLO (sandbox/slo): the
// oldest copy still waiting for its verdict (pending or analyzing) and how many waiting
// copies were received within a range. Reads only, each one indexed query on
// messages_state (state, sink, received_at, id): cheap enough for every scrape.

#include <cstdint>
#include <string>

namespace bccsink::db {

class Database;

class QueueAge {
 public:
  explicit QueueAge(Database& db) : db_(db) {}

  // received_at (ISO 8601 UTC) of `sink`'s oldest pending or analyzing copy; '' when none.
  std::string oldestWaiting(const std::string& sink);
  // `sink`'s pending and analyzing copies received at or after `fromIso` and before
  // `toIso` (ISO 8601 UTC as the queue writes it).
  std::int64_t countWaiting(const std::string& sink, const std::string& fromIso,
                            const std::string& toIso);

 private:
  Database& db_;
};

}  // namespace bccsink::db
