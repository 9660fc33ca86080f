#include "sandbox/extract/isolation/ExtractWorker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/isolation/ExtractionCodec.h"
#include "sandbox/extract/isolation/Frame.h"
#include "sandbox/extract/isolation/Seccomp.h"

namespace bccsink::sandbox {

bool writeAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void runExtractWorker(int fd, const ParseMessage& parse) {
  try {
    confineParser();
  } catch (...) {
    _exit(1);  // the daemon sees the socket close: this message is not parsed unconfined
  }
  // The daemon is trusted: a message as large as it sends.
  FrameDecoder in(~std::uint64_t{0});
  std::string chunk(1 << 20, '\0');
  for (;;) {
    std::optional<Frame> frame;
    try {
      while (!(frame = in.next())) {
        const ssize_t n = ::read(fd, chunk.data(), chunk.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(0);
        in.feed(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
      }
    } catch (const FrameError&) {
      _exit(1);
    }
    if (frame->type != FrameType::Message) _exit(1);
    bool ok = true;
    auto keep = [&](const ExtractedFile& f, std::string_view bytes) {
      const std::string head = encodeKeptHead(f, bytes.size());
      ok = ok && writeAll(fd, frameHeader(FrameType::Kept, head.size() + bytes.size())) &&
           writeAll(fd, head) && writeAll(fd, bytes);
    };
    Extraction result;
    try {
      result = parse(frame->payload(), keep);
    } catch (const std::exception& e) {
      result.errors.push_back(evasion(std::string("extraction stopped: ") + e.what()));
    }
    const std::string out = encodeExtraction(result);
    if (!ok || !writeAll(fd, frameHeader(FrameType::Result, out.size())) || !writeAll(fd, out))
      _exit(1);
  }
}

}  // namespace bccsink::sandbox
