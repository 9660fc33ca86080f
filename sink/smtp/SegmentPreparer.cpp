#include "sink/smtp/SegmentPreparer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "db/SpoolRecord.h"

namespace bccsink {
namespace {

constexpr std::size_t kChunk = 1 << 20;
// Flushed as it goes, so that the zeros never pile up as dirty pages that a journal
// commit (the database's fsync) would have to write out first.
constexpr std::uint64_t kFlushEvery = 8ull << 20;

}  // namespace

SegmentPreparer::SegmentPreparer(std::string dir, int dirFd, std::uint64_t size)
    : dir_(std::move(dir)), dirFd_(dirFd), size_(size), thread_([this] { run(); }) {}

SegmentPreparer::~SegmentPreparer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void SegmentPreparer::request(std::uint64_t number) {
  {
    std::lock_guard lock(mutex_);
    if (number == ready_) return;
    wanted_ = number;
    if (failed_ == number) failed_ = 0;
  }
  cv_.notify_all();
}

bool SegmentPreparer::wait(std::uint64_t number, std::string& error) {
  std::unique_lock lock(mutex_);
  if (ready_ == number) return true;
  ++stalls_;
  if (wanted_ != number || failed_ == number) {
    wanted_ = number;
    failed_ = 0;
    cv_.notify_all();
  }
  cv_.wait(lock, [&] { return ready_ == number || failed_ == number || stopping_; });
  if (ready_ == number) return true;
  error = failed_ == number ? error_ : "shutting down";
  return false;
}

std::uint64_t SegmentPreparer::stalls() const {
  std::lock_guard lock(mutex_);
  return stalls_;
}

void SegmentPreparer::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] {
      return stopping_ || (wanted_ != 0 && wanted_ != ready_ && wanted_ != failed_);
    });
    if (stopping_) return;
    auto number = wanted_;
    lock.unlock();
    std::string error;
    bool ok = prepareNow(number, error);
    lock.lock();
    if (ok) {
      ready_ = number;
    } else {
      failed_ = number;
      error_ = error;
    }
    cv_.notify_all();
  }
}

bool SegmentPreparer::prepareNow(std::uint64_t number, std::string& error) {
  std::string path = dir_ + "/" + db::segmentFileName(number), temp = path + ".prep";
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) return true;  // prepared by an earlier run
  int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  auto fail = [&](const char* what) {
    error = std::string(what) + " " + temp + ": " + std::strerror(errno);
    if (fd >= 0) close(fd);
    unlink(temp.c_str());
    return false;
  };
  if (fd < 0) return fail("cannot create");
  static const std::vector<char> zeros(kChunk, 0);
  std::uint64_t written = 0, flushed = 0;
  while (written < size_) {
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size_ - written));
    ssize_t w = ::write(fd, zeros.data(), n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return fail("cannot write");
    written += static_cast<std::uint64_t>(w);
    if (written - flushed >= kFlushEvery) {
      if (fdatasync(fd) != 0) return fail("cannot fdatasync");
      flushed = written;
    }
  }
  if (fdatasync(fd) != 0) return fail("cannot fdatasync");
  if (close(fd) != 0) {
    fd = -1;
    return fail("cannot close");
  }
  fd = -1;
  if (rename(temp.c_str(), path.c_str()) != 0) return fail("cannot rename");
  if (fsync(dirFd_) != 0) {
    error = "cannot fsync " + dir_ + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace bccsink
