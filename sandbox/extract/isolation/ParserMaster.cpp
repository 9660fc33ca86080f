#include "sandbox/extract/isolation/ParserMaster.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>
#include <stdexcept>
#include <vector>

#include "sandbox/extract/isolation/Preload.h"

namespace bccsink::sandbox {
namespace {

struct Request {
  char op;  // 'S' spawn, 'K' kill and reap, 'R' reap (grace, then kill)
  pid_t pid;
};

struct Answer {
  pid_t pid;
  int status;  // waitpid's, for 'K' and 'R'
  int error;   // errno of a failed spawn
};

std::string describe(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return "ended";
}

bool sendAnswer(int fd, const Answer& a, int passFd) {
  iovec iov{const_cast<Answer*>(&a), sizeof a};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  if (passFd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &passFd, sizeof(int));
  }
  ssize_t n;
  do n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof a);
}

int reap(pid_t pid, bool now) {
  int status = 0;
  if (!now) {
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid, &status, WNOHANG) == pid) return status;
      timespec pause{0, 2'000'000};
      ::nanosleep(&pause, nullptr);
    }
  }
  ::kill(pid, SIGKILL);
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// Closes every descriptor but `keep`. close_range (Linux 5.9) does it in one call; where it
// is refused (ENOSYS on an older kernel, EPERM under a container's filter), each descriptor
// /proc/self/fd lists is closed. False when neither works: the caller ends rather than let
// a parser hold the daemon's database, spool or listening socket.
bool closeAllBut(int keep) {
  if ((keep == 0 || ::close_range(0, static_cast<unsigned>(keep) - 1, 0) == 0) &&
      ::close_range(static_cast<unsigned>(keep) + 1, ~0U, 0) == 0)
    return true;
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return false;
  std::vector<int> open;
  while (const dirent* e = ::readdir(dir)) {
    char* end = nullptr;
    const long fd = std::strtol(e->d_name, &end, 10);
    if (end != e->d_name && *end == '\0' && fd != keep && fd != ::dirfd(dir))
      open.push_back(static_cast<int>(fd));
  }
  ::closedir(dir);
  for (int fd : open) ::close(fd);
  return true;
}

// A worker's limits, set after its fork and before its filter: its address space is
// capped (a memory bomb ends the worker, not the daemon), and the OOM killer takes it
// first (oom_score_adj 1000; raising one's own score needs no privilege). /proc may be
// absent: the score is a preference, the cap is not.
void limitWorker(std::uint64_t memoryLimit) {
#if defined(__SANITIZE_ADDRESS__)
  memoryLimit = 0;  // AddressSanitizer reserves terabytes of shadow memory (fuzz builds)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  memoryLimit = 0;
#endif
#endif
  if (memoryLimit > 0) {
    rlimit r{memoryLimit, memoryLimit};
    // prlimit64 (what glibc's setrlimit calls too): the systemd unit's filter refuses
    // setrlimit(2) with @resources, not prlimit64.
    if (::prlimit(0, RLIMIT_AS, &r, nullptr) != 0) _exit(1);
  }
  // A process that left root is not dumpable, and its /proc files are root's: made
  // dumpable for the write (its own uid then owns them), as it was after.
  const int dumpable = ::prctl(PR_GET_DUMPABLE);
  if (dumpable == 0) ::prctl(PR_SET_DUMPABLE, 1);
  const int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    (void)!::write(fd, "1000", 4);
    ::close(fd);
  }
  if (dumpable == 0) ::prctl(PR_SET_DUMPABLE, 0);
}

// The master's loop: single-threaded, it forks, passes sockets and reaps.
[[noreturn]] void serve(int control, const ParserMaster::Prepare& prepare, pid_t daemon,
                        const ParserMasterSettings& settings) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != daemon) _exit(0);
  // Nothing of the daemon's: no database, spool, lock file or listening socket.
  if (!closeAllBut(control)) _exit(1);
  // 0, 1 and 2 on /dev/null: else a worker's socket could be given fd 1 or 2, and a
  // library's warning on stderr (GLib's, libgsf's) would land in the frames.
  for (int fd = 0; fd < 3; ++fd) {
    if (fd != control && ::fcntl(fd, F_GETFD) < 0 && ::open("/dev/null", O_RDWR) != fd) _exit(1);
  }
  ParseMessage parse;
  try {
    parse = prepare();
    // prepare() may have switched to another user, which clears the parent-death signal.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != daemon) _exit(0);
    preloadForParsing(parse);
  } catch (...) {
    _exit(1);
  }
  std::set<pid_t> workers;
  for (;;) {
    Request r{};
    const ssize_t n = ::recv(control, &r, sizeof r, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof r)) break;  // the daemon is gone or stops
    Answer a{};
    if (r.op == 'S') {
      int pair[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        a.error = errno;
        if (!sendAnswer(control, a, -1)) break;
        continue;
      }
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::close(control);
        ::close(pair[0]);
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        limitWorker(settings.workerMemoryLimit);
        runExtractWorker(pair[1], parse);
      }
      ::close(pair[1]);
      if (pid < 0) {
        a.error = errno;
        ::close(pair[0]);
        if (!sendAnswer(control, a, -1)) break;
        continue;
      }
      workers.insert(pid);
      a.pid = pid;
      const bool sent = sendAnswer(control, a, pair[0]);
      ::close(pair[0]);
      if (!sent) break;
    } else if ((r.op == 'K' || r.op == 'R') && workers.erase(r.pid) == 1) {
      a.pid = r.pid;
      a.status = reap(r.pid, r.op == 'K');
      if (!sendAnswer(control, a, -1)) break;
    } else {
      a.error = EINVAL;
      if (!sendAnswer(control, a, -1)) break;
    }
  }
  for (pid_t pid : workers) reap(pid, true);
  _exit(0);
}

}  // namespace

ParserMaster::ParserMaster(const Prepare& prepare, ParserMasterSettings settings)
    : settings_(settings) {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
    throw std::runtime_error(std::string("parser master: socketpair: ") + std::strerror(errno));
  const pid_t daemon = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0) {
    const int e = errno;
    ::close(pair[0]);
    ::close(pair[1]);
    throw std::runtime_error(std::string("parser master: fork: ") + std::strerror(e));
  }
  if (pid_ == 0) serve(pair[1], prepare, daemon, settings_);
  ::close(pair[1]);
  control_ = pair[0];
}

ParserMaster::~ParserMaster() {
  ::close(control_);  // the master kills and reaps its workers, then exits
  // A stopped or hung master would keep the daemon from ending: it gets the answer
  // timeout, then SIGKILL (its workers die with it, PR_SET_PDEATHSIG).
  int status;
  const auto deadline = std::chrono::steady_clock::now() + settings_.answerTimeout;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      return;
    }
    timespec pause{0, 5'000'000};
    ::nanosleep(&pause, nullptr);
  }
}

void ParserMaster::lose() {
  // A master that stopped answering (SIGSTOP, a hang) may answer late, out of step with
  // the requests: it is not asked again. Killed, so that its workers die too
  // (PR_SET_PDEATHSIG); the destructor reaps it.
  gone_ = true;
  ::shutdown(control_, SHUT_RDWR);
  ::kill(pid_, SIGKILL);
  throw std::runtime_error("the parser master is gone");
}

void ParserMaster::ask(const void* request, std::size_t size, void* answer, std::size_t answerSize,
                       int* passedFd) {
  if (gone_) throw std::runtime_error("the parser master is gone");
  const auto deadline = std::chrono::steady_clock::now() + settings_.answerTimeout;
  // Ready, hung up or failed: true (the call that follows says which); the deadline: false.
  auto ready = [&](short events) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) return false;
      pollfd p{control_, events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(left));
      if (n > 0 || (n < 0 && errno != EINTR)) return true;
    }
  };
  for (;;) {
    if (!ready(POLLOUT)) lose();
    const ssize_t n = ::send(control_, request, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n != static_cast<ssize_t>(size)) lose();
    break;
  }
  for (;;) {
    if (!ready(POLLIN)) lose();
    iovec iov{answer, answerSize};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    const ssize_t n = ::recvmsg(control_, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c), sizeof(int));
        if (passedFd && *passedFd < 0)
          *passedFd = fd;
        else
          ::close(fd);
      }
    }
    if (n != static_cast<ssize_t>(answerSize)) {
      if (passedFd && *passedFd >= 0) ::close(*passedFd);
      lose();
    }
    return;
  }
}

ParserMaster::Worker ParserMaster::spawn() {
  std::lock_guard lock(mutex_);
  const Request r{'S', 0};
  Answer a{};
  Worker w;
  ask(&r, sizeof r, &a, sizeof a, &w.fd);
  if (a.error != 0 || w.fd < 0) {
    if (w.fd >= 0) ::close(w.fd);
    throw std::runtime_error(std::string("the parser master cannot start a worker: ") +
                             std::strerror(a.error ? a.error : EPROTO));
  }
  w.pid = a.pid;
  return w;
}

std::string ParserMaster::retire(pid_t pid, bool now) {
  std::lock_guard lock(mutex_);
  const Request r{now ? 'K' : 'R', pid};
  Answer a{};
  ask(&r, sizeof r, &a, sizeof a, nullptr);
  if (a.error != 0) return "not a worker of the parser master";
  return describe(a.status);
}

}  // namespace bccsink::sandbox
