#pragma once
// A sink's SQLite database as a season of work leaves it, filled through the repositories,
// for the tests of `bccsink db copy`: messages with recipients (one claimed, one from <>),
// files and their verdicts, the files found in a message, statistics, an analysis in
// flight; and, written past the repositories, text SQLite keeps and PostgreSQL refuses.
// Also each table's rows as text, to compare a copy with its source.

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "base/Text.h"
#include "db/Columns.h"
#include "db/Database.h"
#include "db/FileRepository.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "db/StatsRepository.h"
#include "test/db/SampleRecord.h"

namespace bccsink::test {

// A sender with a byte that starts no UTF-8 sequence and a NUL, as PostgreSQL stores it.
inline const std::string kBadSender = std::string(
    "b\xff"
    "ob\0x@example.org",
    18);
inline const std::string kBadSenderStored = "b\xEF\xBF\xBDobx@example.org";

inline std::string copyTestId(int i) {
  std::string n = std::to_string(i);
  return "01JCOPY" + std::string(19 - n.size(), '0') + n;
}

// `messages` messages of sink `sink` (at least 3) and everything hanging off them.
inline void fillSource(db::Database& d, int messages, const std::string& sink = "old-host") {
  db::MessageQueue queue(d);
  std::vector<db::MessageRecord> records;
  for (int i = 0; i < messages; ++i) {
    auto r = sampleRecord(copyTestId(i), "2026-11-30T04:00:00.000Z", sink);
    r.sender = "sender" + std::to_string(i) + "@example.org";
    r.recipients = {{"watch@bcc.test", "", ""}, {"other@bcc.test", "rfc822;x@y.test", "NEVER"}};
    r.headerMessageId = i % 2 ? "<m" + std::to_string(i) + "@example.org>" : "";
    r.size = 1000 + i;
    records.push_back(r);
  }
  records[0].sender = "";  // <>
  records[1].envid = "env-1";
  records[1].body = "8BITMIME";
  records[1].tls = true;
  queue.insertPending(records);
  queue.claim(sink, 1, 4102444800000, 4102444800000, "2026-11-30T04:01:00.000Z");

  db::FileRepository files(d);
  const std::string a(64, 'a'), b(64, 'b');
  auto fileRow = [](const std::string& sha256, std::int64_t size, const std::string& type) {
    db::FileRow f;
    f.sha256 = sha256;
    f.md5 = sha256.substr(0, 32);
    f.size = size;
    f.trueType = type;
    f.description = type + " data";
    f.family = "archive";
    return f;
  };
  files.recordSeen({fileRow(a, 100, "application/zip"), fileRow(b, 200, "application/x-dosexec")},
                   "2026-11-30T04:01:00.000Z");
  db::StoredVerdict v;
  v.sha256 = b;
  v.analyzer = "vxcube";
  v.verdict = "dangerous";
  v.score = 90;
  v.threats = {"Trojan.A", "Trojan.B"};
  v.reportUrl = "https://vxcube.test/r/1";
  v.taskId = "t-1";
  v.decidedAt = "2026-11-30T04:02:00.000Z";
  v.decidedMs = 1796011320000;
  files.recordVerdict(v);
  files.claimSubmission(a, "vxcube", sink, {}, 1796011320000, 1796011380000);

  db::MessageFiles found(d);
  auto file = [](int position, const std::string& sha256, const std::string& name,
                 const std::string& verdict) {
    db::MessageFile f;
    f.position = position;
    f.sha256 = sha256;
    f.name = name;
    f.path = position == 1 ? "invoice.zip > " + name : name;
    f.extension = name.substr(name.find('.') + 1);
    f.extensionMismatch = position == 1;
    f.size = 100 + position;
    f.selected = !verdict.empty();
    f.verdict = verdict;
    f.reason = verdict.empty() ? "not selected" : "";
    return f;
  };
  db::MessageFile zip = file(0, a, "invoice.zip", "");
  db::MessageFile exe = file(1, b, "a.exe", "dangerous");
  db::MessageFile unreadable = file(2, "", "broken.doc", "");
  found.save(copyTestId(0), {zip, exe, unreadable}, "one error", "2026-11-30T04:01:30.000Z");

  db::StatsRepository stats(d);
  stats.save(
      {sink, 1796011200000, 1796011500000, "2026-11-30T04:05:00.000Z", "{\"messages\":3}", ""});
  stats.save({sink, 1796011500000, 1796011800000, "2026-11-30T04:10:00.000Z", "{\"messages\":0}",
              "2026-11-30T04:11:00.000Z"});

  // What SQLite keeps and PostgreSQL's text refuses, written past the repositories (which
  // may clean it on their way in).
  using namespace Poco::Data::Keywords;
  std::string sender = kBadSender, id = copyTestId(2);
  d.session() << "UPDATE messages SET sender = ? WHERE id = ?", use(sender), use(id), now;
}

using Cell = std::optional<std::string>;
using Row = std::vector<Cell>;

// Every row of `table` as text (NULL as nullopt), columns by name in `columns`' order,
// rows sorted, repeated rows once when `distinct`; `storable` passes each text as the copy
// stores it. SQLite's text is read as hex: Poco would end it at a NUL.
inline std::vector<Row> tableRows(db::Database& d, const std::string& table,
                                  const std::vector<std::string>& columns, bool storable = false,
                                  bool distinct = false) {
  const bool hex = d.engine() == db::Engine::Sqlite;
  std::string select;
  for (const auto& c : columns) {
    select += (select.empty() ? "" : ", ") +
              (hex ? "CASE WHEN " + c + " IS NULL THEN NULL ELSE hex(" + c + ") END" : c);
  }
  Poco::Data::Statement stmt(d.session());
  stmt << "SELECT " + select + " FROM " + table;
  stmt.execute();
  Poco::Data::RecordSet rs(stmt);
  std::vector<Row> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    Row row;
    for (std::size_t i = 0; i < columns.size(); ++i) {
      if (rs.value(i).isEmpty()) {
        row.emplace_back();
        continue;
      }
      auto s = rs.value(i).convert<std::string>();
      if (hex) {
        std::string bytes;
        for (std::size_t k = 0; k + 1 < s.size(); k += 2)
          bytes += static_cast<char>(std::stoi(s.substr(k, 2), nullptr, 16));
        s = bytes;
      }
      if (storable) s = db::storedText(s);
      row.emplace_back(s);
    }
    out.push_back(row);
  }
  std::sort(out.begin(), out.end());
  if (distinct) out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The column names of `table` (SQLite's PRAGMA: the source is SQLite).
inline std::vector<std::string> sqliteColumns(db::Database& d, const std::string& table) {
  Poco::Data::Statement stmt(d.session());
  stmt << "SELECT name FROM pragma_table_info('" + table + "') ORDER BY cid";
  stmt.execute();
  Poco::Data::RecordSet rs(stmt);
  std::vector<std::string> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext())
    out.push_back(rs.value(0).toString());
  return out;
}

}  // namespace bccsink::test
