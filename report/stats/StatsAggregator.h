#pragma once
// Counts one interval: folds the rows db::StatsRepository reads for it (the messages
// received in [start, end), their files, the cached verdicts of those files) into
// IntervalStats. Definitions (report/README.md, "Statistics"):
// - a message's verdict is its own once checked (failed ones are unscanned), "pending"
//   while it is still in analysis;
// - its IP is the origin hop's (the host that connected to the site's MTA), else the
//   client that sent the copy;
// - files are every file found (archive members and attached messages too); a mismatch
//   is a file whose extension claims another type; "in archive" a file inside a
//   container, counted by its extension and the container's (or, without one, its family);
// - verdicts per analyzer and cache hits count the selected files: a cache hit is a file
//   whose every analyzer verdict was decided before the message was received, so no
//   analyzer was asked (nor waited for) because of this message.

#include <cstdint>
#include <string>

#include "report/stats/StatsCounters.h"

namespace bccsink::db {
class Database;
struct IntervalRows;
}  // namespace bccsink::db

namespace bccsink::report {

IntervalStats aggregate(const db::IntervalRows& rows);

// Reads and counts this sink's interval [startMs, endMs).
IntervalStats computeInterval(db::Database& db, const std::string& sink, std::int64_t startMs,
                              std::int64_t endMs);

// Start of the first interval of this sink not stored yet: the one after the newest stored
// interval, or the one holding the oldest message, or the current one; never more than
// `backfillMs` before `nowMs`.
std::int64_t firstUnstoredInterval(db::Database& db, const std::string& sink, std::int64_t nowMs,
                                   std::int64_t intervalMs, std::int64_t backfillMs);

}  // namespace bccsink::report
