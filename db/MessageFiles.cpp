#include "db/MessageFiles.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <algorithm>

#include "db/Columns.h"
#include "db/Database.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink::db {

MessageFiles::MessageFiles(Database& db) : db_(db) {}

void MessageFiles::save(const std::string& msgId, const std::vector<MessageFile>& files,
                        const std::string& errors, const std::string& nowIso) {
  save(std::vector<ExtractedFiles>{{msgId, files, errors}}, nowIso);
}

void MessageFiles::save(const std::vector<ExtractedFiles>& list, const std::string& nowIso) {
  if (list.empty()) return;
  // Bound as columns: one prepared statement each for the whole list (see insertPending).
  std::vector<std::string> ids, errors, at;
  std::vector<std::string> msg, sha256, name, path, extension, verdict, reason, notKept;
  std::vector<int> position, mismatch, selected;
  std::vector<Poco::Int64> size;
  for (const auto& m : list) {
    ids.push_back(m.msgId);
    errors.push_back(storedText(m.errors));
    at.push_back(nowIso);
    for (const auto& f : m.files) {
      msg.push_back(m.msgId);
      position.push_back(f.position);
      sha256.push_back(f.sha256);
      name.push_back(storedText(f.name));
      path.push_back(storedText(f.path));
      extension.push_back(storedText(f.extension));
      mismatch.push_back(f.extensionMismatch ? 1 : 0);
      size.push_back(f.size);
      selected.push_back(f.selected ? 1 : 0);
      verdict.push_back(f.verdict);
      reason.push_back(storedText(f.reason));
      notKept.push_back(f.notKept);
    }
  }
  WriteTransaction tx(db_);
  ReusedStatement clear(db_), mark(db_), insert(db_);
  *clear << db_.sql("DELETE FROM message_files WHERE msg_id = ?"), use(ids);
  clear.execute();
  *mark << db_.sql("UPDATE messages SET errors = NULLIF(?, ''), extracted_at = ? WHERE id = ?"),
      use(errors), use(at), use(ids);
  mark.execute();
  if (!msg.empty()) {
    *insert << db_.sql(
        "INSERT INTO message_files (msg_id, position, sha256, name, path, extension,"
        " extension_mismatch, size, selected, verdict, reason, not_kept)"
        " VALUES (?, ?, NULLIF(?, ''), ?, ?, ?, ?, ?, ?, NULLIF(?, ''), NULLIF(?, ''),"
        " NULLIF(?, ''))"),
        use(msg), use(position), use(sha256), use(name), use(path), use(extension), use(mismatch),
        use(size), use(selected), use(verdict), use(reason), use(notKept);
    insert.execute();
  }
  tx.commit();
}

std::vector<MessageFile> MessageFiles::list(const std::string& msgId) {
  return listAll({msgId})[msgId];
}

std::map<std::string, std::vector<MessageFile>> MessageFiles::listAll(
    const std::vector<std::string>& msgIds) {
  std::map<std::string, std::vector<MessageFile>> out;
  constexpr std::size_t kKeysPerQuery = 500;  // far below SQLite's limit of bound values
  for (std::size_t at = 0; at < msgIds.size(); at += kKeysPerQuery) {
    std::vector<std::string> keys(msgIds.begin() + at,
                                  msgIds.begin() + std::min(msgIds.size(), at + kKeysPerQuery));
    Statement stmt(db_.session());
    keyListStatement(db_, stmt,
                     "SELECT m.msg_id, m.position, m.sha256, m.name, m.path, m.extension,"
                     " m.extension_mismatch, m.size, m.selected, m.verdict, m.reason, f.md5,"
                     " f.true_type, f.description, f.family, m.not_kept"
                     " FROM message_files m LEFT JOIN files f ON f.sha256 = m.sha256"
                     " WHERE m.msg_id IN ",
                     keys, " ORDER BY m.msg_id, m.position");
    stmt.execute();
    RecordSet rs(stmt);
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      MessageFile f;
      f.position = static_cast<int>(integer(rs, 1));
      f.sha256 = text(rs, 2);
      f.name = text(rs, 3);
      f.path = text(rs, 4);
      f.extension = text(rs, 5);
      f.extensionMismatch = integer(rs, 6) != 0;
      f.size = integer(rs, 7);
      f.selected = integer(rs, 8) != 0;
      f.verdict = text(rs, 9);
      f.reason = text(rs, 10);
      f.md5 = text(rs, 11);
      f.trueType = text(rs, 12);
      f.description = text(rs, 13);
      f.family = text(rs, 14);
      f.notKept = text(rs, 15);
      out[text(rs, 0)].push_back(std::move(f));
    }
  }
  return out;
}

std::string MessageFiles::errors(const std::string& msgId) {
  std::string id = msgId;
  std::vector<Poco::Nullable<std::string>> found;
  db_.session() << db_.sql("SELECT errors FROM messages WHERE id = ?"), use(id), into(found), now;
  if (found.empty() || found.front().isNull()) return "";
  return found.front().value();
}

void MessageFiles::setVerdict(const std::string& msgId, int position, const std::string& verdict,
                              const std::string& reason) {
  setVerdicts({{msgId, position, verdict, reason}});
}

void MessageFiles::setVerdicts(const std::vector<FileVerdict>& list) {
  if (list.empty()) return;
  std::vector<std::string> ids, verdicts, reasons;
  std::vector<int> positions;
  for (const auto& f : list) {
    ids.push_back(f.msgId);
    positions.push_back(f.position);
    verdicts.push_back(f.verdict);
    reasons.push_back(storedText(f.reason));
  }
  WriteTransaction tx(db_);
  ReusedStatement update(db_);
  *update << db_.sql(
      "UPDATE message_files SET verdict = ?,"
      " reason = COALESCE(NULLIF(?, ''), reason)"
      " WHERE msg_id = ? AND position = ? AND verdict IS NULL"),
      use(verdicts), use(reasons), use(ids), use(positions);
  update.execute();
  tx.commit();
}

std::vector<std::string> MessageFiles::waitingOn(const std::string& sha256,
                                                 const std::string& owner) {
  std::string key = sha256, who = owner;
  std::vector<std::string> ids;
  db_.session() << db_.sql(
      "SELECT DISTINCT m.msg_id FROM message_files m JOIN messages g"
      " ON g.id = m.msg_id WHERE m.sha256 = ? AND m.selected = 1"
      " AND m.verdict IS NULL AND g.state = 'analyzing'"
      " AND g.lease_owner = ? ORDER BY m.msg_id"),
      use(key), use(who), into(ids), now;
  return ids;
}

}  // namespace bccsink::db
