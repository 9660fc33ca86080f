#include "sandbox/extract/isolation/Seccomp.h"

#include <fcntl.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

// What parsing a message needs, found by running every test/data/mime message, the fuzz
// corpora and a corpus of broken MIME through confined workers under strace: memory,
// the socket it holds, time, randomness, signals to itself, its own exit. Anything not
// named here fails with EPERM (a library that probes a file or a limit goes on without
// it, as when the file is missing), or kills the process (kKilled).
constexpr int kAllowed[] = {SCMP_SYS(read),         SCMP_SYS(write),
                            SCMP_SYS(readv),        SCMP_SYS(writev),
                            SCMP_SYS(pread64),      SCMP_SYS(pwrite64),
                            SCMP_SYS(recvmsg),      SCMP_SYS(sendmsg),
                            SCMP_SYS(recvfrom),     SCMP_SYS(sendto),
                            SCMP_SYS(close),        SCMP_SYS(fstat),
                            SCMP_SYS(lseek),        SCMP_SYS(munmap),
                            SCMP_SYS(mremap),       SCMP_SYS(madvise),
                            SCMP_SYS(brk),          SCMP_SYS(futex),
                            SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
                            SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
                            SCMP_SYS(getpid),       SCMP_SYS(gettid),
                            SCMP_SYS(getppid),      SCMP_SYS(getuid),
                            SCMP_SYS(geteuid),      SCMP_SYS(getgid),
                            SCMP_SYS(getegid),      SCMP_SYS(clock_gettime),
                            SCMP_SYS(clock_getres), SCMP_SYS(clock_nanosleep),
                            SCMP_SYS(nanosleep),    SCMP_SYS(gettimeofday),
                            SCMP_SYS(time),         SCMP_SYS(getrandom),
                            SCMP_SYS(exit),         SCMP_SYS(exit_group),
                            SCMP_SYS(sched_yield),  SCMP_SYS(set_robust_list),
                            SCMP_SYS(rseq),         SCMP_SYS(restart_syscall),
                            SCMP_SYS(fcntl),        SCMP_SYS(dup),
                            SCMP_SYS(dup2),         SCMP_SYS(dup3),
                            SCMP_SYS(poll),         SCMP_SYS(ppoll),
                            SCMP_SYS(select),       SCMP_SYS(pselect6),
                            SCMP_SYS(uname),        SCMP_SYS(sysinfo),
                            SCMP_SYS(getrusage),    SCMP_SYS(membarrier)};

// No parsing code has a reason to reach the network, start a program or a process,
// watch or change another process, or reach the kernel's less travelled parts: whoever
// asks is an exploit, and the process dies (the message is "evasion: parser crashed").
// io_uring's requests (openat, read, socket, connect) run in kernel workers that the
// filter never sees; a forked child would outlive the worker's SIGKILL.
constexpr int kKilled[] = {SCMP_SYS(socket),
                           SCMP_SYS(socketpair),
                           SCMP_SYS(connect),
                           SCMP_SYS(bind),
                           SCMP_SYS(listen),
                           SCMP_SYS(accept),
                           SCMP_SYS(accept4),
                           SCMP_SYS(execve),
                           SCMP_SYS(execveat),
                           SCMP_SYS(io_uring_setup),
                           SCMP_SYS(io_uring_enter),
                           SCMP_SYS(io_uring_register),
                           SCMP_SYS(fork),
                           SCMP_SYS(vfork),
                           SCMP_SYS(ptrace),
                           SCMP_SYS(process_vm_readv),
                           SCMP_SYS(process_vm_writev),
                           SCMP_SYS(process_madvise),
                           SCMP_SYS(bpf),
                           SCMP_SYS(perf_event_open),
                           SCMP_SYS(keyctl),
                           SCMP_SYS(add_key),
                           SCMP_SYS(request_key),
                           SCMP_SYS(userfaultfd),
                           SCMP_SYS(unshare),
                           SCMP_SYS(setns),
                           SCMP_SYS(mount),
                           SCMP_SYS(umount2),
                           SCMP_SYS(pivot_root),
                           SCMP_SYS(move_mount),
                           SCMP_SYS(open_tree),
                           SCMP_SYS(fsopen),
                           SCMP_SYS(fsmount),
                           SCMP_SYS(fsconfig),
                           SCMP_SYS(fspick),
                           SCMP_SYS(kexec_load),
                           SCMP_SYS(kexec_file_load),
                           SCMP_SYS(init_module),
                           SCMP_SYS(finit_module),
                           SCMP_SYS(delete_module),
                           SCMP_SYS(pidfd_open),
                           SCMP_SYS(pidfd_getfd),
                           SCMP_SYS(pidfd_send_signal),
                           SCMP_SYS(kcmp),
                           SCMP_SYS(seccomp)};

void check(int rc, const char* what) {
  if (rc < 0) throw std::runtime_error(std::string("seccomp: ") + what + ": " + std::strerror(-rc));
}

}  // namespace

void confineParser() {
  // Default: EPERM. A library's probe (open a locale, stat a path, raise a limit) fails
  // gracefully; nothing unlisted succeeds.
  std::unique_ptr<void, Release> ctx(seccomp_init(SCMP_ACT_ERRNO(EPERM)));
  if (!ctx) throw std::runtime_error("seccomp: cannot initialise a filter");
  scmp_filter_ctx c = ctx.get();
  // no_new_privs (libseccomp's default, said here); the native architecture only
  // (seccomp_init's): an i386 (int 0x80) or x32 call, which the rules below do not
  // describe, kills the process.
  check(seccomp_attr_set(c, SCMP_FLTATR_CTL_NNP, 1), "no_new_privs");
  check(seccomp_attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS), "bad arch");
  for (int sys : kAllowed) check(seccomp_rule_add(c, SCMP_ACT_ALLOW, sys, 0), "allow");
  for (int sys : kKilled) check(seccomp_rule_add(c, SCMP_ACT_KILL_PROCESS, sys, 0), "kill");

  // Memory, never executable: a parser maps data, not code (its code was mapped before
  // the filter). An exploit cannot make its bytes executable; mmap/mprotect asking for
  // PROT_EXEC fail with EPERM.
  for (int sys : {SCMP_SYS(mmap), SCMP_SYS(mprotect)}) {
    check(seccomp_rule_add(c, SCMP_ACT_ALLOW, sys, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)),
          "memory");
  }
  // Threads (clone with CLONE_THREAD) die with the process; a new process (clone without
  // it: fork) would outlive the worker's SIGKILL and is killed. clone3's flags are in
  // memory the filter cannot read: ENOSYS, and glibc falls back to clone.
  check(seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD)),
        "clone");
  check(seccomp_rule_add(c, SCMP_ACT_KILL_PROCESS, SCMP_SYS(clone), 1,
                         SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0)),
        "clone");
  check(seccomp_rule_add(c, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0), "clone3");
  // fstat() is newfstatat(fd, "", AT_EMPTY_PATH) in glibc; statx likewise. By path: EPERM.
  check(seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                         SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)),
        "fstat");
  check(seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(statx), 1,
                         SCMP_A2(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)),
        "statx");
  // Its own limits may be read, not set, and no other process's: prlimit64(0, r, NULL, o).
  check(seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2, SCMP_A0(SCMP_CMP_EQ, 0),
                         SCMP_A2(SCMP_CMP_EQ, 0)),
        "prlimit64");
  check(seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(getrlimit), 0), "getrlimit");
  // isatty() (stdio's buffering choice): TCGETS only.
  check(seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, TCGETS)),
        "ioctl");
  // Signals only to itself (abort() raises SIGABRT with tgkill): a parser, whatever user
  // it runs as, cannot signal the daemon, its master, its siblings or any other process.
  const auto self = static_cast<scmp_datum_t>(::getpid());
  check(seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1, SCMP_A0(SCMP_CMP_EQ, self)), "kill");
  check(seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, SCMP_A0(SCMP_CMP_EQ, self)),
        "tgkill");
  // tkill names a thread: only its own threads' ids are its own, and the main thread's is
  // the pid; a thread of its own (if a library starts one) signals with tgkill.
  check(seccomp_rule_add(c, SCMP_ACT_ALLOW, SCMP_SYS(tkill), 1, SCMP_A0(SCMP_CMP_EQ, self)),
        "tkill");
  check(seccomp_load(c), "load");
}

}  // namespace bccsink::sandbox
