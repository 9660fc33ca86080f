#include "db/MessageSearch.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include <algorithm>

#include "db/Columns.h"
#include "db/Conditions.h"
#include "db/Database.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {
namespace {

// A LIKE pattern that matches `text` literally anywhere (with ESCAPE '\').
std::string containsPattern(const std::string& text) {
  std::string out = "%";
  for (char c : text) {
    if (c == '%' || c == '_' || c == '\\') out += '\\';
    out += c;
  }
  return out + "%";
}

}  // namespace

MessageSearch::MessageSearch(Database& db) : db_(db) {}

std::vector<MessageSummary> MessageSearch::find(const MessageQuery& q) {
  Conditions where;
  where.add("m.verdict = ?", q.verdict);
  where.add("m.state = ?", q.state);
  // LOWER on both sides: PostgreSQL's LIKE is case-sensitive, SQLite's is not. Compared
  // with the sender as stored (db::storedText): a needle with bytes that are not UTF-8 or
  // a NUL is made the same way, or PostgreSQL would refuse it.
  if (!q.senderContains.empty())
    where.add("LOWER(m.sender) LIKE LOWER(?) ESCAPE '\\'",
              containsPattern(storedText(q.senderContains)));
  where.add("m.sink = ?", q.sink);
  where.add("m.received_at >= ?", q.since);
  where.add("m.received_at < ?", q.until);
  std::string sql =
      "SELECT m.id, m.state, m.verdict, m.sender, m.header_message_id, m.received_at,"
      " m.checked_at, m.spool_file, m.sink, m.report_status, m.spoofed, m.size,"
      " (SELECT COUNT(*) FROM message_files f WHERE f.msg_id = m.id) AS files"
      " FROM messages m" +
      where.sql();
  sql += " ORDER BY m.received_at DESC, m.id DESC LIMIT " +
         std::to_string(std::max<std::size_t>(q.limit, 1));
  Statement stmt(db_.session());
  stmt << db_.sql(sql);
  where.bind(stmt);
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<MessageSummary> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    MessageSummary m;
    m.id = text(rs, "id");
    m.state = text(rs, "state");
    m.verdict = text(rs, "verdict");
    m.sender = text(rs, "sender");
    m.headerMessageId = text(rs, "header_message_id");
    m.receivedAt = text(rs, "received_at");
    m.checkedAt = text(rs, "checked_at");
    m.spoolFile = text(rs, "spool_file");
    m.sink = text(rs, "sink");
    m.reportStatus = text(rs, "report_status");
    m.spoofed = integer(rs, "spoofed") != 0;
    m.size = integer(rs, "size");
    m.files = integer(rs, "files");
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<FileSighting> MessageSearch::messagesWithFile(const std::string& sha256,
                                                          std::size_t limit) {
  std::string key = sha256;
  Statement stmt(db_.session());
  stmt << db_.sql(
      "SELECT f.msg_id, m.received_at, m.verdict, f.name, f.path"
      " FROM message_files f JOIN messages m ON m.id = f.msg_id WHERE f.sha256 = ?"
      " ORDER BY m.received_at DESC, f.msg_id DESC, f.position LIMIT " +
      std::to_string(std::max<std::size_t>(limit, 1))),
      use(key);
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<FileSighting> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    out.push_back({text(rs, 0), text(rs, 1), text(rs, 2), text(rs, 3), text(rs, 4)});
  }
  return out;
}

}  // namespace bccsink::db
