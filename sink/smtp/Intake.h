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
};

class Intake : public MessageStore {
 public:
  Intake(Spool& spool, GroupCommitter& committer, IntakeLimits limits);
  StoreResult admit(std::uint64_t declaredSize) override;
  std::unique_ptr<MessageWriter> open(StoreResult& result) override;

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
  // statvfs is cheap but not free: read it at most every 250 ms.
  std::atomic<std::uint64_t> freeBytes_{0};
  std::atomic<std::int64_t> freeCheckedAtMs_{0};
};

}  // namespace bccsink
