#pragma once
// The seccomp filter a parser process (ExtractWorker) installs before it reads a message.
// An allow-list: what parsing needs (memory that is never executable, reading and
// writing the descriptors it holds, time, randomness, signals to itself, a thread of its
// own, its exit) is allowed; everything else fails with EPERM, so a library's probe (open
// a file, stat a path, raise a limit, signal another process) fails as a missing file
// would. The calls only an exploit makes kill the process (SIGSYS): sockets, execve,
// io_uring (whose requests the filter would never see), fork and clone without
// CLONE_THREAD (a child would outlive the worker's SIGKILL), ptrace, process_vm_*, bpf,
// perf_event_open, keyctl, userfaultfd, unshare, setns, mount. A call of another
// architecture (i386's int 0x80, x32) kills too. What it holds is the message and the
// socket to the daemon. Everything it needs from the file system (libmagic's database,
// the C.UTF-8 locale, iconv's modules) is loaded before.

namespace bccsink::sandbox {

// Installs the filter in the calling process (no_new_privs set). Throws
// std::runtime_error when libseccomp refuses.
void confineParser();

}  // namespace bccsink::sandbox
