#include "sandbox/extract/isolation/ExtractPool.h"

#include <Poco/Logger.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

#include "base/FileName.h"
#include "sandbox/extract/Digest.h"
#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/isolation/ExtractionCodec.h"
#include "sandbox/extract/isolation/Frame.h"

namespace bccsink::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

Poco::Logger& log() {
  return Poco::Logger::get("bccsink");
}

// The message as one unscanned entry: nothing of it was read (what the worker kept before
// it died is in the store, unlisted, and goes with the store's clean-up).
Extraction unparsed(std::string_view message, std::string reason, const std::string& detail) {
  Extraction out;
  ExtractedFile f;
  f.name = "(the whole message)";
  f.size = message.size();
  f.unreadable = true;
  f.reason = reason;
  out.files.push_back(std::move(f));
  out.errors.push_back(reason + " (" + detail + "); the message was not read");
  return out;
}

int millisLeft(Clock::time_point deadline) {
  const auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 60'000));
}

// Waits until `fd` is ready for `events` or the deadline passes (false).
bool waitFor(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int left = millisLeft(deadline);
    const int n = ::poll(&p, 1, left);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return true;  // the read or write says what is wrong
    if (n == 0 && Clock::now() >= deadline) return false;
  }
}

// Empty (not computed) or `digits` lowercase hex digits, as the store takes them.
bool isHex(const std::string& text, std::size_t digits) {
  if (text.empty()) return true;
  return text.size() == digits && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// What the daemon takes of a parser's word about a file: digests the store and the cache
// can be keyed by (a bad one would be thrown later, outside the message, as if the database
// had failed) and names cleaned as the in-process extraction cleans them (they are shown,
// logged and stored). False: the parser lied, and is treated as crashed.
bool believe(ExtractedFile& f) {
  if (!isHex(f.sha256, 64) || !isHex(f.md5, 32)) return false;
  f.name = cleanFileName(f.name);
  for (auto& n : f.altNames) n = cleanFileName(n);
  for (auto& w : f.where) w = cleanFileName(w);
  return true;
}

}  // namespace

ExtractPool::ExtractPool(ParserMaster& master, ExtractPoolSettings settings)
    : master_(master), settings_(settings), slots_(std::max<std::size_t>(1, settings.workers)) {}

ExtractPool::~ExtractPool() {
  std::lock_guard lock(mutex_);
  for (auto& slot : slots_) retire(slot, true, nullptr);  // no extract() runs: the owner waits
}

void ExtractPool::retire(Slot& slot, bool now, std::string* how) const {
  if (slot.fd >= 0) ::close(slot.fd);
  if (slot.pid > 0) {
    try {
      auto ended = master_.retire(slot.pid, now);
      if (how) *how = ended;
    } catch (const std::exception& e) {
      if (how) *how = e.what();
    }
  }
  // Still this thread's (busy) until release().
  slot.pid = -1;
  slot.fd = -1;
  slot.served = 0;
}

Extraction ExtractPool::extract(std::string_view message, const KeepFile& keep) const {
  Slot* slot = nullptr;
  {
    std::unique_lock lock(mutex_);
    free_.wait(lock, [&] {
      for (auto& s : slots_) {
        if (!s.busy) {
          slot = &s;
          return true;
        }
      }
      return false;
    });
    slot->busy = true;
  }
  // Only this thread touches a busy slot; the master serialises its own requests.
  auto release = [&] {
    std::lock_guard lock(mutex_);
    slot->busy = false;
    free_.notify_one();
  };
  if (slot->pid > 0 && slot->served >= settings_.messagesPerWorker) retire(*slot, true, nullptr);
  if (slot->pid > 0) {
    // An idle worker writes nothing: readable or hung up means it died between messages
    // (the OOM killer, an operator): replaced, so that this message is not blamed.
    pollfd p{slot->fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) != 0) {
      std::string how;
      retire(*slot, false, &how);
      log().warning("extraction: an idle parser process ended (%s); replaced", how);
    }
  }
  if (slot->pid <= 0) {
    try {
      auto w = master_.spawn();
      slot->pid = w.pid;
      slot->fd = w.fd;
      ++counters_.spawned;
    } catch (const std::exception& e) {
      // Maybe the sender's doing (a parser that got out and killed or stopped its master):
      // an evasion, so that the message is at least suspicious and reported, as a crash is.
      ++counters_.masterGone;
      if (!master_.gone())
        log().error("extraction: %s", std::string(e.what()));
      else if (!goneLogged_.exchange(true))
        log().critical(
            "extraction: %s; every message is unscanned (\"evasion: parser unavailable\") "
            "until bccsink restarts",
            std::string(e.what()));
      release();
      return unparsed(message, evasion(kParserUnavailable), e.what());
    }
  }
  Extraction out;
  Ended ended;
  try {
    ended = exchange(*slot, message, keep, out);
  } catch (...) {
    // `keep` threw: the worker is mid-answer, and no other message may read the rest.
    retire(*slot, true, nullptr);
    release();
    throw;
  }
  ++slot->served;
  if (ended != Ended::Done) {
    std::string how;
    retire(*slot, ended == Ended::TimedOut, &how);
    const bool timedOut = ended == Ended::TimedOut;
    ++(timedOut ? counters_.timedOut : counters_.crashed);
    log().warning("extraction: parser process %s (%s); its message is unscanned",
                  std::string(timedOut ? "timed out" : "crashed"), how);
    out = unparsed(message, evasion(timedOut ? kParserTimedOut : kParserCrashed), how);
  }
  release();
  return out;
}

ExtractPool::Ended ExtractPool::exchange(Slot& slot, std::string_view message, const KeepFile& keep,
                                         Extraction& out) const {
  const auto deadline = Clock::now() + settings_.timeout;
  // The worker reads the whole message before it writes: send it all, then read.
  std::string_view pending[2] = {};
  const std::string header = frameHeader(FrameType::Message, message.size());
  pending[0] = header;
  pending[1] = message;
  for (auto& part : pending) {
    while (!part.empty()) {
      if (!waitFor(slot.fd, POLLOUT, deadline)) return Ended::TimedOut;
      const ssize_t n = ::send(slot.fd, part.data(), part.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return Ended::Crashed;
      part.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  FrameDecoder in(settings_.maxFrameBytes);
  std::string& chunk = slot.readBuffer;
  chunk.resize(1 << 20);
  try {
    for (;;) {
      while (auto frame = in.next()) {
        if (frame->type == FrameType::Kept) {
          auto kept = decodeKept(frame->payload());
          // The store and the verdict cache are keyed by SHA-256: bytes under another
          // file's digest would give that file this one's verdict in every later message.
          // A parser's word for the digest is not taken.
          const auto d = digest(kept.bytes);
          if (d.sha256 != kept.file.sha256 || d.md5 != kept.file.md5) return Ended::Crashed;
          if (!believe(kept.file)) return Ended::Crashed;
          keep(kept.file, kept.bytes);
        } else if (frame->type == FrameType::Result) {
          out = decodeExtraction(frame->payload());
          for (auto& f : out.files) {
            if (!believe(f)) return Ended::Crashed;
          }
          // A worker answers one message at a time: anything after its Result is not ours.
          if (in.pending() != 0) return Ended::Crashed;
          return Ended::Done;
        } else {
          return Ended::Crashed;
        }
      }
      if (!waitFor(slot.fd, POLLIN, deadline)) return Ended::TimedOut;
      const ssize_t n = ::recv(slot.fd, chunk.data(), chunk.size(), MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return Ended::Crashed;
      in.feed(std::string_view(chunk.data(), static_cast<std::size_t>(n)));
    }
  } catch (const FrameError&) {
    return Ended::Crashed;
  }
}

}  // namespace bccsink::sandbox
