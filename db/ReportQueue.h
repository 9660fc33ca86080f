#pragma once
// The reporter's side of the queue (DESIGN.md: checked -> reported). The reporter judges
// each checked (or failed) message once: whether it is a spoof and whether it needs a
// report; then it delivers what is due, retrying with back-off, and a message becomes
// `reported` only after the server took the report. Every method is one transaction.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bccsink::db {

class Database;

// The reporter's decision on one message (ReportQueue::judge).
struct Judgement {
  std::string id;
  bool spoofed = false;
  std::string spoofReason;
  bool due = false;      // a report is to be delivered
  std::string originIp;  // '' = unknown
  // BccReportGroupWindow: the key of the file(s) that flagged it ('' = reported alone),
  // and until when it waits for others of its group (report_next_at; 0 = at once).
  std::string group;
  std::int64_t holdUntilMs = 0;
};

// A group report that went out (ReportQueue::lastBatch): named by its first message.
struct GroupBatch {
  std::string batch;       // the id of its first message
  std::string reportedAt;  // ISO 8601 UTC
  std::int64_t count = 0;  // messages it listed
  std::int64_t total = 0;  // messages of the group reported so far, in every batch
};

class ReportQueue {
 public:
  explicit ReportQueue(Database& db);

  // Ids of this sink's checked or failed messages the reporter has not judged yet,
  // oldest first.
  std::vector<std::string> unjudged(const std::string& sink, std::size_t limit);
  // Records the judgement: the spoof finding and report_status none or due; and, for the
  // statistics, the origin hop's address (the host that connected to the site's MTA;
  // '' = unknown, the statistics then use the copy's client address).
  void judge(const std::string& id, bool spoofed, const std::string& spoofReason, bool due,
             const std::string& originIp = "");
  // judge() of each, in one write transaction (a reporter's round).
  void judge(const std::vector<Judgement>& list);
  // Ids of this sink's messages whose report is due and whose next try has come, oldest
  // first.
  std::vector<std::string> due(const std::string& sink, std::int64_t nowMs, std::size_t limit);
  // The server took the report: report_status sent, a checked message becomes reported
  // (a failed one stays failed, its report sent).
  // `batch` (a group report: its first message's id) is recorded with each, for the
  // follow-up to name.
  void markSent(const std::vector<std::string>& ids, const std::string& nowIso,
                const std::string& batch = "");
  // A try failed and another will come at nextMs: counts the attempt, keeps the error.
  void markDeferred(const std::vector<std::string>& ids, const std::string& error,
                    std::int64_t nextMs);
  // The server refused the report for good (or tries ran out): report_status
  // undeliverable with the error; `report resend` puts it back.
  void markUndeliverable(const std::vector<std::string>& ids, const std::string& error);
  // SMTP mode: the hold state (db/HoldQueue) of each of `ids` that came in on SmtpSocket,
  // in one query; a BCC copy is absent. What was done with a message decides whether it
  // is reported (the reporter's judgement).
  std::map<std::string, std::string> holdStates(const std::vector<std::string>& ids);
  // Resend: the message's report is due again at once, whether it was sent, undeliverable
  // or judged not worth one (none: SMTP mode's relay refused a message judged clean).
  // False when the message does not exist, is not checked, reported or failed, its report
  // is due already (asking again must not cut the back-off of a report that is waiting for
  // its receiver) or held (SMTP mode has not decided: the report would not say what was
  // done with the message).
  bool requeue(const std::string& id);
  // The group key of each of `ids` that has one (judge()).
  std::map<std::string, std::string> groupsOf(const std::vector<std::string>& ids);
  // This sink's due messages of `group`, oldest first: those waiting for their window
  // whatever their time (the group goes out together), those in back-off once it came.
  std::vector<std::string> groupDue(const std::string& sink, const std::string& group,
                                    std::int64_t nowMs, std::size_t limit);
  // The last group report of `group` this sink sent (none: this is the first).
  std::optional<GroupBatch> lastBatch(const std::string& sink, const std::string& group);
  // Messages per report_status, judged ones only (for metrics and the API), in one scan.
  std::map<std::string, std::int64_t> countByStatus();

 private:
  Database& db_;
};

}  // namespace bccsink::db
