#include "sink/smtp/SpoolFile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bccsink {
namespace {

constexpr std::size_t kBufferSize = 64 * 1024;

}  // namespace

SpoolFile::SpoolFile(std::string dir, std::string id) : dir_(std::move(dir)), id_(std::move(id)) {
  fd_ = open(path(true).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    error_ = "cannot create spool file " + path(true) + ": " + std::strerror(errno);
  }
  created_ = fd_ >= 0;
  buffer_.reserve(kBufferSize);
}

SpoolFile::~SpoolFile() {
  if (fd_ >= 0) close(fd_);
  if (created_ && !renamed_) unlink(path(true).c_str());
}

std::string SpoolFile::path(bool temporary) const {
  return dir_ + "/" + fileName() + (temporary ? ".tmp" : "");
}

bool SpoolFile::write(std::string_view bytes) {
  if (fd_ < 0) return false;
  size_ += bytes.size();
  if (buffer_.size() + bytes.size() > kBufferSize && !flush()) return false;
  if (bytes.size() >= kBufferSize) {
    buffer_.assign(bytes);
    return flush();
  }
  buffer_.append(bytes);
  return true;
}

bool SpoolFile::flush() {
  std::size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = "write " + path(true) + ": " + std::strerror(errno);
      close(fd_);
      fd_ = -1;
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  buffer_.clear();
  return true;
}

bool SpoolFile::finish() {
  if (fd_ < 0 || !flush()) return false;
  // fdatasync: the data and the size; the rename is made durable by the round's fsync
  // of the spool folder.
  if (fdatasync(fd_) != 0) {
    error_ = "fdatasync " + path(true) + ": " + std::strerror(errno);
    return false;
  }
  close(fd_);
  fd_ = -1;
  if (rename(path(true).c_str(), path(false).c_str()) != 0) {
    error_ = "rename " + path(true) + ": " + std::strerror(errno);
    return false;
  }
  renamed_ = true;
  return true;
}

void SpoolFile::discard() {
  if (renamed_) unlink(path(false).c_str());
  renamed_ = false;
  created_ = false;
}

}  // namespace bccsink
