#pragma once
// The read and delivery side of retro-alerts (schema 7: retro_alerts, retro_messages). The
// detector (sandbox/retro) writes an alert when a file's verdict turned worse after
// messages carrying it were judged; this repository is what the reporter, the API and the
// commands ask of those rows: the alerts due for this sink's report, one alert with every
// message it names (their envelope from messages and message_recipients: no subject, which
// is only in the spool of the sink that received the copy), delivery marks with back-off,
// the list newest first, the alerts that name one message, resend.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bccsink::db {

class Database;

// retro_alerts.cause
namespace retro_cause {
inline constexpr const char* kLateAnswer = "late-answer";
inline constexpr const char* kRulesReload = "rules-reload";
inline constexpr const char* kSignatureUpdate = "signature-update";
inline constexpr const char* kHashList = "hash-list";
}  // namespace retro_cause

// One message an alert names, with what the queue knows of it.
struct RetroMessage {
  std::string msgId;
  std::string earlierVerdict;  // the message's verdict before the change
  std::string earlierCheckedAt;
  std::string verdict;   // the message's verdict now
  std::string filePath;  // where the file sat in the message ("a.zip > b.exe")
  // From messages and message_recipients.
  std::string sink;    // the sink that received the copy
  std::string sender;  // envelope MAIL FROM, '' for <>
  std::string receivedAt;
  std::string headerMessageId;
  std::vector<std::string> recipients;          // the copy's envelope recipients, in order
  std::vector<std::string> originalRecipients;  // decoded ones (schema 7), '' ones left out
};

struct RetroAlert {
  std::string id;    // ULID
  std::string sink;  // the sink that found the change and reports it
  std::string sha256;
  std::string analyzer;
  std::string verdict;  // the file's verdict now
  std::vector<std::string> threats;
  std::string cause;  // retro_cause
  std::string createdAt;
  std::int64_t createdMs = 0;
  std::string reportStatus;  // due, sent, undeliverable, none
  int reportAttempts = 0;
  std::int64_t reportNextAt = 0;
  std::string reportError;
  std::string reportedAt;
  std::size_t messageCount = 0;
  // Where the file sat in its messages (the first path in sort order): the list's name
  // for it without reading every message.
  std::string filePath;
  std::vector<RetroMessage> messages;  // filled by find(), oldest received first
};

// What a message's JSON says of the alerts that name it.
struct RetroMention {
  std::string alertId;
  std::string earlierVerdict;
  std::string earlierCheckedAt;
  std::string verdict;  // the message's verdict after this alert
  std::string filePath;
  std::string analyzer;
  std::vector<std::string> threats;
  std::string cause;
  std::string createdAt;
};

struct RetroQuery {
  std::string sink;          // '' = every sink's
  std::string status;        // report_status, '' = any
  std::string since, until;  // created_at, ISO as stored; '' = open
  std::size_t limit = 100;
};

class RetroReports {
 public:
  explicit RetroReports(Database& db);

  // Ids of this sink's alerts whose report is due and whose next try has come, oldest
  // first.
  std::vector<std::string> due(const std::string& sink, std::int64_t nowMs, std::size_t limit);
  // One alert with its messages; nullopt when there is none of that id.
  std::optional<RetroAlert> find(const std::string& id);
  // Alerts newest first (created_ms, then id), without their messages but with their count.
  std::vector<RetroAlert> list(const RetroQuery& query);
  // The alerts that name this message, oldest first.
  std::vector<RetroMention> ofMessage(const std::string& msgId);
  // The receiver took the report (Durable: forgetting it would send it again).
  void markSent(const std::string& id, const std::string& nowIso);
  // A try failed and another comes at nextMs: counts the attempt, keeps the error.
  void markDeferred(const std::string& id, const std::string& error, std::int64_t nextMs);
  // Refused for good, or the report could not be built; `report resend` puts it back.
  void markUndeliverable(const std::string& id, const std::string& error);
  // The report is due again at once (sent, undeliverable, or none: no message crossed
  // BccReportThreshold but the administrator asks for it). False when there is no such
  // alert or it is due already (asking again must not cut a waiting back-off short).
  bool requeue(const std::string& id);
  // Alerts per report_status (metrics, the overview).
  std::map<std::string, std::int64_t> countByStatus();

 private:
  Database& db_;
};

}  // namespace bccsink::db
