#pragma once
// Reading and binding columns the way every repository does: NULL reads as '' or 0, and
// '' binds as NULL for optional columns; text from mail is made storable the same way on
// both engines.
//
// Poco 1.11 prepares a statement again at every execute() when it is bound to single
// values (measured: 300 executions, 300 sqlite3_prepare_v2), and a prepare costs more than
// a small statement's run. So statements over many rows bind whole columns (std::vector:
// one prepare, executed per element) or list their keys in one `IN (?, ...)`.

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Nullable.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/Text.h"
#include "db/Database.h"

namespace bccsink::db {

inline std::string text(Poco::Data::RecordSet& rs, const std::string& column) {
  return rs[column].isEmpty() ? std::string() : rs[column].convert<std::string>();
}

inline std::string text(Poco::Data::RecordSet& rs, std::size_t column) {
  return rs.value(column).isEmpty() ? std::string() : rs.value(column).convert<std::string>();
}

inline std::int64_t integer(Poco::Data::RecordSet& rs, const std::string& column) {
  return rs[column].isEmpty() ? 0 : rs[column].convert<std::int64_t>();
}

inline std::int64_t integer(Poco::Data::RecordSet& rs, std::size_t column) {
  return rs.value(column).isEmpty() ? 0 : rs.value(column).convert<std::int64_t>();
}

inline Poco::Nullable<std::string> nullIfEmpty(const std::string& s) {
  return s.empty() ? Poco::Nullable<std::string>() : Poco::Nullable<std::string>(s);
}

// Text that came from mail (envelope, headers, file names, errors quoting them) as both
// engines store it: PostgreSQL refuses bytes that are not UTF-8 and ends a text parameter
// at its first NUL, silently, where SQLite keeps anything (db/POSTGRES.md 2.5). So each
// invalid byte becomes U+FFFD and NULs are dropped, on both, and a row reads back the same
// whichever engine holds it.
inline std::string storedText(std::string_view s) {
  std::string out = toValidUtf8(s);
  std::erase(out, '\0');
  return out;
}

// A statement executed more than once: bound to columns (Poco runs it once per element) or
// kept and run again. Poco 1.11's PostgreSQL statement frees its last result and keeps the
// pointer (StatementExecutor::clearResults), so when an execution fails after one that
// succeeded, its next execution or its destruction frees that result again: a double
// free, the process aborts. So on PostgreSQL a statement whose execution failed is never
// run again nor destroyed: it is left behind (some KB, only after an error: a lost
// server, a refused row).
class ReusedStatement {
 public:
  explicit ReusedStatement(Database& db)
      : stmt_(new Poco::Data::Statement(db.session())),
        leakOnFailure_(db.engine() == Engine::Postgresql) {}
  ~ReusedStatement() {
    if (!failed_ || !leakOnFailure_) delete stmt_;
  }
  ReusedStatement(const ReusedStatement&) = delete;
  ReusedStatement& operator=(const ReusedStatement&) = delete;

  Poco::Data::Statement& operator*() { return *stmt_; }
  // Rows affected (or returned). Throws what the statement threw; a failed one throws
  // std::logic_error when run again.
  std::size_t execute() {
    if (failed_) throw std::logic_error("a statement that failed is not run again");
    try {
      return stmt_->execute();
    } catch (...) {
      failed_ = true;
      throw;
    }
  }

 private:
  Poco::Data::Statement* stmt_;
  bool leakOnFailure_;
  bool failed_ = false;
};

// Makes `stmt` the statement `head (?, ?, ...) tail`, one `?` per key, each key bound in
// order (keys must outlive the statement's execution), the whole text passed through
// Database::sql(). Values bound before the call belong to `?`s in `head`, values bound
// after it to `?`s in `tail`; the keys must not be empty.
inline void keyListStatement(const Database& db, Poco::Data::Statement& stmt, std::string_view head,
                             const std::vector<std::string>& keys, std::string_view tail) {
  std::string text(head);
  text += '(';
  for (std::size_t i = 0; i < keys.size(); ++i) {
    stmt, Poco::Data::Keywords::useRef(keys[i]);
    text += i == 0 ? "?" : ", ?";
  }
  text += ')';
  text += tail;
  stmt << db.sql(text);
}

}  // namespace bccsink::db
