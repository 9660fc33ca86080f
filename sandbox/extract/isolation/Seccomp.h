#pragma once
// The seccomp filter a parser process (ExtractWorker) installs before it reads a message:
// whatever a crafted message makes of the parsing code, it cannot open a file (open,
// openat, creat: EPERM), change one it does not hold (unlink, rename, chmod...: EPERM),
// nor open a socket or run a program (socket, execve: the process is killed), nor signal
// another process (kill, tgkill to any pid but its own: EPERM). What it
// holds is the message and the pipe to the daemon. Everything it needs from the file
// system (libmagic's database, the C.UTF-8 locale, iconv's modules) is loaded before.

namespace bccsink::sandbox {

// Installs the filter in the calling process (no_new_privs set). Throws
// std::runtime_error when libseccomp refuses.
void confineParser();

}  // namespace bccsink::sandbox
