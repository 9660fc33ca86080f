#pragma once
// What the spool's own checks ask of the queue: which spooled records have a row (the
// spool's recovery marks the others dead), and every row's locator, size and digest (for
// `queue list --check`). Read-only.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bccsink::db {

class Database;

struct SpoolRow {
  std::string id;
  std::string locator;  // the spool_file column
  std::int64_t size = 0;
  std::string sha256;
};

class SpoolRows {
 public:
  explicit SpoolRows(Database& db);
  // id -> locator, for those of `ids` that have a row.
  std::map<std::string, std::string> locatorsOf(const std::vector<std::string>& ids);
  // Every row of `sink` (the rows whose spool is this sink's), by id; '' = every sink's.
  // Rows whose content expired (retention) are left out: their spool content is gone.
  std::vector<SpoolRow> all(const std::string& sink = "");

 private:
  Database& db_;
};

}  // namespace bccsink::db
