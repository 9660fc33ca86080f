#pragma once
// Retro-alerts, the write side (issue 17; schema 7: retro_alerts, retro_messages,
// analyzer_generations). When a file's verdict turns worse after messages that carried it
// were judged (a late sandbox answer, new YARA rules, new clamd signatures, a hash list
// entry), recordWorse() judges those messages again and leaves one alert row with one row
// per message for the retro report (report/retro/) to send. The analyzer generations are
// what the re-checks (sandbox/retro/RecheckStage) compare and where they stand.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bccsink::db {

class Database;

// A file's verdict that turned: what recordWorse() needs.
struct WorseVerdict {
  std::string alertId;  // a new ULID, the caller's (db/ does not make ids)
  std::string sha256, analyzer;
  std::string verdict;  // the file's stored verdict now: suspicious or dangerous
  std::vector<std::string> threats;
  std::string cause;           // late-answer, rules-reload, signature-update, hash-list
  std::string windowStartIso;  // messages received before this are left as they were
  std::string threshold;       // BccReportThreshold: suspicious, dangerous or unscanned
  std::string sink;            // who found the change and reports it
  std::string nowIso;
  std::int64_t nowMs = 0;
};

// What recordWorse() did: one alert of `messages` messages; `due` when the retro report
// must go out (report_status 'due'), else 'none'.
struct RetroOutcome {
  std::string alertId;
  int messages = 0;
  bool due = false;
};

// One file a re-check goes through, newest message first: its digest ('' for a message
// without a file to re-check, which only moves the cursor) and the cursor to store once it
// is done.
struct RecheckFile {
  std::string sha256;
  std::string cursor;
};

// Where an analyzer's re-check of this sink stands.
struct AnalyzerGeneration {
  std::string generation;
  std::int64_t changedMs = 0;
  std::optional<std::string> cursor;  // nullopt: no re-check to do; '': from the newest
};

// clean 0 < unscanned 1 < suspicious 2 < dangerous 3; -1 for anything else.
int retroRank(const std::string& verdict);

class RetroAlerts {
 public:
  explicit RetroAlerts(Database& db);

  // In one write transaction (on PostgreSQL under the per-file lock FileRepository takes,
  // so that two sinks make one alert of one change): every message of any sink received
  // since windowStartIso, judged (checked, reported or failed) and carrying the file with
  // a verdict below the new one gets that file's verdict (reason "retro: <analyzer>
  // <threats>") and its own verdict raised to the worst; one retro_alerts row and one
  // retro_messages row each. Nothing (no alert row) when no message was affected.
  std::optional<RetroOutcome> recordWorse(const WorseVerdict& change);

  // The analyzer's generation for `sink`, if one was ever stored.
  std::optional<AnalyzerGeneration> generation(const std::string& sink,
                                               const std::string& analyzer);
  // Stores the generation, its change time and the cursor (nullopt: NULL, nothing to do).
  void setGeneration(const std::string& sink, const std::string& analyzer,
                     const AnalyzerGeneration& g);
  // Moves the cursor only (nullopt: the re-check is done).
  void setCursor(const std::string& sink, const std::string& analyzer,
                 const std::optional<std::string>& cursor);

  // The files of the next `limit` messages of `sink` received since windowStartIso, newest
  // first (by received_at, then id, each message's files in order), after `cursor` (''
  // = from the newest; a cursor is "<received_at>/<id>" of the last message done). A file
  // carried by several messages comes once per message: the caller skips those it did.
  // `keptOnly`: only selected files of messages whose content is kept; else every file
  // with a digest (the hash list needs no bytes). Empty when no message is left.
  std::vector<RecheckFile> recheckBatch(const std::string& sink, const std::string& windowStartIso,
                                        const std::string& cursor, std::size_t limit,
                                        bool keptOnly);
  // How many distinct files recheckBatch() would go through from `cursor` on.
  std::int64_t recheckRemaining(const std::string& sink, const std::string& windowStartIso,
                                const std::string& cursor, bool keptOnly);

 private:
  Database& db_;
};

}  // namespace bccsink::db
