#include "sandbox/ContentStore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace bccsink::sandbox {
namespace {

void makeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  }
}

bool validHash(const std::string& h) {
  if (h.size() != 64) return false;
  for (char c : h) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

ContentStore::ContentStore(std::string dir) : dir_(std::move(dir)) {
  makeDir(dir_);
}

std::string ContentStore::pathOf(const std::string& sha256) const {
  if (!validHash(sha256)) throw std::invalid_argument("not a SHA-256: " + sha256);
  return dir_ + "/" + sha256.substr(0, 2) + "/" + sha256;
}

bool ContentStore::has(const std::string& sha256) const {
  struct stat st {};
  return stat(pathOf(sha256).c_str(), &st) == 0;
}

std::uint64_t ContentStore::remove(const std::string& sha256) const {
  std::string path = pathOf(sha256);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return 0;
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return 0;
    throw std::runtime_error("cannot remove " + path + ": " + std::strerror(errno));
  }
  return st.st_nlink == 1 ? static_cast<std::uint64_t>(st.st_blocks) * 512 : 0;
}

std::uint64_t ContentStore::removeIfUntouchedSince(const std::string& sha256,
                                                   std::time_t since) const {
  struct stat st {};
  if (stat(pathOf(sha256).c_str(), &st) != 0) return 0;
  if (st.st_mtime >= since) return 0;
  return remove(sha256);
}

std::string ContentStore::put(const std::string& sha256, std::string_view bytes) const {
  std::string path = pathOf(sha256);
  // Met again: its time is renewed, so that retention leaves it until this copy's rows
  // refer to it (removeIfUntouchedSince).
  if (utimensat(AT_FDCWD, path.c_str(), nullptr, 0) == 0) return path;
  makeDir(dir_ + "/" + sha256.substr(0, 2));
  static std::atomic<unsigned> counter{0};
  std::string tmp = path + ".tmp." + std::to_string(getpid()) + "." + std::to_string(++counter);
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("cannot create " + tmp + ": " + std::strerror(errno));
  std::size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      unlink(tmp.c_str());
      throw std::runtime_error("cannot write " + tmp + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  bool synced = fdatasync(fd) == 0;
  int err = errno;
  bool closed = close(fd) == 0;
  if (closed && !synced) errno = err;
  if (!synced || !closed || rename(tmp.c_str(), path.c_str()) != 0) {
    err = errno;
    unlink(tmp.c_str());
    throw std::runtime_error("cannot store " + path + ": " + std::strerror(err));
  }
  return path;
}

}  // namespace bccsink::sandbox
