#pragma once
// The parser master: a small process forked from the daemon at start-up, before any thread
// exists, whose only job is to fork parser processes (ExtractWorker) when the daemon's
// ExtractPool asks, and to kill and reap them when it says so. OpenSMTPD's privilege
// separation, for the code that reads hostile bytes.
//
// Why a master instead of fork() in the daemon: the daemon is multi-threaded (listener,
// committer, pipeline workers, reporter). A fork copies only the calling thread; a lock
// another thread held at that moment (a logger's, a static initialiser's, the dynamic
// loader's, libmagic's typer mutex) stays locked forever in the child, and the extraction
// code calls far more than the async-signal-safe functions. A process forked while the
// daemon is still single-threaded has no such locks; it stays single-threaded, so its own
// forks are safe, and each worker starts with what the master loaded (libmagic's
// database, iconv's modules, the locale) without opening anything itself.
//
// The master closes every descriptor but its control socket (a SOCK_SEQPACKET pair with
// the daemon), so it and its workers hold no database, spool, lock or listening socket. A
// worker's socket reaches the daemon over the control socket (SCM_RIGHTS). Workers stay
// the master's children until the daemon retires them: a pid is not reused while the
// daemon may still name it. The master and its workers die with the daemon
// (PR_SET_PDEATHSIG, and the control socket's end of file).

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "sandbox/extract/isolation/ExtractWorker.h"

namespace bccsink::sandbox {

struct ParserMasterSettings {
  // How long the daemon waits for the master's answer. A master that does not answer in
  // time (stopped, hung) is taken for gone: killed, and every later request fails at once,
  // so a pipeline thread never blocks on it while holding the request mutex.
  std::chrono::milliseconds answerTimeout{5000};
  // RLIMIT_AS of every worker (0: none). A memory bomb then ends the worker (ENOMEM,
  // std::bad_alloc, a crash: "evasion: parser crashed"), not the machine; its
  // oom_score_adj is 1000 so that the kernel's OOM killer picks a worker first.
  std::uint64_t workerMemoryLimit = 0;
};

class ParserMaster {
 public:
  // Runs in the master, once, right after the fork: loads what parsing needs (libmagic,
  // the rules) and returns the parse function every worker runs. Throwing ends the
  // master (each message is then unscanned, "parser unavailable").
  using Prepare = std::function<ParseMessage()>;

  // Forks the master. Call it while the process has one thread. Throws
  // std::runtime_error when the fork or the socket pair fails.
  explicit ParserMaster(const Prepare& prepare, ParserMasterSettings settings = {});
  ~ParserMaster();  // closes the control socket: the master kills its workers and exits
  ParserMaster(const ParserMaster&) = delete;
  ParserMaster& operator=(const ParserMaster&) = delete;

  struct Worker {
    pid_t pid = -1;
    int fd = -1;  // the caller's end of the worker's socket; the caller closes it
  };
  // A new worker. Thread-safe. Throws std::runtime_error when the master is gone (or
  // silent for answerTimeout: then it is killed and gone() is true).
  Worker spawn();
  // Reaps the worker and returns how it ended ("killed by signal 6", "exited with status
  // 0"). `now`: SIGKILL at once (a hung worker, one that served its messages); otherwise a
  // worker whose socket closed gets 200 ms to finish dying, so that its own end is told.
  // Thread-safe. Throws std::runtime_error when the master is gone.
  std::string retire(pid_t pid, bool now);

  pid_t pid() const { return pid_; }
  // True once the master closed its socket, died or stayed silent: no worker will come.
  bool gone() const { return gone_; }

 private:
  // Sends `r` and reads the answer (and a passed descriptor) within the timeout; on any
  // failure marks the master gone and throws. Called with mutex_ held.
  void ask(const void* request, std::size_t size, void* answer, std::size_t answerSize,
           int* passedFd);
  void lose();

  ParserMasterSettings settings_;
  int control_ = -1;
  pid_t pid_ = -1;
  std::atomic<bool> gone_{false};
  std::mutex mutex_;  // one request and its answer at a time
};

}  // namespace bccsink::sandbox
