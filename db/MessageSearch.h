#pragma once
// Read-only look-ups for the HTTP API and the dashboard: messages by verdict, state,
// sender and time, newest first; the messages a file arrived in. Nothing here writes.

#include <cstdint>
#include <string>
#include <vector>

namespace bccsink::db {

class Database;

struct MessageQuery {
  std::string verdict;         // '' = any
  std::string state;           // '' = any
  std::string senderContains;  // case-insensitive substring of the envelope sender as stored
                               // (db::storedText); '' = any
  std::string sink;            // the sink that received it (SinkName); '' = every sink's
  std::string since, until;    // ISO 8601 UTC as stored (received_at >= since, < until); '' = open
  std::size_t limit = 100;     // at least 1
};

struct MessageSummary {
  std::string id, state, verdict, sender, headerMessageId, receivedAt, checkedAt, spoolFile;
  std::string sink;          // the sink that received it and holds its spool file
  std::string reportStatus;  // '' until the reporter judged it
  bool spoofed = false;      // meaningful once reportStatus is set
  std::int64_t size = 0;
  std::int64_t files = 0;  // files found in it
};

// One place a file was found.
struct FileSighting {
  std::string msgId, receivedAt, verdict;  // the message's verdict ('' before checked)
  std::string name, path;                  // the file's inside that message
};

class MessageSearch {
 public:
  explicit MessageSearch(Database& db);

  std::vector<MessageSummary> find(const MessageQuery& query);
  // Newest first, at most `limit`.
  std::vector<FileSighting> messagesWithFile(const std::string& sha256, std::size_t limit);

 private:
  Database& db_;
};

}  // namespace bccsink::db
