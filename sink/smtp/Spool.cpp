#include "sink/smtp/Spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace bccsink {
namespace {

constexpr std::size_t kBufferSize = 64 * 1024;
// A file being received: same folder as the finished ones, so that finishing it is a
// rename inside one directory (no cross-directory rename lock).
constexpr const char* kTempSuffix = ".tmp";

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

void makeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0750) != 0 && errno != EEXIST) {
    throw std::runtime_error(errnoText("cannot create " + path));
  }
}

}  // namespace

struct SpoolFile::Digest {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  Digest() { EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr); }
  ~Digest() { EVP_MD_CTX_free(ctx); }
};

SpoolFile::SpoolFile(std::string dir, std::string id, int fd)
    : dir_(std::move(dir)), id_(std::move(id)), fd_(fd), digest_(std::make_unique<Digest>()) {
  buffer_.reserve(kBufferSize);
}

SpoolFile::~SpoolFile() {
  if (fd_ >= 0) close(fd_);
  if (!finished_) unlink((dir_ + "/" + fileName() + kTempSuffix).c_str());
}

bool SpoolFile::write(std::string_view bytes) {
  if (fd_ < 0) return false;
  EVP_DigestUpdate(digest_->ctx, bytes.data(), bytes.size());
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
      error_ = errnoText("write " + id_);
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
  // fdatasync: the data and the size; the rename below is made durable by the
  // directory fsync of the group commit.
  if (fdatasync(fd_) != 0) {
    error_ = errnoText("fdatasync " + id_);
    return false;
  }
  close(fd_);
  fd_ = -1;
  std::string to = dir_ + "/" + fileName(), from = to + kTempSuffix;
  if (rename(from.c_str(), to.c_str()) != 0) {
    error_ = errnoText("rename " + id_);
    return false;
  }
  finished_ = true;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_DigestFinal_ex(digest_->ctx, md, &len);
  static const char* hex = "0123456789abcdef";
  sha256_.clear();
  for (unsigned i = 0; i < len; ++i) {
    sha256_ += hex[md[i] >> 4];
    sha256_ += hex[md[i] & 15];
  }
  return true;
}

void SpoolFile::discard() {
  if (finished_) unlink((dir_ + "/" + fileName()).c_str());
}

Spool::Spool(std::string dir) : dir_(std::move(dir)) {
  makeDir(dir_);
  dirFd_ = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dirFd_ < 0) throw std::runtime_error(errnoText("cannot open " + dir_));
}

Spool::~Spool() {
  if (dirFd_ >= 0) close(dirFd_);
}

std::unique_ptr<SpoolFile> Spool::create(const std::string& id, std::string& error) {
  std::string path = dir_ + "/" + id + ".eml" + kTempSuffix;
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = errnoText("cannot create spool file");
    return nullptr;
  }
  return std::unique_ptr<SpoolFile>(new SpoolFile(dir_, id, fd));
}

bool Spool::syncDirectory(std::string& error) {
  if (fsync(dirFd_) != 0) {
    error = errnoText("fsync " + dir_);
    return false;
  }
  return true;
}

std::uint64_t Spool::freeBytes() const {
  struct statvfs st {};
  if (fstatvfs(dirFd_, &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

namespace {
std::vector<std::string> listSuffix(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (auto* e = readdir(d)) {
    std::string name = e->d_name;
    if (name.size() > suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
      out.push_back(name);
    }
  }
  closedir(d);
  return out;
}
}  // namespace

std::vector<std::string> Spool::removeTemporaries() {
  auto names = listSuffix(dir_, kTempSuffix);
  for (const auto& n : names) unlink((dir_ + "/" + n).c_str());
  return names;
}

std::vector<std::string> Spool::files() const {
  return listSuffix(dir_, ".eml");
}

}  // namespace bccsink
