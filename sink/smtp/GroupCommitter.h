#pragma once
// One writer thread that owns the intake's database session and commits the rows of
// every session's finished messages together: one directory fsync and one SQLite
// commit for a whole batch, instead of one each per message. A caller's commit()
// returns only after its row's transaction is durable, so the 250 promise holds.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "db/MessageRecord.h"
#include "sink/smtp/MessageStore.h"

namespace bccsink {

class Spool;

class GroupCommitter {
 public:
  GroupCommitter(std::string databaseUrl, Spool& spool);
  ~GroupCommitter();  // stops after committing what is queued

  // Blocks until `record` is committed (Ok) or its batch failed (TempFail).
  StoreResult commit(db::MessageRecord record);
  // Messages waiting for analysis (pending or analyzing), as last counted plus what was
  // committed since.
  std::int64_t pendingCount() const { return pending_.load(); }
  void stop();

 private:
  struct Item {
    db::MessageRecord record;
    bool done = false;
    StoreResult result;
    std::condition_variable doneCv;  // wakes just this caller, not every waiting session
  };
  void run();

  std::string url_;
  Spool& spool_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Item*> queue_;
  bool stopping_ = false;
  std::atomic<std::int64_t> pending_{0};
  std::thread thread_;
  std::exception_ptr startError_;
  bool started_ = false;
  std::condition_variable startedCv_;
};

}  // namespace bccsink
