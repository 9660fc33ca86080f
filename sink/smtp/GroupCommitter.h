#pragma once
// One committer thread for the whole intake. Each round takes every message queued while
// the last round ran and makes them durable together: the small ones appended to the
// spool's current segment with one pwritev and one fdatasync, each large one's own file
// fdatasync'd and renamed (and the spool folder fsync'd once), then every row in one
// SQLite transaction; only then is each message's done() called, so no 250 goes out
// before its batch is on disk. A round that fails answers TempFail for the messages it
// could not keep and marks their records dead. The batch sizes are counted for /metrics
// and the shutdown log.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "db/MessageRecord.h"
#include "db/SpoolRecord.h"
#include "sink/smtp/MessageStore.h"
#include "sink/smtp/SpoolFile.h"

namespace bccsink::db {
class MessageQueue;
}

namespace bccsink {

class Spool;

// A message handed to the committer: its row, and its bytes or its file.
struct CommitItem {
  db::MessageRecord record;         // every field but spoolFile, which the round sets
  std::string bytes;                // the message, when it becomes a segment record
  std::unique_ptr<SpoolFile> file;  // or its standalone file, written but not yet synced
  db::Sha256 sha256{};
};

struct BatchStats {
  std::uint64_t batches = 0;   // rounds that committed anything
  std::uint64_t messages = 0;  // messages those rounds took
  std::uint64_t maxBatch = 0;  // most messages in one round
  std::uint64_t syncs = 0;     // fdatasync and fsync calls the rounds made
};

class GroupCommitter {
 public:
  // Opens its own database session on its thread; throws when it cannot.
  GroupCommitter(std::string databaseUrl, Spool& spool);
  ~GroupCommitter();  // stops after committing what is queued

  // Queues `item`. `done` is called exactly once: on the committer's thread after the
  // item's round (Ok only when its bytes and its row are durable), or inline with
  // TempFail when the committer is stopping.
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
  };
  void run();
  void commitRound(std::deque<Queued>& round, db::MessageQueue& queue);

  std::string url_;
  Spool& spool_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Queued> queue_;
  bool stopping_ = false;
  std::atomic<std::int64_t> pending_{0};
  std::atomic<std::uint64_t> batches_{0}, messages_{0}, maxBatch_{0}, syncs_{0};
  std::thread thread_;
  std::exception_ptr startError_;
  bool started_ = false;
  std::condition_variable startedCv_;
};

}  // namespace bccsink
