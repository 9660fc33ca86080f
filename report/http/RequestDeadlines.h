#pragma once
// The whole-request deadline of the HTTP port. Poco's HTTPServer bounds each read, not the
// request, so a client that sends a byte every few seconds would keep a thread as long as
// it likes (the slowloris attack). Every connection is watched from its first byte to the
// end of its request's body; one thread shuts the receive side of any connection whose
// deadline passes, so the read in progress ends at once (plain or TLS alike) and the
// connection answers 408 and closes. Shutting only the receive side leaves the answer's way
// out open.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace bccsink::report {

class RequestDeadlines {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RequestDeadlines(std::chrono::milliseconds budget);
  ~RequestDeadlines();  // stops the thread
  RequestDeadlines(const RequestDeadlines&) = delete;
  RequestDeadlines& operator=(const RequestDeadlines&) = delete;

  // One connection's watch, from accept to its end (the socket `fd` outlives it).
  class Watch {
   public:
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;
    // The request is in (headers and body): the deadline no longer applies. False when it
    // had already passed (the socket's receive side is shut: what was read may be cut).
    bool received();
    bool expired() const;

   private:
    friend class RequestDeadlines;
    Watch(RequestDeadlines& owner, std::uint64_t id) : owner_(owner), id_(id) {}
    RequestDeadlines& owner_;
    const std::uint64_t id_;
  };

  // Watches `fd` from now; after shutdownAll() its receive side is shut at once.
  std::unique_ptr<Watch> watch(int fd);
  // Shuts the receive side of every watched connection, now and to come (stopping the
  // server). Not expired: such a connection is closed without an answer.
  void shutdownAll();
  std::chrono::milliseconds budget() const { return budget_; }

 private:
  enum class State { Armed, Received, Expired, Stopped };
  struct Entry {
    int fd;
    Clock::time_point deadline;
    State state;
  };
  void run();

  const std::chrono::milliseconds budget_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::uint64_t, Entry> entries_;  // ids grow with time: deadlines in order
  std::uint64_t next_ = 0;
  bool stopping_ = false;
  bool shut_ = false;
  std::thread thread_;
};

}  // namespace bccsink::report
