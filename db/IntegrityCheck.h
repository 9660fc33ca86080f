#pragma once
// SQLite's own check of a database file: PRAGMA quick_check (every page read, the b-trees'
// structure and the records' formats; not the indexes' contents) or integrity_check (also
// every index against its table). The daemon runs the quick one at start, `bccsink db
// check` the full one. PostgreSQL checks its own pages (data checksums, amcheck): the
// server's job, not a client's; there this is a round trip (SELECT 1).

#include <string>
#include <vector>

namespace bccsink::db {

class Database;

struct IntegrityReport {
  bool ok = true;
  // Not ok because the file is damaged; not ok and not corrupt: the check could not run
  // (locked, away, unreadable), which says nothing about the pages.
  bool corrupt = false;
  // SQLite's lines ("*** in database main *** Page 7: btree page ... ") up to the limit
  // asked for; or the error that stopped the check (a file that is not a database).
  std::vector<std::string> problems;
};

enum class IntegrityDepth { Quick, Full };

// Never throws for a damaged file: that is a report with ok false.
IntegrityReport checkIntegrity(Database& db, IntegrityDepth depth, int maxProblems = 20);

}  // namespace bccsink::db
