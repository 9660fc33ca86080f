#pragma once
// The JSON API behind /api/ (the contract the dashboard consumes): overview, message list
// with filters, one message's report, its raw content, resend, one file, statistics,
// retro-alerts (a file's verdict that turned after its messages were judged), and
// SMTP mode's quarantine (list, show, release, delete: report/http/Quarantine). The
// database may be shared by several sinks (issue 15): every sink's messages are listed,
// but a message's headers and bytes are read only by the sink that holds its spool file;
// another sink answers from the database and names that sink. Transport-free: the
// HTTP server hands over method, path and query and sends back what this returns, so each
// answer is tested without sockets. Bad input is a 4xx with {"error": "..."}; only a broken
// database makes a 5xx.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sandbox/analyzers/AnalyzerStats.h"
#include "sandbox/slo/VerdictSlo.h"

namespace bccsink::db {
class Database;
}

namespace bccsink::report {

// What the API reads beyond the database, filled by `bccsink serve`.
struct ApiContext {
  std::string spoolDir;  // where spooled messages are (subjects, reports)
  // SinkName: the messages whose `sink` this is are in spoolDir; another sink's are read
  // by that sink. '' = every message is in spoolDir (one sink).
  std::string sinkName;
  std::size_t skipTopReceived = 1;  // bccsink's own Received headers (ReporterSettings)
  // The analyzers' counters; unset: none.
  std::function<std::vector<sandbox::AnalyzerStats>()> analyzers;
  // Makes the message's report due again and wakes the reporter; false when the message
  // cannot be resent (ReportQueue::requeue). Unset: requeue only.
  std::function<bool(db::Database&, const std::string& id)> resend;
  // `bccsink stats --json --since SINCE [--sink SINK]` (sink '' = every sink's, summed);
  // unset: /api/stats answers 503.
  std::function<std::string(db::Database&, const std::string& sinceIso, const std::string& sink)>
      stats;
  // The verdict SLO now (the overview's "verdict_slo": target, share, oldest waiting copy);
  // unset: not in the overview.
  std::function<sandbox::SloReading(db::Database&)> slo;
  // The Prometheus text of /metrics; unset: /metrics answers 404.
  std::function<std::string(db::Database&)> metrics;
};

struct ApiResponse {
  int status = 200;
  std::string body;         // JSON, unless contentType says otherwise
  std::string allow;        // the Allow header of a 405
  std::string contentType;  // '' = JSON
  std::string attachment;   // a file name: sent as Content-Disposition: attachment
};

// Free bytes for an unprivileged writer on the file system of `dir`; 0 when unknown.
std::uint64_t diskFreeBytes(const std::string& dir);

// The version this was built as ("0.1.0").
const char* bccsinkVersion();

// {"error": message} as JSON text.
std::string errorJson(const std::string& message);

class ApiHandlers {
 public:
  explicit ApiHandlers(ApiContext context);

  // `path` starts with "/api/"; `database` opens (or lends) the request's one session on
  // first use; `client` is who asks (its address), recorded with a release or a delete.
  // Throws only when the database fails.
  ApiResponse handle(const std::string& method, const std::string& path,
                     const std::string& rawQuery, const std::function<db::Database&()>& database,
                     const std::string& client = "") const;

  const ApiContext& context() const { return context_; }

 private:
  ApiResponse overview(db::Database& db) const;
  ApiResponse messages(const std::string& rawQuery, db::Database& db) const;
  ApiResponse message(const std::string& id, db::Database& db) const;
  ApiResponse raw(const std::string& id, db::Database& db) const;
  ApiResponse resend(const std::string& id, db::Database& db) const;
  ApiResponse file(const std::string& sha256, db::Database& db) const;
  ApiResponse stats(const std::string& rawQuery, db::Database& db) const;
  ApiResponse quarantine(const std::string& rawQuery, db::Database& db) const;
  ApiResponse held(const std::string& id, db::Database& db) const;
  // "release" or "delete" of one held message, recorded as done by "api:" + client.
  ApiResponse changeHeld(const std::string& id, const std::string& action,
                         const std::string& client, db::Database& db) const;
  // Retro-alerts (report/retro): /api/retro (newest first), /api/retro/ID with its
  // messages, POST /api/retro/ID/resend.
  ApiResponse retroList(const std::string& rawQuery, db::Database& db) const;
  ApiResponse retroAlert(const std::string& id, db::Database& db) const;
  ApiResponse retroResend(const std::string& id, db::Database& db) const;
  // Whether the spool file of a message received by `sink` is in context_.spoolDir.
  bool heldHere(const std::string& sink) const;

  ApiContext context_;
};

}  // namespace bccsink::report
