#include "db/Schema.h"

#include <Poco/Data/Statement.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "db/Database.h"

using namespace Poco::Data::Keywords;

namespace bccsink::db {
namespace {

// 8: report groups (issue 18, BccReportGroupWindow). Kept in one function so that it can
// be renumbered when another version 8 is merged first.
// report_group: the SHA-256 of the sorted SHA-256s of the files that crossed
// BccReportThreshold, set when the reporter judged the message due and grouping was on;
// NULL: reported alone (spoofed only, failed, digest mode, resent). Its window is its
// report_next_at (judged + window: ReportQueue::judge). report_batch: the
// group report that carried it, named by the id of that report's first message (a
// follow-up names the one it follows). The partial index finds a group's members without
// reading the sink's other reports.
std::vector<std::string> reportGroupMigration() {
  return {
      "ALTER TABLE messages ADD COLUMN report_group TEXT",
      "ALTER TABLE messages ADD COLUMN report_batch TEXT",
      "CREATE INDEX messages_report_group ON messages (sink, report_group, report_status)"
      " WHERE report_group IS NOT NULL",
  };
}

// Each entry is one schema version. Never edit a released entry: append a new one.
// Types and syntax are the common ground of SQLite and PostgreSQL.
const std::vector<std::vector<std::string>>& migrations() {
  static const std::vector<std::vector<std::string>> list = {
      {
          // 1: the intake queue.
          "CREATE TABLE messages ("
          " id TEXT PRIMARY KEY,"  // ULID, unique across sinks
          " sink TEXT NOT NULL,"   // the instance that received and spooled it
          " state TEXT NOT NULL,"  // pending, analyzing, checked, reported, failed
          " reason TEXT,"          // why it failed, or what went wrong
          " attempts INTEGER NOT NULL DEFAULT 0,"
          " lease_owner TEXT,"
          " lease_until BIGINT,"         // ms since the epoch
          " received_at TEXT NOT NULL,"  // ISO 8601 UTC with ms
          " updated_at TEXT NOT NULL,"
          " sender TEXT NOT NULL,"  // envelope MAIL FROM, '' for <>
          " client_ip TEXT NOT NULL,"
          " helo TEXT NOT NULL,"
          " tls INTEGER NOT NULL,"
          " header_message_id TEXT,"
          " size BIGINT NOT NULL,"
          " sha256 TEXT NOT NULL,"
          " spool_file TEXT NOT NULL,"  // file name inside DataDir/spool
          " envid TEXT,"
          " ret TEXT,"
          " body TEXT)",
          "CREATE INDEX messages_state ON messages (state, received_at)",
          "CREATE TABLE message_recipients ("
          " msg_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
          " position INTEGER NOT NULL,"
          " address TEXT NOT NULL,"
          " orcpt TEXT,"
          " notify TEXT,"
          " PRIMARY KEY (msg_id, position))",
      },
      {
          // 2: analysis. A message's outcome; the files found in it; the verdict cache
          // keyed by SHA-256 and analyzer, shared by every sink; in-flight submissions as
          // rows with a lease, so that a file is analysed once across the site.
          "ALTER TABLE messages ADD COLUMN verdict TEXT",  // worst of its files' when checked
          "ALTER TABLE messages ADD COLUMN checked_at TEXT",
          "ALTER TABLE messages ADD COLUMN deadline_at BIGINT",  // ms; set by each claim
          "ALTER TABLE messages ADD COLUMN errors TEXT",         // what extraction could not read
                                                          // Set when this claim's files are saved:
                                                          // until then there is nothing to
                                                          // complete.
          "ALTER TABLE messages ADD COLUMN extracted_at TEXT",
          "CREATE INDEX messages_lease ON messages (state, lease_owner)",
          "CREATE TABLE files ("
          " sha256 TEXT PRIMARY KEY,"
          " md5 TEXT NOT NULL,"
          " size BIGINT NOT NULL,"
          " true_type TEXT NOT NULL,"  // libmagic's MIME type
          " description TEXT NOT NULL,"
          " family TEXT NOT NULL,"
          " first_seen TEXT NOT NULL,"
          " last_seen TEXT NOT NULL,"
          " seen_count BIGINT NOT NULL)",
          "CREATE TABLE file_verdicts ("
          " sha256 TEXT NOT NULL REFERENCES files (sha256),"
          " analyzer TEXT NOT NULL,"
          " verdict TEXT NOT NULL,"  // clean, suspicious, dangerous, unscanned
          " score INTEGER NOT NULL,"
          " threats TEXT NOT NULL,"  // one name a line
          " report_url TEXT,"
          " task_id TEXT,"
          " reason TEXT,"
          " decided_at TEXT NOT NULL,"
          " decided_ms BIGINT NOT NULL,"
          " PRIMARY KEY (sha256, analyzer))",
          "CREATE TABLE file_submissions ("
          " sha256 TEXT NOT NULL,"
          " analyzer TEXT NOT NULL,"
          " owner TEXT NOT NULL,"  // the sink process that submitted it
          " lease_until BIGINT NOT NULL,"
          " PRIMARY KEY (sha256, analyzer))",
          "CREATE TABLE message_files ("
          " msg_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
          " position INTEGER NOT NULL,"
          " sha256 TEXT REFERENCES files (sha256),"  // NULL: the bytes could not be read
          " name TEXT NOT NULL,"
          " path TEXT NOT NULL,"  // containers and name, joined with ' > '
          " extension TEXT NOT NULL,"
          " extension_mismatch INTEGER NOT NULL,"
          " size BIGINT NOT NULL,"
          " selected INTEGER NOT NULL,"
          " verdict TEXT,"  // for this message; NULL while analysis is outstanding
          " reason TEXT,"
          " PRIMARY KEY (msg_id, position))",
          "CREATE INDEX message_files_sha256 ON message_files (sha256)",
      },
      {
          // 3: reports. The reporter judges each checked message once (spoof finding,
          // whether it needs a report) and delivers what is due, with retries.
          "ALTER TABLE messages ADD COLUMN spoofed INTEGER",  // NULL until judged
          "ALTER TABLE messages ADD COLUMN spoof_reason TEXT",
          // NULL: not judged yet; none: nothing to report; due: to be delivered; sent;
          // undeliverable: the server refused it for good (resend puts it back to due).
          "ALTER TABLE messages ADD COLUMN report_status TEXT",
          "ALTER TABLE messages ADD COLUMN report_attempts INTEGER NOT NULL DEFAULT 0",
          "ALTER TABLE messages ADD COLUMN report_next_at BIGINT",  // ms; the next try
          "ALTER TABLE messages ADD COLUMN report_error TEXT",      // the last failure
          "ALTER TABLE messages ADD COLUMN reported_at TEXT",
          "CREATE INDEX messages_report ON messages (state, report_status)",
      },
      {
          // 4: statistics. The origin hop's address (the host that connected to the site's
          // MTA), set when the reporter judges the message; the counters of each closed
          // interval as JSON, one row per sink and interval start.
          "ALTER TABLE messages ADD COLUMN origin_ip TEXT",
          "CREATE INDEX messages_received ON messages (sink, received_at)",
          "CREATE TABLE stats_intervals ("
          " sink TEXT NOT NULL,"
          " start_ms BIGINT NOT NULL,"  // ms since the epoch, a multiple of the interval
          " end_ms BIGINT NOT NULL,"
          " computed_at TEXT NOT NULL,"
          " counters TEXT NOT NULL,"  // the interval's JSON (report/StatsCounters)
          " exported_at TEXT,"        // NULL until StatsExportUrl took it
          " PRIMARY KEY (sink, start_ms))",
          "CREATE INDEX stats_intervals_export ON stats_intervals (sink, exported_at, start_ms)",
      },
      {
          // 5: the claim and the reporter's rounds find their rows by seeking. With only
          // (state, received_at) and (state, report_status), SQLite took (sink,
          // received_at) for `state = ? AND sink = ? ORDER BY received_at, id` and read every
          // row the sink ever received, on each claim (under the write lock) and each
          // reporter round: work that grew with the queue while the intake waited.
          // messages_lease (state, lease_owner) goes: what looked a lease up names the state
          // `analyzing`, which messages_state now leads with, and every state change paid
          // for its pages in the log.
          "DROP INDEX messages_lease",
          "DROP INDEX messages_state",
          "CREATE INDEX messages_state ON messages (state, sink, received_at, id)",
          "DROP INDEX messages_report",
          "CREATE INDEX messages_report ON messages (sink, report_status, state, received_at)",
      },
      {
          // 6: SMTP mode. A message that came in on SmtpSocket has a row here from its
          // intake transaction on: held until its verdict (or SmtpMaxHold), then an action,
          // then re-injection into SmtpSenderRelay with retries, or kept in quarantine.
          "CREATE TABLE held ("
          " msg_id TEXT PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,"
          " sink TEXT NOT NULL,"
          // holding, deliver, delivered, quarantined, discarded, rejected, deleted
          " state TEXT NOT NULL,"
          " action TEXT,"  // pass, tag, quarantine, discard; NULL while holding
          " why TEXT,"     // what decided it: the verdict and its reason, or the hold limit
          " smtputf8 INTEGER NOT NULL,"
          " xforward TEXT,"            // NAME=value lines, as the client sent them
          " held_ms BIGINT NOT NULL,"  // ms since the epoch: when the 250 went out
          " decided_ms BIGINT,"        // when the action was chosen
          " tries INTEGER NOT NULL DEFAULT 0,"
          " next_ms BIGINT NOT NULL DEFAULT 0,"  // the next delivery try
          " last_error TEXT,"                    // the last delivery failure
          " done_rcpts TEXT,"                    // recipient positions already delivered, "0,2"
          " delivered_ms BIGINT,"
          " relay_reply TEXT,"  // the relay's reply to the final dot
          " released_by TEXT,"  // who released it from quarantine
          " released_ms BIGINT)",
          "CREATE INDEX held_state ON held (sink, state, next_ms)",
          // What the administrator must hear of (rejected, or delivered with recipients
          // refused for good) without reading every row ever delivered.
          "CREATE INDEX held_attention ON held (sink, decided_ms) WHERE last_error IS NOT NULL",
      },
      {
          // 7: the life of a copy (issue 17).
          // Retention: a copy's content (its spool record or file, and the files/ entries
          // no kept copy refers to any more) is deleted after BccKeepClean or
          // BccKeepFlagged; the row stays until BccKeepRows. NULL: the content is kept.
          // The partial index is what the retention sweep walks, oldest first, without
          // stepping over every copy whose content already went.
          "ALTER TABLE messages ADD COLUMN content_expired_at TEXT",
          "CREATE INDEX messages_content ON messages (sink, received_at)"
          " WHERE content_expired_at IS NULL",
          // Original recipients: a copy made by recipient_bcc_maps carries each original
          // recipient encoded in its own (watch+LOCAL=DOMAIN@bcc.example.com); decoded at
          // intake, NULL when the address does not encode one (and always in SMTP mode,
          // whose recipients are the real ones).
          "ALTER TABLE message_recipients ADD COLUMN original TEXT",
          // Retro-alerts: a file's verdict turned worse after messages that carried it
          // were judged (a late sandbox answer, new YARA rules, new clamd signatures, a
          // hash list entry). One alert per change, found and reported by the sink that
          // recorded the new verdict; its messages (of any sink) judged again.
          "CREATE TABLE retro_alerts ("
          " id TEXT PRIMARY KEY,"  // ULID
          " sink TEXT NOT NULL,"   // the sink that found the change and reports it
          " sha256 TEXT NOT NULL,"
          " analyzer TEXT NOT NULL,"  // whose answer turned
          " verdict TEXT NOT NULL,"   // the file's verdict now: suspicious or dangerous
          " threats TEXT NOT NULL,"   // one name a line
                                     // late-answer, rules-reload, signature-update, hash-list
          " cause TEXT NOT NULL,"
          " created_at TEXT NOT NULL,"  // ISO 8601 UTC
          " created_ms BIGINT NOT NULL,"
          // due, sent, undeliverable; none: no message crossed BccReportThreshold
          " report_status TEXT NOT NULL,"
          " report_attempts INTEGER NOT NULL DEFAULT 0,"
          " report_next_at BIGINT NOT NULL DEFAULT 0,"  // ms; the next try
          " report_error TEXT,"
          " reported_at TEXT)",
          "CREATE INDEX retro_alerts_report ON retro_alerts (sink, report_status, report_next_at)",
          "CREATE INDEX retro_alerts_created ON retro_alerts (created_ms)",
          "CREATE TABLE retro_messages ("
          " alert_id TEXT NOT NULL REFERENCES retro_alerts (id) ON DELETE CASCADE,"
          " msg_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
          " earlier_verdict TEXT NOT NULL,"     // the message's verdict before the change
          " earlier_checked_at TEXT NOT NULL,"  // when it was judged so
          " verdict TEXT NOT NULL,"             // the message's verdict now
          " file_path TEXT NOT NULL,"           // where the file sat in the message
          " PRIMARY KEY (alert_id, msg_id))",
          "CREATE INDEX retro_messages_msg ON retro_messages (msg_id)",
          // Re-checks: what an analyzer's answers depend on (the YARA rules' digest,
          // clamd's VERSION, the hash list's digest), per sink; when it changes, the kept
          // files of BccRetroWindow are scanned again. recheck_cursor: where that re-check
          // stands, NULL once done, so a restart goes on from there.
          "CREATE TABLE analyzer_generations ("
          " sink TEXT NOT NULL,"
          " analyzer TEXT NOT NULL,"
          " generation TEXT NOT NULL,"
          " changed_ms BIGINT NOT NULL,"
          " recheck_cursor TEXT,"
          " PRIMARY KEY (sink, analyzer))",
      },
      {
          // 8: files not kept (issue 18, finding 4). A message may add at most its
          // stored-content budget to DataDir/files (BccMaxStoredPerMessage); the files past
          // it are analysed from memory, and this says why their bytes are not kept (NULL:
          // kept). Retention and re-checks pass them by.
          "ALTER TABLE message_files ADD COLUMN not_kept TEXT",
      },
      // 9: report groups (issue 18, finding 12).
      reportGroupMigration(),
  };
  return list;
}

// The advisory lock migrations take on PostgreSQL: "bccsink" read as a number.
constexpr long long kMigrationLock = 0x62636373696e6bLL;

}  // namespace

int latestSchemaVersion() {
  return static_cast<int>(migrations().size());
}

void applyMigrations(Database& db) {
  auto& s = db.session();
  WriteTransaction tx(db);
  if (db.engine() == Engine::Postgresql) {
    // Two sinks starting at once: the second waits here until the first has committed,
    // then finds the schema current. The lock comes before CREATE TABLE IF NOT EXISTS, of
    // which two at once can fail on a unique index of the catalog. DDL is transactional:
    // a failed migration leaves nothing behind.
    s << "SET LOCAL lock_timeout = '5min'", now;
    s << "SELECT pg_advisory_xact_lock(" << kMigrationLock << ")", now;
  }
  s << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)", now;
  int current = 0;
  s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(current), now;
  if (current > latestSchemaVersion()) {
    throw std::runtime_error("database schema version " + std::to_string(current) +
                             " is newer than this build knows (" +
                             std::to_string(latestSchemaVersion()) + ")");
  }
  for (int v = current + 1; v <= latestSchemaVersion(); ++v) {
    for (const auto& sql : migrations()[v - 1]) s << sql, now;
    s << db.sql("INSERT INTO schema_migrations (version) VALUES (?)"), use(v), now;
  }
  tx.commit();
}

}  // namespace bccsink::db
