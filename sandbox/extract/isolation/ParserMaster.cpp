#include "sandbox/extract/isolation/ParserMaster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <stdexcept>

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

// The master's loop: single-threaded, it forks, passes sockets and reaps.
[[noreturn]] void serve(int control, const ParserMaster::Prepare& prepare, pid_t daemon) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != daemon) _exit(0);
  // Nothing of the daemon's: no database, spool, lock file or listening socket.
  ::close_range(0, control - 1, 0);
  ::close_range(control + 1, ~0U, 0);
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

ParserMaster::ParserMaster(const Prepare& prepare) {
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
  if (pid_ == 0) serve(pair[1], prepare, daemon);
  ::close(pair[1]);
  control_ = pair[0];
}

ParserMaster::~ParserMaster() {
  ::close(control_);
  int status;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
}

ParserMaster::Worker ParserMaster::spawn() {
  std::lock_guard lock(mutex_);
  Request r{'S', 0};
  if (::send(control_, &r, sizeof r, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof r))
    throw std::runtime_error("the parser master is gone");
  Answer a{};
  iovec iov{&a, sizeof a};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do n = ::recvmsg(control_, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof a)) throw std::runtime_error("the parser master is gone");
  Worker w;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
      std::memcpy(&w.fd, CMSG_DATA(c), sizeof(int));
  }
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
  Request r{now ? 'K' : 'R', pid};
  if (::send(control_, &r, sizeof r, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof r))
    throw std::runtime_error("the parser master is gone");
  Answer a{};
  ssize_t n;
  do n = ::recv(control_, &a, sizeof a, 0);
  while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof a)) throw std::runtime_error("the parser master is gone");
  if (a.error != 0) return "not a worker of the parser master";
  return describe(a.status);
}

}  // namespace bccsink::sandbox
