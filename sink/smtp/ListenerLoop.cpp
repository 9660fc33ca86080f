#include "sink/smtp/ListenerLoop.h"

#include <Poco/Logger.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>

namespace bccsink {
namespace {

// epoll data of the two descriptors that are not connections.
constexpr std::uint64_t kListener = 0;
constexpr std::uint64_t kMailbox = 1;
constexpr std::uint64_t kFirstConnection = 16;

constexpr std::size_t kReadBuffer = 64 * 1024;
// Connections taken per wake-up of the listening socket, so that a flood of new ones
// does not starve the loop's sessions.
constexpr int kAcceptBatch = 64;
// How long a stopping loop waits for replies to be sent and commits to finish.
constexpr std::chrono::seconds kShutdownGrace{5};
// An allowed client over BccMaxConnectionsPerIp waits this long for a slot of its address
// to come back before its 421 (its last connection's close may be on its way), at most
// kMaxWaiting at once per loop, looked at again every kWaitingRetry.
constexpr std::chrono::milliseconds kPerClientGrace{250};
constexpr std::size_t kMaxWaiting = 64;
constexpr std::chrono::milliseconds kWaitingRetry{5};
// Out of descriptors: the listening socket stays readable, so it is left alone this long
// rather than woken on in a busy loop.
constexpr std::chrono::milliseconds kAcceptPause{100};

Poco::Logger& logger() {
  static Poco::Logger& log = Poco::Logger::get("bccsink.smtp");
  return log;
}

std::string hostOf(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = "unknown";
  if (address.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof text);
  } else if (address.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, text,
              sizeof text);
  }
  return text;
}

}  // namespace

bool ListenerShared::allowed(const std::string& client) const {
  const auto& list = settings->allowedClients;
  if (list.empty()) return true;
  return std::any_of(list.begin(), list.end(), [&](const Cidr& c) { return c.contains(client); });
}

// Commit results posted from the store's thread (or inline), and the request to stop.
// The eventfd is written once per batch of posts, not once per post.
class ListenerLoop::Mailbox {
 public:
  struct Taken {
    std::vector<std::pair<std::uint64_t, StoreResult>> results;
    bool stop = false;
  };

  Mailbox() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  }
  ~Mailbox() { ::close(fd_); }
  int fd() const { return fd_; }

  void post(std::uint64_t connection, StoreResult result) {
    {
      std::lock_guard lock(mutex_);
      if (closed_) return;  // the loop is gone; the message is stored all the same
      taken_.results.emplace_back(connection, std::move(result));
      if (signalled_) return;
      signalled_ = true;
    }
    signal();
  }
  void requestStop() {
    {
      std::lock_guard lock(mutex_);
      taken_.stop = true;
      signalled_ = true;
    }
    signal();
  }
  Taken take() {
    std::uint64_t count = 0;
    [[maybe_unused]] auto n = ::read(fd_, &count, sizeof count);
    Taken out;
    std::lock_guard lock(mutex_);
    std::swap(out, taken_);
    signalled_ = false;
    return out;
  }
  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    taken_.results.clear();
  }

 private:
  void signal() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(fd_, &one, sizeof one);
  }

  int fd_;
  std::mutex mutex_;
  Taken taken_;
  bool signalled_ = false;
  bool closed_ = false;
};

ListenerLoop::ListenerLoop(ListenerShared& shared)
    : shared_(shared),
      mailbox_(std::make_shared<Mailbox>()),
      nextId_(kFirstConnection),
      buffer_(kReadBuffer) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_ < 0) throw std::runtime_error(std::string("epoll: ") + std::strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kMailbox;
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, mailbox_->fd(), &ev) < 0) {
    ::close(epoll_);
    throw std::runtime_error(std::string("epoll: ") + std::strerror(errno));
  }
  // A quarter of the shortest deadline (the rate's grace when there is a minimum rate),
  // between 100 ms and 1 s: a 421 comes at most that late, and an idle loop wakes at
  // most once a second.
  const auto& c = shared.context;
  auto shortest = std::min(c.commandTimeout, c.dataTimeout);
  auto consider = [&](std::chrono::seconds t) {
    if (t.count() > 0) shortest = std::min(shortest, t);
  };
  consider(c.sessionTimeout);
  consider(c.sendTimeout);
  if (c.minDataRate > 0) consider(c.rateGrace);
  sweepEvery_ = std::clamp<std::chrono::milliseconds>(shortest / 4, std::chrono::milliseconds(100),
                                                      std::chrono::milliseconds(1000));
}

ListenerLoop::~ListenerLoop() {
  stop();
  join();
  ::close(epoll_);
}

void ListenerLoop::start() {
  watchListener(true);
  nextSweep_ = Clock::now() + sweepEvery_;
  thread_ = std::thread([this] { run(); });
  pthread_setname_np(thread_.native_handle(), "smtp-loop");  // for top -H and perf
}

void ListenerLoop::stop() {
  mailbox_->requestStop();
}

void ListenerLoop::join() {
  if (thread_.joinable()) thread_.join();
}

void ListenerLoop::watchListener(bool on) {
  if (on == listening_) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.u64 = kListener;
  int rc = ::epoll_ctl(epoll_, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, shared_.listenFd, &ev);
  if (rc < 0) {
    logger().error("listener: epoll_ctl: %s", std::string(std::strerror(errno)));
    return;
  }
  listening_ = on;
}

int ListenerLoop::waitMs(Clock::time_point now) const {
  if (!more_.empty()) return 0;
  if (!waiting_.empty()) return static_cast<int>(kWaitingRetry.count());
  auto until = nextSweep_;
  if (stopping_) until = std::min(until, stopBy_);
  if (!listening_ && !stopping_) until = std::min(until, listenAgainAt_);
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(until - now).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 1000));
}

void ListenerLoop::run() {
  std::array<epoll_event, 128> events;
  while (true) {
    int n =
        ::epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), waitMs(Clock::now()));
    if (n < 0 && errno != EINTR) {
      logger().critical("listener: epoll_wait: %s", std::string(std::strerror(errno)));
      break;
    }
    auto now = Clock::now();
    for (int i = 0; i < n; ++i) {
      auto id = events[i].data.u64;
      if (id == kListener) {
        accept(now);
      } else if (id == kMailbox) {
        deliver(now);
      } else if (auto it = connections_.find(id); it != connections_.end()) {
        it->second.connection->ready(events[i].events);
        drive(id, now);
      }
    }
    if (!more_.empty()) {
      auto again = std::move(more_);
      more_.clear();
      for (auto id : again) drive(id, now);
    }
    if (now >= nextSweep_) {
      sweep(now);
      nextSweep_ = now + sweepEvery_;
    }
    if (!waiting_.empty()) retryWaiting(now);
    if (!listening_ && !stopping_ && now >= listenAgainAt_) watchListener(true);
    if (stopping_ && (connections_.empty() || now >= stopBy_)) break;
  }
  // What is still open after the grace period is closed without another word.
  connections_.clear();
  for (auto& w : waiting_) ::close(w.fd);
  waiting_.clear();
  mailbox_->close();
}

void ListenerLoop::accept(Clock::time_point now) {
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_storage address{};
    socklen_t length = sizeof address;
    int fd = ::accept4(shared_.listenFd, reinterpret_cast<sockaddr*>(&address), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      admit(fd, address, now, now + kPerClientGrace);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;  // another loop took it
    if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
    // EMFILE, ENFILE, ENOBUFS, ENOMEM.
    logger().error("listener: accept: %s; not accepting for %s ms",
                   std::string(std::strerror(errno)), std::to_string(kAcceptPause.count()));
    watchListener(false);
    listenAgainAt_ = now + kAcceptPause;
    return;
  }
}

void ListenerLoop::turnAway(int fd, const std::string& line) {
  [[maybe_unused]] auto n = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  ::close(fd);
}

void ListenerLoop::warnRefused(Clock::time_point now, const std::string& text) {
  if (now < quietUntil_) {
    ++unlogged_;
    return;
  }
  std::string more;
  if (unlogged_ > 0) more = " (and " + std::to_string(unlogged_) + " refusals not logged before)";
  logger().warning("%s%s", text, more);
  unlogged_ = 0;
  quietUntil_ = now + std::chrono::seconds(1);
}

void ListenerLoop::retryWaiting(Clock::time_point now) {
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& w : waiting) {
    if (stopping_) {
      ::close(w.fd);
    } else {
      admit(w.fd, w.address, now, w.until);
    }
  }
}

void ListenerLoop::admit(int fd, const sockaddr_storage& address, Clock::time_point now,
                         Clock::time_point until) {
  const auto& settings = *shared_.settings;
  const auto& hostname = settings.session.hostname;
  auto* counters = settings.session.counters;
  std::string client = shared_.unixSocket ? "127.0.0.1" : hostOf(address);
  bool allowed = shared_.unixSocket || shared_.allowed(client);
  auto admission =
      shared_.limiter->admit(shared_.unixSocket ? std::string() : clientKey(client), allowed);
  using Refused = ConnectionLimiter::Refused;
  if (admission.refused == Refused::PerClient && allowed && now < until &&
      waiting_.size() < kMaxWaiting) {
    waiting_.push_back({fd, address, until});
    return;
  }
  if (admission.refused != Refused::None) {
    const char* reason = "too-many-connections";
    Refusal counted = Refusal::Connections;
    std::string line = "421 4.3.2 " + hostname + " Too many connections, try again later\r\n";
    if (admission.refused == Refused::PerClient) {
      reason = "too-many-connections-from-client";
      counted = Refusal::PerIp;
      line = "421 4.7.0 " + hostname + " Too many connections from " + client + "\r\n";
    } else if (admission.refused == Refused::Reserved) {
      reason = "not-in-allowed-clients (reserved slots left)";
      counted = Refusal::Reserved;
    }
    // A client outside the allow-list is refused for good, whatever slot it did not get:
    // a 4xx would have it come back.
    if (!allowed) line = "554 5.7.1 " + hostname + " Access denied for " + client + "\r\n";
    warnRefused(now, "refused client=" + client + " reason=" + reason + " (" +
                         std::to_string(shared_.limiter->active()) + " open)");
    if (counters) counters->refuse(counted);
    turnAway(fd, line);
    return;
  }
  if (!shared_.unixSocket) {
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // replies are small
  }
  if (!allowed) warnRefused(now, "refused client=" + client + " reason=not-in-allowed-clients");
  auto id = nextId_++;
  std::unique_ptr<SmtpConnection> connection;
  try {
    auto hook = [mailbox = mailbox_, id](StoreResult result) {
      mailbox->post(id, std::move(result));
    };
    connection = std::make_unique<SmtpConnection>(shared_.context, fd, client, allowed, hook, now);
  } catch (const std::exception& e) {
    logger().error("session client=%s failed: %s", client, std::string(e.what()));
    ::close(fd);
    return;  // the slot goes with `admission`
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = id;
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) < 0) {
    logger().error("session client=%s: epoll_ctl: %s", client, std::string(std::strerror(errno)));
    return;  // the connection's destructor closes the socket
  }
  connections_.emplace(id, Entry{std::move(admission.slot), std::move(connection)});
  drive(id, now);
}

void ListenerLoop::drive(std::uint64_t id, Clock::time_point now) {
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  auto& connection = *it->second.connection;
  auto next = SmtpConnection::Next::Close;
  try {
    next = connection.pump(now, buffer_);
  } catch (const std::exception& e) {
    // Nothing a client sends may take the daemon down: this session ends, the rest go on.
    logger().error("session client=%s failed: %s", connection.client(), std::string(e.what()));
  }
  if (next == SmtpConnection::Next::More) {
    more_.push_back(id);
  } else if (next == SmtpConnection::Next::Close) {
    ::epoll_ctl(epoll_, EPOLL_CTL_DEL, connection.fd(), nullptr);
    connections_.erase(it);  // closes the socket, then gives the slot back
  }
}

void ListenerLoop::deliver(Clock::time_point now) {
  auto taken = mailbox_->take();
  for (auto& [id, result] : taken.results) {
    auto it = connections_.find(id);
    if (it == connections_.end()) continue;  // the client left while its copy was committed
    auto& connection = *it->second.connection;
    try {
      connection.committed(std::move(result), now);
    } catch (const std::exception& e) {
      logger().error("session client=%s failed: %s", connection.client(), std::string(e.what()));
    }
    drive(id, now);
  }
  if (taken.stop && !stopping_) beginShutdown(now);
}

void ListenerLoop::sweep(Clock::time_point now) {
  std::vector<std::uint64_t> expired;
  for (auto& [id, entry] : connections_) {
    if (entry.connection->expire(now)) expired.push_back(id);
  }
  for (auto id : expired) drive(id, now);
}

void ListenerLoop::beginShutdown(Clock::time_point now) {
  stopping_ = true;
  stopBy_ = now + kShutdownGrace;
  watchListener(false);
  std::vector<std::uint64_t> ids;
  for (auto& [id, entry] : connections_) {
    entry.connection->shutdown();
    ids.push_back(id);
  }
  for (auto id : ids) drive(id, now);
}

}  // namespace bccsink
