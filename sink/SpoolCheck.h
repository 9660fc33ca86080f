#pragma once
// `queue list --check`: the rows against the spool. Every row's message must be there,
// whole, with the row's size and SHA-256 (each segment is walked and every record's
// message checked against its digest); every live record and standalone file must have
// its row. What is not so is printed, one line each, and counted; nothing is changed or
// deleted (an administrator decides). Records marked dead are not problems: they were
// never acknowledged. The last line is "check: R rows, S spool files, P problems", S
// counting the messages the spool holds (live records and standalone files).

#include <ostream>
#include <string>

namespace bccsink::db {
class Database;
}

namespace bccsink {

// Returns the number of problems. `sink`: the rows checked are this sink's (several sinks
// share a PostgreSQL database, each with a spool of its own); '' = every row.
int checkSpool(db::Database& database, const std::string& spoolDir, std::ostream& out,
               const std::string& sink = "");

}  // namespace bccsink
