#pragma once
// `DatabaseUrl`, read once: which engine, and what its connector is given.
//
//   sqlite:PATH (or a bare PATH)                    the embedded default
//   postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?k=v&...]   (postgres:// too)
//   postgresql://USER@/DB?host=/run/postgresql      over the unix socket in that folder
//
// Poco's PostgreSQL connector takes libpq's keyword=value pairs, cut at every space and
// without quoting (db/POSTGRES.md, section 2), so the URL becomes such pairs here, and a
// value that would need quoting is refused with its name. A password in the URL is refused
// too: it would sit in the configuration and in `ps`; `DatabasePasswordFile` gives it.

#include <string>

namespace bccsink::db {

struct DatabaseUrl {
  bool postgresql = false;
  std::string sqlitePath;  // SQLite: the file (or ":memory:")
  std::string conninfo;    // PostgreSQL: libpq's "host=... port=... user=... dbname=..."
  std::string shown;       // for logs and errors: the URL as configured

  // Throws std::invalid_argument saying what is wrong (never echoing a password).
  static DatabaseUrl parse(const std::string& url);
};

}  // namespace bccsink::db
