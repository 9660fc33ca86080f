#include "report/http/RequestDeadlines.h"

#include <sys/socket.h>

namespace bccsink::report {

RequestDeadlines::RequestDeadlines(std::chrono::milliseconds budget)
    : budget_(budget), thread_([this] { run(); }) {}

RequestDeadlines::~RequestDeadlines() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::unique_ptr<RequestDeadlines::Watch> RequestDeadlines::watch(int fd) {
  std::lock_guard lock(mutex_);
  const auto id = next_++;
  entries_.emplace(id, Entry{fd, Clock::now() + budget_, shut_ ? State::Stopped : State::Armed});
  if (shut_) ::shutdown(fd, SHUT_RD);
  wake_.notify_all();
  return std::unique_ptr<Watch>(new Watch(*this, id));
}

RequestDeadlines::Watch::~Watch() {
  // Under the lock, so the thread never shuts a socket that has been closed (and its
  // descriptor perhaps reused) after this.
  std::lock_guard lock(owner_.mutex_);
  owner_.entries_.erase(id_);
}

bool RequestDeadlines::Watch::received() {
  std::lock_guard lock(owner_.mutex_);
  auto& e = owner_.entries_.at(id_);
  if (e.state == State::Expired || e.state == State::Stopped) return false;
  e.state = State::Received;
  return true;
}

bool RequestDeadlines::Watch::expired() const {
  std::lock_guard lock(owner_.mutex_);
  return owner_.entries_.at(id_).state == State::Expired;
}

void RequestDeadlines::shutdownAll() {
  std::lock_guard lock(mutex_);
  shut_ = true;
  for (auto& [id, e] : entries_) {
    if (e.state != State::Expired) e.state = State::Stopped;
    ::shutdown(e.fd, SHUT_RD);
  }
}

void RequestDeadlines::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = Clock::now();
    auto next = Clock::time_point::max();
    for (auto& [id, e] : entries_) {
      if (e.state != State::Armed) continue;
      if (e.deadline <= now) {
        e.state = State::Expired;
        ::shutdown(e.fd, SHUT_RD);
      } else {
        next = std::min(next, e.deadline);
      }
    }
    if (next == Clock::time_point::max()) {
      wake_.wait(lock);
    } else {
      wake_.wait_until(lock, next);
    }
  }
}

}  // namespace bccsink::report
