#pragma once
// `bccsink db rebuild`: a new SQLite database from the spool, which holds every copy the
// sink acknowledged (db/README.md, "A corrupt database"). The damaged file is moved aside
// (bccsink.db.corrupt-DATE, with its -wal and -shm) for whoever wants to look at it, a new
// one is made with the schema, and each live message of the spool gets a pending row, so
// the workers analyse it again:
//   - a segment record of version 2 carries its row's envelope: the row is as the intake
//     committed it;
//   - a standalone file (ID.eml) and a record of version 1 carry none: the row has the id,
//     size, SHA-256, the time of the file and the recipient named by bccsink's own
//     Received header when it names one; the sender is unknown ('').
// Dead records are skipped, as are ids seen already. The daemon must be stopped (the
// caller holds DataDir's lock).

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace bccsink {

struct RebuildResult {
  std::string movedTo;                // the damaged database's new name; '' when there was none
  std::size_t fromRecords = 0;        // rows restored with their envelope
  std::size_t withoutEnvelope = 0;    // rows made from a standalone file or a version 1 record
  std::size_t deadRecords = 0;        // records marked dead: never acknowledged or expired
  std::vector<std::string> problems;  // what could not be read (damaged segments)
};

// `database` is DataDir/bccsink.db, `spoolDir` DataDir/spool. Throws when the new
// database cannot be made.
RebuildResult rebuildDatabase(const std::string& database, const std::string& spoolDir,
                              const std::string& sinkName, std::ostream* progress = nullptr);

}  // namespace bccsink
