#pragma once
// The group commit of the whole intake, in two stages that overlap:
//   flush   each round takes every message queued while the last round ran and writes
//           them to disk together: the small ones appended to the spool's current
//           segment with one pwritev and one fdatasync, each large one's own file
//           fdatasync'd and renamed (and the spool folder fsync'd once);
//   commit  takes every flushed round waiting and commits all their rows in one SQLite
//           transaction; only then is each message's done() called, so no 250 goes out
//           before its bytes and its row are on disk.
// A record carries its row's envelope (db/SpoolRecord.h): it is the row's write-ahead log.
// So the intake's connection commits with synchronous = NORMAL (no fsync of SQLite's WAL
// per transaction): a commit lost with the machine is restored from the records at the
// next start (Spool::recover, then this committer inserts those rows before anything
// else). Only a transaction holding a standalone file's row, which has no record, is
// committed with synchronous = FULL.
// While a transaction runs, the next rounds are flushed; when the database is the
// slower stage its transactions grow to take what piled up. A message the stages could
// not keep is answered TempFail; its record is marked dead and synced before the answer
// (its file removed), so that recovery never restores a row that had a 451. The batch
// sizes are counted for /metrics and the shutdown log.
// A database that is away (PostgreSQL stopped or restarting) fails each batch tried
// meanwhile with 451 4.3.0 (the MTA tries again later): the committer keeps its Database,
// whose session() connects again, so the first batch after it is back commits; the
// outage is logged once when it starts and once when it ends (db/Outage.h). Nothing here
// blocks the listener's threads: they only queue and wait for done().

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "db/MessageRecord.h"
#include "db/SpoolRecord.h"
#include "sink/smtp/MessageStore.h"
#include "sink/smtp/SpoolFile.h"

namespace bccsink::db {
class Database;
class Outage;
}  // namespace bccsink::db

namespace bccsink {

class Spool;

// A message handed to the committer: its row, and its bytes or its file.
struct CommitItem {
  db::MessageRecord record;         // every field but spoolFile, which the flush sets
  std::string bytes;                // the message, when it becomes a segment record
  std::string envelope;             // its record's envelope block (submit() encodes it)
  std::unique_ptr<SpoolFile> file;  // or its standalone file, written but not yet synced
  db::Sha256 sha256{};
};

struct BatchStats {
  std::uint64_t messages = 0;  // committed or failed
  std::uint64_t batches = 0;   // database transactions: messages acknowledged together
  std::uint64_t maxBatch = 0;  // most messages in one
  std::uint64_t flushes = 0;   // flush rounds: segment appends (a batch takes 1 or more)
  std::uint64_t syncs = 0;     // fdatasync and fsync calls of the spool
};

class GroupCommitter {
 public:
  // Opens its own database session on its thread and inserts the rows the spool's recovery
  // found missing (Spool::takeRestorable); throws when it cannot.
  GroupCommitter(std::string databaseUrl, Spool& spool);
  ~GroupCommitter();  // stops after committing what is queued

  // Queues `item`. `done` is called exactly once: on the committer's thread once the
  // item's rows are committed (Ok only when its bytes and its row are durable), or inline
  // with TempFail when the committer is stopping.
  void submit(CommitItem item, MessageWriter::Done done);
  // Messages waiting for analysis (pending or analyzing), as last counted plus what was
  // committed since.
  std::int64_t pendingCount() const { return pending_.load(); }
  BatchStats stats() const;
  void stop();

 private:
  struct Queued {
    CommitItem item;
    MessageWriter::Done done;
    StoreResult result;   // TempFail once a stage failed it
    std::string locator;  // where the flush put it
  };
  using Round = std::vector<Queued>;

  void flushLoop();
  void flush(Round& round);
  void commitLoop();
  void commit(std::deque<Round>& rounds, db::Database& database, db::Outage& outage);

  std::string url_;
  Spool& spool_;
  std::mutex mutex_;
  std::condition_variable wake_;     // the flush stage: something queued, or stop
  std::condition_variable flushed_;  // the commit stage: a round flushed, or flushing ended
  std::deque<Queued> queue_;
  std::deque<Round> rounds_;  // flushed, waiting for their rows
  bool stopping_ = false;
  bool flushEnded_ = false;
  std::atomic<std::int64_t> pending_{0};
  std::atomic<std::uint64_t> messages_{0}, batches_{0}, maxBatch_{0}, flushes_{0}, syncs_{0};
  std::thread flusher_, committer_;
  std::exception_ptr startError_;
  bool started_ = false;
  std::condition_variable startedCv_;
};

}  // namespace bccsink
