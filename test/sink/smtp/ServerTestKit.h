#pragma once
// For the SmtpServer tests: an in-memory store whose commits complete on a thread of its
// own after a delay (as the group committer's do), and a blocking SMTP client over TCP or
// a unix socket, optionally upgraded to TLS, that never waits longer than its timeout.

#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sink/smtp/MessageStore.h"

namespace bccsink::test {

class DelayedStore : public MessageStore {
 public:
  explicit DelayedStore(std::chrono::milliseconds delay) : delay_(delay) {
    thread_ = std::thread([this] { run(); });
  }
  ~DelayedStore() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  StoreResult admit(std::uint64_t) override { return {}; }
  std::unique_ptr<MessageWriter> open(StoreResult&) override {
    std::lock_guard lock(mutex_);
    return std::make_unique<Writer>(*this, "M" + std::to_string(++opened_));
  }

  // Messages whose commit completed, in order.
  std::vector<std::string> committed() {
    std::lock_guard lock(mutex_);
    return committed_;
  }
  std::size_t inFlight() {
    std::lock_guard lock(mutex_);
    return queue_.size();
  }
  // Waits until `n` commits are in flight or done; false after `timeout`.
  bool waitForCommits(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return queue_.size() + committed_.size() >= n; });
  }

 private:
  struct Item {
    std::string bytes;
    MessageWriter::Done done;
    std::chrono::steady_clock::time_point due;
  };
  class Writer : public MessageWriter {
   public:
    Writer(DelayedStore& store, std::string id) : store_(store), id_(std::move(id)) {}
    const std::string& id() const override { return id_; }
    bool write(std::string_view bytes) override {
      bytes_.append(bytes);
      return true;
    }
    void commit(const Envelope&, const std::string&, Done done) override {
      {
        std::lock_guard lock(store_.mutex_);
        store_.queue_.push_back(
            {std::move(bytes_), std::move(done), std::chrono::steady_clock::now() + store_.delay_});
      }
      store_.wake_.notify_all();
      store_.changed_.notify_all();
    }

   private:
    DelayedStore& store_;
    std::string id_;
    std::string bytes_;
  };

  void run() {
    std::unique_lock lock(mutex_);
    while (true) {
      if (queue_.empty()) {
        if (stopping_) return;
        wake_.wait(lock);
        continue;
      }
      auto due = queue_.front().due;
      if (!stopping_ && std::chrono::steady_clock::now() < due) {
        wake_.wait_until(lock, due);
        continue;
      }
      auto item = std::move(queue_.front());
      queue_.pop_front();
      committed_.push_back(std::move(item.bytes));
      lock.unlock();
      item.done({});
      changed_.notify_all();
      lock.lock();
    }
  }

  std::chrono::milliseconds delay_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable changed_;
  std::deque<Item> queue_;
  std::vector<std::string> committed_;
  int opened_ = 0;
  bool stopping_ = false;
  std::thread thread_;
};

// A blocking client; every read gives up after `timeout` (then returns what it has).
class Client {
 public:
  // "127.0.0.1:PORT" or "unix:PATH"; over TCP from `source` (a loopback address such as
  // 127.0.0.2) when it is given.
  explicit Client(const std::string& address,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10),
                  const std::string& source = "")
      : timeout_(timeout) {
    if (address.rfind("unix:", 0) == 0) {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::strncpy(sa.sun_path, address.c_str() + 5, sizeof sa.sun_path - 1);
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    } else {
      auto colon = address.rfind(':');
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
      ::inet_pton(AF_INET, address.substr(0, colon).c_str(), &sa.sin_addr);
      if (!source.empty()) {
        sockaddr_in from{};
        from.sin_family = AF_INET;
        ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from);
      }
      connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    }
    // A bound on the blocking calls that do not go through fill(): SSL_connect, send.
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  ~Client() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  bool connected() const { return connected_; }
  int fd() const { return fd_; }

  bool send(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      long n = ssl_ ? SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done))
                    : ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  // One line with its CRLF; "" at the end of stream or after the timeout.
  std::string line() {
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (true) {
      auto nl = buffer_.find("\r\n");
      if (nl != std::string::npos) {
        std::string l = buffer_.substr(0, nl + 2);
        buffer_.erase(0, nl + 2);
        return l;
      }
      if (!fill(deadline)) return "";
    }
  }
  // A whole reply, continuation lines ("250-...") included.
  std::string reply() {
    std::string all;
    while (true) {
      std::string l = line();
      all += l;
      if (l.size() < 4 || l[3] != '-') return all;
    }
  }
  // True when the server closed the connection (end of stream) within the timeout.
  bool closedByServer() {
    auto deadline = std::chrono::steady_clock::now() + timeout_;
    while (fill(deadline)) buffer_.clear();
    return eof_;
  }

  // TLS client handshake over the connection (after the server's 220 to STARTTLS).
  bool startTls(SSL_CTX* context) {
    ssl_ = SSL_new(context);
    SSL_set_fd(ssl_, fd_);
    return SSL_connect(ssl_) == 1;
  }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    char chunk[16384];
    while (true) {
      if (!ssl_ || SSL_pending(ssl_) == 0) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now())
                        .count();
        if (left <= 0) return false;
        pollfd p{fd_, POLLIN, 0};
        int rc = ::poll(&p, 1, static_cast<int>(left));
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) return false;
      }
      long n = ssl_ ? SSL_read(ssl_, chunk, sizeof chunk) : ::recv(fd_, chunk, sizeof chunk, 0);
      if (n > 0) {
        buffer_.append(chunk, static_cast<std::size_t>(n));
        return true;
      }
      if (ssl_ && SSL_get_error(ssl_, static_cast<int>(n)) == SSL_ERROR_WANT_READ) continue;
      eof_ = true;
      return false;
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  SSL* ssl_ = nullptr;
  std::string buffer_;
  std::chrono::milliseconds timeout_;
};

// The threads of this process.
inline int threadCount() {
  int n = 0;
  if (DIR* d = ::opendir("/proc/self/task")) {
    while (auto* e = ::readdir(d)) n += e->d_name[0] != '.';
    ::closedir(d);
  }
  return n;
}

// Enough descriptors for `n` more connections (both ends, in this process).
inline void raiseDescriptorLimit(rlim_t n) {
  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < n) {
    rl.rlim_cur = std::min<rlim_t>(n, rl.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace bccsink::test
