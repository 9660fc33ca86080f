#include "db/SpoolRows.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>

#include "db/Columns.h"
#include "db/Database.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {

SpoolRows::SpoolRows(Database& db) : db_(db) {}

std::map<std::string, std::string> SpoolRows::locatorsOf(const std::vector<std::string>& ids) {
  std::map<std::string, std::string> out;
  if (ids.empty()) return out;
  // One prepared look-up by primary key per id: a segment holds some thousands.
  std::string id;
  std::vector<std::string> found;
  ReusedStatement stmt(db_);
  *stmt << db_.sql("SELECT spool_file FROM messages WHERE id = ?"), use(id), into(found);
  for (const auto& each : ids) {
    id = each;
    found.clear();
    stmt.execute();
    if (!found.empty()) out[each] = found.front();
  }
  return out;
}

std::vector<SpoolRow> SpoolRows::all(const std::string& sink) {
  std::string owner = sink;
  Statement stmt(db_.session());
  if (owner.empty()) {
    stmt << db_.sql(
        "SELECT id, spool_file, size, sha256 FROM messages"
        " WHERE content_expired_at IS NULL ORDER BY id");
  } else {
    stmt << db_.sql(
        "SELECT id, spool_file, size, sha256 FROM messages WHERE sink = ?"
        " AND content_expired_at IS NULL ORDER BY id"),
        use(owner);
  }
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<SpoolRow> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    out.push_back({text(rs, 0), text(rs, 1), integer(rs, 2), text(rs, 3)});
  }
  return out;
}

}  // namespace bccsink::db
