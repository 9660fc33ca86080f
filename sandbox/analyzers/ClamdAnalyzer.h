#pragma once
// The analyzer "clamd": ClamAV's daemon, over its unix socket or TCP (ClamdSocket). Each
// file goes as one INSTREAM: "zINSTREAM\0", the bytes in chunks of <4-byte big-endian
// length><bytes>, a zero-length chunk, then one reply up to '\0' (clamd(8), "INSTREAM").
//
//   stream: OK                            -> clean
//   stream: <Name> FOUND                  -> dangerous, score 100, threat <Name>; a
//                                            "Heuristics." name is suspicious (score 50),
//                                            "Heuristics.Limits.Exceeded..." unscanned
//   INSTREAM size limit exceeded. ERROR   -> unscanned: over clamd's StreamMaxLength
//   <anything else> ERROR                 -> unscanned with clamd's message
//
// Connection refused, a missing socket, a timeout, a reset or no reply at all are
// unscanned with `transient` set: the AnalyzerRunner retries them with back-off.
//
// analyze() only queues: the conversations run on the analyzer's own threads (the runner
// calls analyze() from its scheduler thread, which must not block). Every wait on the
// socket is bounded by one deadline per file, so an attempt ends by `timeout` on its own.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sandbox/analyzers/Analyzer.h"
#include "sandbox/analyzers/Verdict.h"

namespace bccsink::sandbox {

struct ClamdSettings {
  // "unix:/path" (or just "/path") for clamd's LocalSocket, "host:port" or "[v6]:port"
  // for its TCPSocket. Names are resolved at each connection, not at start.
  std::string socket = "unix:/run/clamav/clamd.ctl";
  // The most one file may take, connecting, sending and clamd's scan included; then the
  // attempt is a transient failure. Above clamd's MaxScanTime (Debian: 120 s), so that a
  // big archive is not cut off while clamd still works on it.
  std::chrono::milliseconds timeout{130000};
  // Larger files are unscanned without being sent (0 = no limit of our own). clamd
  // refuses a stream over its StreamMaxLength (Debian's clamd.conf: 25M) after taking
  // that much of it, so keep this at or below that.
  std::uint64_t maxStreamSize = 25ull * 1024 * 1024;
  // Conversations with clamd at once (>= 1); more wait in FIFO order. clamd scans with
  // up to MaxThreads (Debian: 12) and queues the rest.
  std::size_t threads = 4;
};

// clamd's reply to one INSTREAM (without the '\0'), as a verdict of "clamd". Pure, for
// tests and for the analyzer alike.
Verdict parseClamdReply(std::string_view reply);

class ClamdAnalyzer : public Analyzer {
 public:
  // Throws std::invalid_argument when `socket` is not an address of one of the forms
  // above, or `threads` is 0. Does not connect: see ping().
  explicit ClamdAnalyzer(ClamdSettings settings);
  // Answers the queued files Unscanned "shutting down", cuts the conversations in
  // progress short (each notices within a fraction of a second) and joins the threads.
  ~ClamdAnalyzer() override;
  ClamdAnalyzer(const ClamdAnalyzer&) = delete;
  ClamdAnalyzer& operator=(const ClamdAnalyzer&) = delete;

  std::string name() const override { return "clamd"; }
  // Queues `file` and returns; `done` is called once on one of the analyzer's threads
  // (or inside this call after shutdown began).
  void analyze(const Submission& file, std::function<void(Verdict)> done) override;

  // For start-up checks, on the caller's thread: "zPING" must be answered "PONG" within
  // the timeout. '' when it was, else what went wrong, naming the address.
  std::string ping() const;

  const ClamdSettings& settings() const { return settings_; }

 private:
  struct Pool;
  ClamdSettings settings_;
  std::shared_ptr<Pool> pool_;  // shared with the threads, so a thread may outlive us
};

}  // namespace bccsink::sandbox
