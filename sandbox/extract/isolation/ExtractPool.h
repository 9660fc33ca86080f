#pragma once
// The daemon's side of extraction in parser processes (BccExtractIsolation): a
// MessageExtractor that hands each message to one of a few workers that ParserMaster
// forked, and reads back its files through Frame.h's framing. A worker that dies, writes
// something that is not a valid frame, or is still parsing after the timeout is killed
// and replaced; that message comes back as one unscanned entry whose reason is an
// evasion ("evasion: parser crashed" / "evasion: parser timed out"), so it is at least
// suspicious, and the next message goes to a fresh worker. When no worker can be started
// (the master died, was killed or stopped answering) every message is
// "evasion: parser unavailable" until a restart: an attacker who kills the master must not
// turn scanning off quietly. It is logged at critical level once, and counted. A worker is also
// replaced after a number of messages, so that what one message may have done to it does not last.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "sandbox/extract/Extraction.h"
#include "sandbox/extract/isolation/ParserMaster.h"

namespace bccsink::sandbox {

struct ExtractPoolSettings {
  std::size_t workers = 2;                      // BccExtractWorkers
  std::size_t messagesPerWorker = 100;          // BccExtractWorkerMessages
  std::chrono::milliseconds timeout{120'000};   // BccExtractTimeout
  std::uint64_t maxFrameBytes = 1280ull << 20;  // the most a worker may send in one frame
};

struct ExtractPoolCounters {
  // masterGone: messages left unread because no worker could be started (the master is
  // gone or silent, or cannot fork).
  std::atomic<std::uint64_t> spawned{0}, crashed{0}, timedOut{0}, masterGone{0};
};

inline constexpr std::string_view kParserCrashed = "parser crashed";
inline constexpr std::string_view kParserTimedOut = "parser timed out";
inline constexpr std::string_view kParserUnavailable = "parser unavailable";

class ExtractPool : public MessageExtractor {
 public:
  // `master` must outlive the pool.
  ExtractPool(ParserMaster& master, ExtractPoolSettings settings);
  ~ExtractPool() override;  // retires the workers
  ExtractPool(const ExtractPool&) = delete;
  ExtractPool& operator=(const ExtractPool&) = delete;

  // Thread-safe: as many messages at once as there are workers, the others wait.
  Extraction extract(std::string_view message, const KeepFile& keep) const override;

  const ExtractPoolCounters& counters() const { return counters_; }

 private:
  struct Slot {
    pid_t pid = -1;
    int fd = -1;
    std::size_t served = 0;
    bool busy = false;
    std::string readBuffer;  // kept from message to message: no allocation per read
  };
  enum class Ended { Done, Crashed, TimedOut };

  Ended exchange(Slot& slot, std::string_view message, const KeepFile& keep, Extraction& out) const;
  void retire(Slot& slot, bool now, std::string* how) const;

  ParserMaster& master_;
  ExtractPoolSettings settings_;
  mutable ExtractPoolCounters counters_;
  mutable std::mutex mutex_;
  mutable std::condition_variable free_;
  mutable std::vector<Slot> slots_;
  mutable std::atomic<bool> goneLogged_{false};
};

}  // namespace bccsink::sandbox
