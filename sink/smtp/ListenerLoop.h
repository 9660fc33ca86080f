#pragma once
// One event-loop thread of the SMTP listener. Its epoll instance watches the shared
// listening socket (EPOLLEXCLUSIVE: a new connection wakes one loop, not all), the
// sockets of the connections it accepted (edge-triggered) and an eventfd through which
// commit results come back from the store's thread. A connection stays on the loop that
// accepted it from greeting to close, so sessions need no locks; it holds its slot of
// the shared ConnectionLimiter until then. A sweep a few times a second ends the
// connections past a deadline (ClientDeadlines: idle, session, rate, send).

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "sink/smtp/ConnectionLimiter.h"
#include "sink/smtp/SmtpConnection.h"
#include "sink/smtp/SmtpServer.h"

namespace bccsink {

// What every loop of one server shares.
struct ListenerShared {
  const ServerSettings* settings = nullptr;
  ConnectionContext context;
  int listenFd = -1;
  bool unixSocket = false;
  std::unique_ptr<ConnectionLimiter> limiter;  // the slots of all loops

  bool allowed(const std::string& client) const;
};

class ListenerLoop {
 public:
  using Clock = SmtpConnection::Clock;
  // Throws std::runtime_error when the kernel gives no epoll instance or eventfd.
  explicit ListenerLoop(ListenerShared& shared);
  ~ListenerLoop();  // stops and joins
  ListenerLoop(const ListenerLoop&) = delete;
  ListenerLoop& operator=(const ListenerLoop&) = delete;

  void start();
  // Asks the loop to stop and returns: it accepts no more, tells every session 421 4.3.2
  // (after the reply to a commit in flight) and ends once they are closed, or after a
  // grace period. join() waits for that.
  void stop();
  void join();

 private:
  class Mailbox;
  void run();
  void watchListener(bool on);
  void accept(Clock::time_point now);
  // `until`: how long a client over BccMaxConnectionsPerIp may wait for a slot of its own
  // address to come back (see waiting_).
  void admit(int fd, const sockaddr_storage& address, Clock::time_point now,
             Clock::time_point until);
  void retryWaiting(Clock::time_point now);
  // Answers `line` on a fresh socket (its buffer takes a few bytes at once) and closes it.
  void turnAway(int fd, const std::string& line);
  // A refused client's log line; at most one a second per loop, the next one saying how
  // many were left out: a flood of connections must not become a flood of the log (each
  // refusal is counted in /metrics all the same).
  void warnRefused(Clock::time_point now, const std::string& text);
  void deliver(Clock::time_point now);
  void drive(std::uint64_t id, Clock::time_point now);
  void sweep(Clock::time_point now);
  void beginShutdown(Clock::time_point now);
  int waitMs(Clock::time_point now) const;

  ListenerShared& shared_;
  int epoll_ = -1;
  std::shared_ptr<Mailbox> mailbox_;  // shared with commit hooks that may outlive the loop
  struct Entry {
    ConnectionLimiter::Slot slot;  // given back after the socket is closed
    std::unique_ptr<SmtpConnection> connection;
  };
  std::unordered_map<std::uint64_t, Entry> connections_;
  std::vector<std::uint64_t> more_;  // connections whose read budget ran out this turn
  // Allowed clients over the per-address cap, looked at again for a moment: an MTA closes
  // a connection and opens the next at once (Postfix does not wait for the 221,
  // smtp_skip_quit_response), and another loop may not have seen the close yet.
  struct Waiting {
    int fd;
    sockaddr_storage address;
    Clock::time_point until;
  };
  std::vector<Waiting> waiting_;
  std::uint64_t nextId_;
  std::vector<char> buffer_;  // one read buffer for all the loop's connections
  std::chrono::milliseconds sweepEvery_;
  Clock::time_point nextSweep_;
  Clock::time_point quietUntil_;  // warnRefused: no line before then
  std::uint64_t unlogged_ = 0;
  bool listening_ = false;
  Clock::time_point listenAgainAt_;  // after running out of descriptors
  bool stopping_ = false;
  Clock::time_point stopBy_;
  std::thread thread_;
};

}  // namespace bccsink
