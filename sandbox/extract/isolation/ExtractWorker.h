#pragma once
// A parser process's life (forked by ParserMaster): confine itself (Seccomp.h), then for
// each Message frame on its socket run the extraction and write back a Kept frame per
// selected file and one Result frame; exit when the daemon closes the socket. It writes
// nothing else, logs nothing, opens nothing.

#include <functional>
#include <memory>

#include "sandbox/extract/Extraction.h"

namespace bccsink::sandbox {

// What a worker runs on one message: built once in the master (ParserMaster::start), where
// the file system is still open to it, and inherited by every worker.
using ParseMessage = std::function<Extraction(std::string_view message, const KeepFile& keep)>;

// Never returns: _exit(0) when the daemon closes `fd`, _exit(1) on a write error or
// when the filter cannot be installed.
[[noreturn]] void runExtractWorker(int fd, const ParseMessage& parse);

// Writes all of `bytes` to `fd` (a stream socket), without SIGPIPE. False on an error.
bool writeAll(int fd, std::string_view bytes);

}  // namespace bccsink::sandbox
