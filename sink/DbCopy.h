#pragma once
// Moving a sink up from SQLite to PostgreSQL (`bccsink db copy`, sink/DbCommand.cpp): every
// row of the queue, the files found in messages, the verdict cache and the statistics, table
// by table in the order the foreign keys need, in batches of one transaction each.
//
// What is not copied: file_submissions (a lease on an analysis in flight means nothing on
// another database: the sink submits the file again if its verdict is still missing) and
// schema_migrations (the destination is migrated by this build). The spool stays where it
// is: the same sink keeps its DataDir and only changes its DatabaseUrl.
//
// The copy is generic: each table's columns are the source's (`SELECT *`), checked against
// the destination's, so a migration that adds a column needs no change here. Text is made
// what PostgreSQL accepts (valid UTF-8, no NUL: db/POSTGRES.md 2.5); SQLite stores any
// bytes, and mail put some there.

#include <cstdint>
#include <iosfwd>
#include <stdexcept>
#include <string>
#include <vector>

namespace bccsink {

namespace db {
class Database;
}

struct DbCopyOptions {
  // The destination may already hold rows (another sink's, or a copy interrupted halfway):
  // rows whose key is there already are kept as they are (ON CONFLICT DO NOTHING). Without
  // it, a destination holding any row of the copied tables is refused.
  bool merge = false;
  // '' keeps each row's sink as the source has it; else every message, its lease and every
  // statistics interval belong to this sink (SinkName, when the old rows carry the host name).
  // Rows a merge finds there already keep theirs.
  std::string sinkName;
  std::size_t batch = 1000;  // rows per transaction
};

struct TableCopy {
  std::string table;
  std::int64_t sourceRows = 0;       // what the source holds
  std::int64_t copied = 0;           // rows inserted
  std::int64_t alreadyThere = 0;     // rows the destination had (--merge)
  std::int64_t destinationRows = 0;  // after the copy
  // Without merge: the destination holds exactly the source's rows. With it: every source
  // row was inserted or found there, and the destination holds at least as many rows.
  bool checked = false;
};

struct DbCopyResult {
  std::vector<TableCopy> tables;
  std::int64_t textsRepaired = 0;  // values made valid UTF-8 or stripped of NUL
  bool ok() const {
    for (const auto& t : tables) {
      if (!t.checked) return false;
    }
    return true;
  }
};

// The destination holds rows and merge was not asked for: nothing was written.
class DestinationNotEmpty : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The tables copied, each after those it refers to.
const std::vector<std::string>& copiedTables();

// Brings both schemas up to date, then copies. `from` must be SQLite (rows are read in
// rowid order, in pages, under one read transaction); `to` either engine. `progress`
// (may be null) gets a line per table as it finishes. Throws DestinationNotEmpty, or
// what the databases throw (a batch that failed is rolled back; those before it stay:
// run again with merge to finish).
DbCopyResult copyDatabase(db::Database& from, db::Database& to, const DbCopyOptions& options,
                          std::ostream* progress = nullptr);

}  // namespace bccsink
