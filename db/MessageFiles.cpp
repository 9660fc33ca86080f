#include "db/MessageFiles.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include "db/Columns.h"
#include "db/Database.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {
namespace {}  // namespace

MessageFiles::MessageFiles(Database& db) : db_(db) {}

void MessageFiles::save(const std::string& msgId, const std::vector<MessageFile>& files,
                        const std::string& errors, const std::string& nowIso) {
  auto& s = db_.session();
  std::string id = msgId, name, path, extension;
  Poco::Nullable<std::string> sha256, verdict, reason, errorText = nullIfEmpty(errors);
  int position = 0, mismatch = 0, selected = 0;
  Poco::Int64 size = 0;
  Statement insert =
      (s << "INSERT INTO message_files (msg_id, position, sha256, name, path, extension,"
            " extension_mismatch, size, selected, verdict, reason)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
       use(id), use(position), use(sha256), use(name), use(path), use(extension), use(mismatch),
       use(size), use(selected), use(verdict), use(reason));
  WriteTransaction tx(db_);
  s << "DELETE FROM message_files WHERE msg_id = ?", use(id), now;
  std::string at = nowIso;
  s << "UPDATE messages SET errors = ?, extracted_at = ? WHERE id = ?", use(errorText), use(at),
      use(id), now;
  for (const auto& f : files) {
    position = f.position;
    sha256 = nullIfEmpty(f.sha256);
    name = f.name;
    path = f.path;
    extension = f.extension;
    mismatch = f.extensionMismatch ? 1 : 0;
    size = f.size;
    selected = f.selected ? 1 : 0;
    verdict = nullIfEmpty(f.verdict);
    reason = nullIfEmpty(f.reason);
    insert.execute();
  }
  tx.commit();
}

std::vector<MessageFile> MessageFiles::list(const std::string& msgId) {
  std::string id = msgId;
  Statement stmt(db_.session());
  stmt << "SELECT m.position, m.sha256, m.name, m.path, m.extension, m.extension_mismatch,"
          " m.size, m.selected, m.verdict, m.reason, f.md5, f.true_type, f.description, f.family"
          " FROM message_files m LEFT JOIN files f ON f.sha256 = m.sha256"
          " WHERE m.msg_id = ? ORDER BY m.position",
      use(id);
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<MessageFile> out;
  for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
    MessageFile f;
    f.position = static_cast<int>(integer(rs, 0));
    f.sha256 = text(rs, 1);
    f.name = text(rs, 2);
    f.path = text(rs, 3);
    f.extension = text(rs, 4);
    f.extensionMismatch = integer(rs, 5) != 0;
    f.size = integer(rs, 6);
    f.selected = integer(rs, 7) != 0;
    f.verdict = text(rs, 8);
    f.reason = text(rs, 9);
    f.md5 = text(rs, 10);
    f.trueType = text(rs, 11);
    f.description = text(rs, 12);
    f.family = text(rs, 13);
    out.push_back(std::move(f));
  }
  return out;
}

std::string MessageFiles::errors(const std::string& msgId) {
  std::string id = msgId;
  std::vector<Poco::Nullable<std::string>> found;
  db_.session() << "SELECT errors FROM messages WHERE id = ?", use(id), into(found), now;
  if (found.empty() || found.front().isNull()) return "";
  return found.front().value();
}

void MessageFiles::setVerdict(const std::string& msgId, int position, const std::string& verdict,
                              const std::string& reason) {
  std::string id = msgId, v = verdict;
  Poco::Nullable<std::string> r = nullIfEmpty(reason);
  int pos = position;
  WriteTransaction tx(db_);
  db_.session() << "UPDATE message_files SET verdict = ?, reason = COALESCE(?, reason)"
                   " WHERE msg_id = ? AND position = ? AND verdict IS NULL",
      use(v), use(r), use(id), use(pos), now;
  tx.commit();
}

std::vector<std::string> MessageFiles::waitingOn(const std::string& sha256,
                                                 const std::string& owner) {
  std::string key = sha256, who = owner;
  std::vector<std::string> ids;
  db_.session() << "SELECT DISTINCT m.msg_id FROM message_files m JOIN messages g"
                   " ON g.id = m.msg_id WHERE m.sha256 = ? AND m.selected = 1"
                   " AND m.verdict IS NULL AND g.state = 'analyzing' AND g.lease_owner = ?"
                   " ORDER BY m.msg_id",
      use(key), use(who), into(ids), now;
  return ids;
}

}  // namespace bccsink::db
