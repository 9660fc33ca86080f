#include "sink/DbCopy.h"

#include <Poco/Data/RecordSet.h>
#include <Poco/Data/Statement.h>
#include <Poco/Exception.h>
#include <Poco/Nullable.h>

#include <algorithm>
#include <ostream>

#include "base/Text.h"
#include "db/Columns.h"
#include "db/Database.h"

using namespace Poco::Data::Keywords;
using Poco::Data::RecordSet;
using Poco::Data::Statement;

namespace bccsink {
namespace {

using Value = Poco::Nullable<std::string>;

// The columns whose value becomes the sink's name with DbCopyOptions::sinkName: whose
// messages and intervals they are, and who holds a message's lease (the sink's next start
// gives back the leases of its own name).
bool namesTheSink(const std::string& table, const std::string& column) {
  return (table == "messages" && (column == "sink" || column == "lease_owner")) ||
         (table == "stats_intervals" && column == "sink");
}

// db::storedText's rule, the repositories' own: true when the value changed.
bool makeStorable(std::string& value) {
  if (isValidUtf8(value) && value.find('\0') == std::string::npos) return false;
  value = db::storedText(value);
  return true;
}

// SQLite's hex() back to the bytes.
std::string fromHex(const std::string& hex) {
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'A' + 10; };
  std::string out(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  }
  return out;
}

std::int64_t countRows(db::Database& d, const std::string& table) {
  Poco::Int64 n = 0;
  d.session() << "SELECT COUNT(*) FROM " + table, into(n), now;
  return n;
}

std::vector<std::string> columnsOf(db::Database& d, const std::string& table) {
  Statement stmt(d.session());
  stmt << "SELECT * FROM " + table + " LIMIT 0";
  stmt.execute();
  RecordSet rs(stmt);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < rs.columnCount(); ++i) out.push_back(lower(rs.columnName(i)));
  return out;
}

// The source's columns of `table`, which the destination must have too (both were just
// migrated by this build, so only a newer schema on one side tells them apart).
std::vector<std::string> sharedColumns(db::Database& from, db::Database& to,
                                       const std::string& table) {
  auto source = columnsOf(from, table);
  auto destination = columnsOf(to, table);
  auto a = source, b = destination;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (a != b) {
    throw std::runtime_error("table " + table + " has columns (" + join(source, ", ") +
                             ") in the source but (" + join(destination, ", ") +
                             ") in the destination");
  }
  return source;
}

// Ends the source's read transaction however the copy ends.
class ReadSnapshot {
 public:
  explicit ReadSnapshot(db::Database& d) : d_(d) { d_.session() << "BEGIN", now; }
  ~ReadSnapshot() {
    try {
      d_.session() << "COMMIT", now;
    } catch (...) {
      // Nothing was written: a read transaction that cannot end ends with the connection.
    }
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  db::Database& d_;
};

// Bound values per INSERT. SQLite allows 32766, PostgreSQL 65535, but libpq refuses a
// reply over 30000 bytes of the kind that describes a statement's parameters (4 bytes
// each: "lost synchronization with server"), which Poco asks for at every prepare.
constexpr std::size_t kValuesPerStatement = 5000;

// `rows` rows of `values` (one vector per column) from `first` on, in one INSERT of as many
// VALUES lists: one round trip for them all, and its count is the rows it inserted (a
// statement bound to columns of values runs once per row, and Poco 1.11 reports only the
// last run's count on PostgreSQL).
std::int64_t insertRows(db::Database& to, const std::string& table, const std::string& head,
                        const std::string& tail, std::vector<std::vector<Value>>& values,
                        std::size_t first, std::size_t rows) {
  std::string one = "(";
  for (std::size_t i = 0; i < values.size(); ++i) one += i ? ", ?" : "?";
  one += ")";
  std::string sql = head;
  for (std::size_t r = 0; r < rows; ++r) sql += (r ? ", " : "") + one;
  Statement write(to.session());
  write << to.sql(sql + tail);
  for (std::size_t r = first; r < first + rows; ++r) {
    for (auto& column : values) write, useRef(column[r]);
  }
  try {
    return static_cast<std::int64_t>(write.execute());
  } catch (const Poco::Exception& e) {
    // Poco's message holds the statement: thousands of placeholders.
    throw std::runtime_error("inserting into " + table + ": " +
                             printableAscii(e.displayText(), 300));
  }
}

// One table, page by page in rowid order; each page is one destination transaction.
void copyTable(db::Database& from, db::Database& to, const std::vector<std::string>& columns,
               const DbCopyOptions& options, TableCopy& t, std::int64_t& repaired) {
  const std::string names = join(columns, ", ");
  // Poco reads SQLite's text as a C string, which ends a value at its first NUL (and
  // SQLite's replace() does not find one): every value comes as hex, an integer as its
  // digits' hex, NULL as NULL.
  std::string read;
  for (const auto& c : columns)
    read += ", CASE WHEN " + c + " IS NULL THEN NULL ELSE hex(" + c + ") END";
  const std::string select =
      "SELECT rowid" + read + " FROM " + t.table + " WHERE rowid > ? ORDER BY rowid LIMIT ?";
  const std::string head = "INSERT INTO " + t.table + " (" + names + ") VALUES ";
  const std::string tail = options.merge ? " ON CONFLICT DO NOTHING" : "";
  const std::size_t rowsPerInsert = std::max<std::size_t>(kValuesPerStatement / columns.size(), 1);
  std::vector<bool> renamed;
  for (const auto& c : columns) {
    renamed.push_back(!options.sinkName.empty() && namesTheSink(t.table, c));
  }
  Poco::Int64 after = 0;
  Poco::Int64 limit = static_cast<Poco::Int64>(std::max<std::size_t>(options.batch, 1));
  for (;;) {
    Statement page(from.session());
    page << select, use(after), use(limit);
    page.execute();
    RecordSet rs(page);
    const std::size_t rows = rs.rowCount();
    if (rows == 0) break;
    std::vector<std::vector<Value>> values(columns.size());
    for (bool more = rs.moveFirst(); more; more = rs.moveNext()) {
      after = rs.value(0).convert<Poco::Int64>();
      for (std::size_t i = 0; i < columns.size(); ++i) {
        const auto& v = rs.value(i + 1);
        if (v.isEmpty()) {
          values[i].emplace_back();
          continue;
        }
        std::string s = renamed[i] ? options.sinkName : fromHex(v.convert<std::string>());
        if (makeStorable(s)) ++repaired;
        values[i].emplace_back(std::move(s));
      }
    }
    std::int64_t inserted = 0;
    db::WriteTransaction tx(to);
    for (std::size_t first = 0; first < rows; first += rowsPerInsert) {
      inserted +=
          insertRows(to, t.table, head, tail, values, first, std::min(rowsPerInsert, rows - first));
    }
    tx.commit();
    t.copied += inserted;
    t.alreadyThere += static_cast<std::int64_t>(rows) - inserted;
  }
}

}  // namespace

const std::vector<std::string>& copiedTables() {
  static const std::vector<std::string> tables = {
      "messages",      "message_recipients", "files",
      "file_verdicts", "message_files",      "stats_intervals",
  };
  return tables;
}

DbCopyResult copyDatabase(db::Database& from, db::Database& to, const DbCopyOptions& options,
                          std::ostream* progress) {
  if (from.engine() != db::Engine::Sqlite) {
    throw std::runtime_error("the source must be a SQLite database (sqlite:PATH)");
  }
  from.migrate();
  to.migrate();
  DbCopyResult result;
  std::vector<std::vector<std::string>> columns;
  std::string held;
  for (const auto& table : copiedTables()) {
    columns.push_back(sharedColumns(from, to, table));
    TableCopy t;
    t.table = table;
    if (auto n = countRows(to, table); n > 0) {
      held += (held.empty() ? "" : ", ") + std::to_string(n) + " rows in " + table;
    }
    result.tables.push_back(t);
  }
  if (!held.empty() && !options.merge) {
    throw DestinationNotEmpty("the destination already holds " + held +
                              "; nothing was copied (--merge adds to them and keeps the rows "
                              "already there)");
  }
  {
    ReadSnapshot snapshot(from);
    for (std::size_t i = 0; i < result.tables.size(); ++i) {
      auto& t = result.tables[i];
      t.sourceRows = countRows(from, t.table);
      copyTable(from, to, columns[i], options, t, result.textsRepaired);
      if (progress) {
        *progress << t.table << ": " << t.copied << " copied";
        if (options.merge) *progress << ", " << t.alreadyThere << " already there";
        *progress << std::endl;
      }
    }
  }
  if (to.engine() == db::Engine::Postgresql) {
    // Statistics for what was just loaded: until autovacuum gets to it, a planner that has
    // never seen this sink's name may sort its whole backlog at every claim.
    for (const auto& t : result.tables) to.session() << "ANALYZE " + t.table, now;
  }
  for (auto& t : result.tables) {
    t.destinationRows = countRows(to, t.table);
    t.checked = options.merge
                    ? t.copied + t.alreadyThere == t.sourceRows && t.destinationRows >= t.sourceRows
                    : t.copied == t.sourceRows && t.destinationRows == t.sourceRows;
  }
  return result;
}

}  // namespace bccsink
