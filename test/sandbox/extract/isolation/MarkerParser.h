#pragma once
// The ExtractPool tests' parser (ExtractPool_test.cpp, ExtractPoolSeccomp_test.cpp): it acts
// on a marker in the message (crash, hang, a forbidden system call...), so the faults are
// real ones in a real confined child; and the helpers that send a message through a pool.

#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/extract/Digest.h"
#include "sandbox/extract/isolation/ExtractPool.h"

namespace bccsink::sandbox::markers {

inline bool has(std::string_view message, std::string_view marker) {
  return message.find(marker) != std::string_view::npos;
}

// One file named after the message, kept, and the worker's pid as an error line; the
// markers make the worker misbehave.
inline ParseMessage markerParser() {
  return [](std::string_view message, const KeepFile& keep) {
    if (has(message, "CRASH")) std::abort();
    if (has(message, "HANG")) {
      for (;;) ::pause();
    }
    Extraction out;
    if (has(message, "NOISE")) {
      // A library's warning: must not reach the frames.
      (void)!::write(1, "stdout\n", 7);
      (void)!::write(2, "stderr\n", 7);
    }
    if (has(message, "OPEN")) {
      errno = 0;
      const int fd = ::open("/etc/hostname", O_RDONLY);
      out.errors.push_back("open: " + std::to_string(fd) + " " + std::strerror(errno));
    }
    if (has(message, "SIGNAL")) {
      errno = 0;
      const int rc = ::kill(::getppid(), 0);  // the master; the daemon alike
      out.errors.push_back("kill: " + std::to_string(rc) + " " + std::strerror(errno));
    }
    if (has(message, "SOCKET")) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      out.errors.push_back("socket: " + std::to_string(fd));  // not reached: killed
    }
    auto report = [&](const char* what, long rc) {
      out.errors.push_back(std::string(what) + ": " + std::to_string(rc) + " " +
                           (rc < 0 ? std::strerror(errno) : "ok"));
    };
    if (has(message, "IOURING")) {
      // Its requests would run in kernel workers the filter never sees.
      io_uring_params p{};
      errno = 0;
      report("io_uring_setup", ::syscall(SYS_io_uring_setup, 4, &p));  // not reached: killed
    }
    if (has(message, "FORK")) {
      // A child would outlive the worker's SIGKILL.
      const pid_t child = ::fork();
      if (child == 0) {
        ::alarm(5);  // bounded, should a filter ever let it through
        for (;;) ::pause();
      }
      report("fork", child);  // not reached: killed
    }
    if (has(message, "SIGQUEUE")) {
      // Signal 0: harmless even where it is allowed (the filter before this one).
      siginfo_t info{};
      info.si_code = SI_QUEUE;
      errno = 0;
      report("rt_sigqueueinfo", ::syscall(SYS_rt_sigqueueinfo, ::getppid(), 0, &info));
    }
    if (has(message, "PRLIMIT")) {
      // Only read (no new limit): another process's limits are not its business.
      rlimit old{};
      errno = 0;
      report("prlimit", ::prlimit(::getppid(), RLIMIT_FSIZE, nullptr, &old));
    }
    if (has(message, "UNLISTED")) {
      // Not on the list: EPERM, as every call nobody named.
      errno = 0;
      report("access", ::access("/", F_OK));
    }
#if defined(__x86_64__)
    if (has(message, "I386")) {
      long rc = 20;  // getpid in i386's table, through int 0x80: another architecture
      asm volatile("int $0x80" : "+a"(rc) : : "memory");
      report("i386 getpid", rc);  // not reached: killed
    }
    if (has(message, "X32")) {
      report("x32 getpid", ::syscall(0x40000000 | 39));  // not reached: killed
    }
#endif
    if (has(message, "WXMEM")) {
      errno = 0;
      void* p = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      report("mmap exec", p == MAP_FAILED ? -1 : 0);
    }
    if (has(message, "THREAD")) {
      // A library's thread (clone with CLONE_THREAD) is allowed: it dies with the process.
      int value = 0;
      std::thread t([&] { value = 42; });
      t.join();
      report("thread", value);
    }
    if (has(message, "ASLIMIT")) {
      rlimit as{};
      ::getrlimit(RLIMIT_AS, &as);
      report("as", static_cast<long>(as.rlim_cur));
    }
    if (has(message, "BOMB")) {
      std::string big(3ull << 30, 'x');  // past the worker's RLIMIT_AS: std::bad_alloc
      report("bomb", static_cast<long>(big.size()));
    }
    if (has(message, "EXEC")) {
      char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
      ::execv("/bin/true", argv);
      out.errors.push_back("exec failed");  // not reached: killed
    }
    ExtractedFile f;
    f.name = std::string(message.substr(0, 20));
    f.size = message.size();
    const auto d = digest(message);
    f.sha256 = d.sha256;
    f.md5 = d.md5;
    // A subverted parser: the bytes under another file's digest.
    if (has(message, "LIE")) f.sha256 = std::string(64, '0');
    f.selected = true;
    if (has(message, "CTRLNAME")) f.name = std::string("evil\r\nX-Injected: 1\0.exe", 24);
    if (has(message, "BADHASH")) {
      // Not kept, only told: a digest the store could not take ("../" would be a path).
      f.selected = false;
      f.sha256 = "../../etc/passwd";
      out.files.push_back(f);
      return out;
    }
    keep(f, message);
    out.files.push_back(f);
    out.errors.push_back("pid " + std::to_string(::getpid()));
    return out;
  };
}

inline ExtractPoolSettings settings(std::size_t workers, std::size_t perWorker,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  ExtractPoolSettings s;
  s.workers = workers;
  s.messagesPerWorker = perWorker;
  s.timeout = timeout;
  return s;
}

struct Parsed {
  Extraction extraction;
  std::vector<std::string> kept;
};

inline Parsed parse(const ExtractPool& pool, std::string_view message) {
  Parsed p;
  p.extraction = pool.extract(
      message, [&](const ExtractedFile&, std::string_view bytes) { p.kept.emplace_back(bytes); });
  return p;
}

inline std::string pidOf(const Extraction& e) {
  return e.errors.empty() ? "" : e.errors.back();
}

}  // namespace bccsink::sandbox::markers
