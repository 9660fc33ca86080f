#pragma once
// The MessageStore behind the listener and the admission checks (free disk, pending
// limit). A message is kept in memory while it arrives, up to Spool::kMaxRecordMessage
// (then it spills to its own spool file), with its SHA-256 computed as it comes; commit()
// hands it to the group committer, which writes it as a segment record (or syncs its
// file) together with the other sessions' messages and commits its pending row.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "sink/smtp/MessageStore.h"
#include "sink/smtp/SmtpCounters.h"

namespace bccsink {

class Spool;
class GroupCommitter;

struct IntakeLimits {
  std::uint64_t minFreeSpace = 0;
  std::uint64_t maxPending = 0;  // 0 = no limit
  std::string sinkName;
  // Room kept beyond minFreeSpace and the message for what the row adds to the database:
  // SQLite's WAL grows by the pages of each commit until a checkpoint (db/Database.cpp),
  // on the same file system as the spool. 0 for PostgreSQL (its WAL is the server's).
  std::uint64_t walAllowance = 0;
  // The spool's free bytes (statvfs); null: Spool::freeBytes(). Tests and the
  // BCCSINK_TEST_FREE_SPACE hook set it.
  std::function<std::uint64_t()> freeSpace;
};

// A corrupt database (db/Health.h) refuses every message with 451 4.3.0: it could not be
// queued, and the MTA keeps the copy. Disk space is read at MAIL (cached 250 ms), fresh at
// DATA, every MessageStore::kRoomStep bytes and before the durable write; each must leave
// minFreeSpace plus walAllowance, or the reply is 452 4.3.1 until space is back.
class Intake : public MessageStore {
 public:
  Intake(Spool& spool, GroupCommitter& committer, IntakeLimits limits);
  StoreResult admit(std::uint64_t declaredSize) override;
  std::unique_ptr<MessageWriter> open(StoreResult& result) override;
  StoreResult room(std::uint64_t bytes) override;

  Spool& spool() { return spool_; }
  GroupCommitter& committer() { return committer_; }
  const IntakeLimits& limits() const { return limits_; }
  // Called after each message is queued (the workers look for work at once). Set before
  // the listener starts.
  void onQueued(std::function<void()> f) { onQueued_ = std::move(f); }
  void notifyQueued() {
    if (onQueued_) onQueued_();
  }
  // Received messages and refusals (the sessions count into it too: SessionSettings).
  SmtpCounters& counters() { return counters_; }

 private:
  Spool& spool_;
  GroupCommitter& committer_;
  IntakeLimits limits_;
  std::function<void()> onQueued_;
  SmtpCounters counters_;
  std::uint64_t readFreeBytes() const;
  // Refusal when `free` leaves no room for `bytes`, else Ok.
  StoreResult roomIn(std::uint64_t free, std::uint64_t bytes);
  // statvfs is cheap but not free: read it at most every 250 ms.
  std::atomic<std::uint64_t> freeBytes_{0};
  std::atomic<std::int64_t> freeCheckedAtMs_{0};
};

}  // namespace bccsink
