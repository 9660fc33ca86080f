#pragma once
// Makes the spool's next segment ready before it is needed, on a thread of its own: the
// file written full of zeros, fdatasync'd, renamed from NNN.seg.prep to NNN.seg and the
// folder fsync'd. Its blocks are then allocated and its size durable, so an append's
// fdatasync flushes data only, and the group commit never waits for a file system
// allocation (only for a rotation that outruns the preparation).

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace bccsink {

class SegmentPreparer {
 public:
  // `dir` is the segments folder, `dirFd` an open descriptor of it (kept by the caller).
  SegmentPreparer(std::string dir, int dirFd, std::uint64_t size);
  ~SegmentPreparer();  // waits for a preparation under way
  SegmentPreparer(const SegmentPreparer&) = delete;
  SegmentPreparer& operator=(const SegmentPreparer&) = delete;

  // Asks for segment `number` in the background (a file already there counts as ready).
  void request(std::uint64_t number);
  // Waits until segment `number` is ready (asking for it if nobody did); false with the
  // reason when preparing it failed (asking again retries).
  bool wait(std::uint64_t number, std::string& error);
  // Prepares `number` on the calling thread.
  bool prepareNow(std::uint64_t number, std::string& error);
  // How many times wait() found the segment not ready yet (the committer waited).
  std::uint64_t stalls() const;

 private:
  void run();

  const std::string dir_;
  const int dirFd_;
  const std::uint64_t size_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::uint64_t wanted_ = 0, ready_ = 0, failed_ = 0;
  std::string error_;
  std::uint64_t stalls_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace bccsink
