#include "sandbox/extract/isolation/Seccomp.h"

#include <seccomp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

namespace bccsink::sandbox {
namespace {

struct Release {
  void operator()(scmp_filter_ctx c) const { seccomp_release(c); }
};

// A library that tries to open a file (a locale, a configuration) gets EPERM and goes on
// without it, as when the file is missing: an error it already handles.
constexpr int kRefused[] = {SCMP_SYS(open),
                            SCMP_SYS(openat),
                            SCMP_SYS(openat2),
                            SCMP_SYS(creat),
                            SCMP_SYS(open_by_handle_at),
                            SCMP_SYS(unlink),
                            SCMP_SYS(unlinkat),
                            SCMP_SYS(rename),
                            SCMP_SYS(renameat),
                            SCMP_SYS(renameat2),
                            SCMP_SYS(mkdir),
                            SCMP_SYS(mkdirat),
                            SCMP_SYS(rmdir),
                            SCMP_SYS(link),
                            SCMP_SYS(linkat),
                            SCMP_SYS(symlink),
                            SCMP_SYS(symlinkat),
                            SCMP_SYS(chmod),
                            SCMP_SYS(fchmodat),
                            SCMP_SYS(chown),
                            SCMP_SYS(fchownat),
                            SCMP_SYS(lchown),
                            SCMP_SYS(truncate),
                            SCMP_SYS(mknod),
                            SCMP_SYS(mknodat),
                            SCMP_SYS(ptrace),
                            SCMP_SYS(process_vm_writev),
                            SCMP_SYS(process_vm_readv)};
// No parsing code has a reason to talk to the network or start a program: whoever asks
// is an exploit, and the process dies (the message is "evasion: parser crashed").
constexpr int kKilled[] = {SCMP_SYS(socket),  SCMP_SYS(socketpair), SCMP_SYS(connect),
                           SCMP_SYS(bind),    SCMP_SYS(listen),     SCMP_SYS(accept),
                           SCMP_SYS(accept4), SCMP_SYS(execve),     SCMP_SYS(execveat)};

void check(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string("seccomp: ") + what + ": " + std::strerror(-rc));
}

}  // namespace

void confineParser() {
  std::unique_ptr<void, Release> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) throw std::runtime_error("seccomp: cannot initialise a filter");
  for (int sys : kRefused)
    check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), sys, 0), "rule");
  for (int sys : kKilled) check(seccomp_rule_add(ctx.get(), SCMP_ACT_KILL_PROCESS, sys, 0), "rule");
  // Signals only to itself (abort() raises SIGABRT with tgkill): a parser, whatever user
  // it runs as, cannot signal the daemon, its siblings or any other process.
  const auto self = static_cast<scmp_datum_t>(::getpid());
  for (int sys : {SCMP_SYS(kill), SCMP_SYS(tkill), SCMP_SYS(tgkill)}) {
    check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), sys, 1, SCMP_A0(SCMP_CMP_NE, self)),
          "rule");
  }
  for (int sys : {SCMP_SYS(pidfd_open), SCMP_SYS(pidfd_send_signal)})
    check(seccomp_rule_add(ctx.get(), SCMP_ACT_ERRNO(EPERM), sys, 0), "rule");
  check(seccomp_load(ctx.get()), "load");
}

}  // namespace bccsink::sandbox
