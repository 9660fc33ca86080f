#include "report/delivery/Maildir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace bccsink::report {
namespace {

constexpr int kAttempts = 20;  // names taken in tmp/ before we give up (a clash is rare)

std::atomic<unsigned long> deliveries{0};

// Failures that stay until an administrator acts: retrying later will not help.
bool lasting(int err) {
  switch (err) {
    case EACCES:
    case EPERM:
    case ENOTDIR:
    case EROFS:
    case ENAMETOOLONG:
    case ELOOP:
      return true;
    default:
      return false;
  }
}

struct Failed {
  int err;
  std::string what;
};

// mkdir(2) that takes an existing directory as success; a file in the way is ENOTDIR.
void makeDir(const std::string& path, bool& made) {
  if (::mkdir(path.c_str(), 0700) == 0) {
    made = true;
    return;
  }
  int err = errno;
  struct stat st {};
  if (err == EEXIST && ::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return;
    err = ENOTDIR;
  }
  throw Failed{err, "cannot make " + path};
}

// A new or renamed entry is durable only once its directory is synced (rename(2) alone
// may be lost in a crash).
void syncDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw Failed{errno, "cannot open " + path};
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) throw Failed{err, "cannot sync " + path};
}

// The host part of a Maildir name: '/' and ':' are written \057 and \072, as the
// convention asks (':' starts the info part in cur/).
std::string hostPart() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  std::string out;
  for (const char* p = name; *p != '\0'; ++p) {
    if (*p == '/')
      out += "\\057";
    else if (*p == ':')
      out += "\\072";
    else
      out += *p;
  }
  return out;
}

// time.pid_counter.host: unique within this process by the counter, across processes by
// the pid, across reboots and pid reuse by the time; O_EXCL catches what is left.
std::string uniqueName() {
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
  return std::to_string(seconds) + "." + std::to_string(::getpid()) + "_" +
         std::to_string(deliveries.fetch_add(1)) + "." + hostPart();
}

void writeAll(int fd, const std::string& data, const std::string& path) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Failed{n < 0 ? errno : EIO, "cannot write " + path};
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

Maildir::Maildir(std::string root) : root_(std::move(root)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
}

DeliveryResult Maildir::deliver(const std::string& message) const {
  DeliveryResult result;
  std::string tmpPath;
  std::string newPath;
  bool created = false;
  bool renamed = false;
  try {
    if (root_.empty()) throw Failed{ENOENT, "BccReportMaildir is empty"};
    // The root and any missing parent, then the three folders the convention asks for.
    bool made = false;
    for (auto slash = root_.find('/', 1); slash != std::string::npos;
         slash = root_.find('/', slash + 1)) {
      makeDir(root_.substr(0, slash), made);
    }
    makeDir(root_, made);
    for (const char* sub : {"/tmp", "/new", "/cur"}) makeDir(root_ + sub, made);
    if (made) syncDir(root_);

    int fd = -1;
    std::string name;
    for (int attempt = 0; fd < 0 && attempt < kAttempts; ++attempt) {
      name = uniqueName();
      tmpPath = root_ + "/tmp/" + name;
      fd = ::open(tmpPath.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0 && errno != EEXIST) throw Failed{errno, "cannot create " + tmpPath};
    }
    if (fd < 0) throw Failed{EEXIST, "no free name in " + root_ + "/tmp"};
    created = true;
    try {
      writeAll(fd, message, tmpPath);
      if (::fsync(fd) != 0) throw Failed{errno, "cannot sync " + tmpPath};
    } catch (const Failed&) {
      ::close(fd);
      throw;
    }
    if (::close(fd) != 0) throw Failed{errno, "cannot write " + tmpPath};

    newPath = root_ + "/new/" + name;
    if (::rename(tmpPath.c_str(), newPath.c_str()) != 0)
      throw Failed{errno, "cannot move " + tmpPath + " into new/"};
    renamed = true;
    syncDir(root_ + "/new");
  } catch (const Failed& f) {
    // Nothing half done stays: a report in new/ that might vanish in a crash is taken
    // back, so that the retry the caller makes cannot leave two.
    if (renamed)
      ::unlink(newPath.c_str());
    else if (created)
      ::unlink(tmpPath.c_str());
    result.outcome = lasting(f.err) ? Outcome::PermFail : Outcome::TempFail;
    result.reason = "Maildir: " + f.what + ": " + std::strerror(f.err);
    return result;
  }
  result.receipt = newPath;
  result.reason = "Maildir: delivered into " + newPath;
  return result;
}

}  // namespace bccsink::report
