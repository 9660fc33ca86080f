#pragma once
// Retro-alert rows as the detector (sandbox/retro) writes them (schema 7), for the tests of
// what reads them: the repository, the retro report, its delivery, the API. The messages
// must exist (retro_messages refers to them).

#include <Poco/Data/Session.h>

#include <cstdint>
#include <string>
#include <vector>

#include "db/Database.h"

namespace bccsink::test {

struct RetroRow {
  std::string msgId;
  std::string earlierVerdict = "clean";
  std::string earlierCheckedAt = "2026-11-30T04:00:02.000Z";
  std::string verdict = "dangerous";
  std::string filePath = "invoice.zip > invoice.exe";
};

struct RetroAlertRow {
  std::string id;
  std::string sink = "sink-a";
  std::string sha256 = std::string(64, 'b');
  std::string analyzer = "yara";
  std::string verdict = "dangerous";
  std::string threats = "Win.Trojan.Agent\nEvil_Macro";
  std::string cause = "rules-reload";
  std::string createdAt = "2026-12-01T09:00:00.000Z";
  std::int64_t createdMs = 1764579600000;
  std::string reportStatus = "due";
  std::int64_t reportNextAt = 0;
  std::vector<RetroRow> messages;
};

inline void insertRetroAlert(db::Database& db, const RetroAlertRow& a) {
  using namespace Poco::Data::Keywords;
  auto row = a;
  db::WriteTransaction tx(db);
  db.session() << db.sql(
      "INSERT INTO retro_alerts (id, sink, sha256, analyzer, verdict, threats, cause,"
      " created_at, created_ms, report_status, report_next_at)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
      use(row.id), use(row.sink), use(row.sha256), use(row.analyzer), use(row.verdict),
      use(row.threats), use(row.cause), use(row.createdAt), use(row.createdMs),
      use(row.reportStatus), use(row.reportNextAt), now;
  for (auto& m : row.messages) {
    db.session() << db.sql(
        "INSERT INTO retro_messages (alert_id, msg_id, earlier_verdict, earlier_checked_at,"
        " verdict, file_path) VALUES (?, ?, ?, ?, ?, ?)"),
        use(row.id), use(m.msgId), use(m.earlierVerdict), use(m.earlierCheckedAt), use(m.verdict),
        use(m.filePath), now;
  }
  tx.commit();
}

// message_recipients.original of one recipient (the intake's decoding is not under test).
inline void setOriginalRecipient(db::Database& db, const std::string& msgId, int position,
                                 const std::string& original) {
  using namespace Poco::Data::Keywords;
  std::string id = msgId, value = original;
  int pos = position;
  db::WriteTransaction tx(db);
  db.session() << db.sql(
      "UPDATE message_recipients SET original = ? WHERE msg_id = ? AND position = ?"),
      use(value), use(id), use(pos), now;
  tx.commit();
}

}  // namespace bccsink::test
