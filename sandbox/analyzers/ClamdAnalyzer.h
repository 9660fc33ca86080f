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
// A BlockingAnalyzer: each conversation runs on one of the runner's threads (`threads` of
// them). Every wait on the socket is bounded by one deadline per file, so an attempt ends by
// `timeout` on its own, and looks at the stop token every 0.1 s.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <stop_token>
#include <string>
#include <string_view>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/analyzers/BlockingAnalyzer.h"
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
  // Conversations with clamd at once (>= 1), each on a thread of the runner; more wait in
  // FIFO order. clamd scans with up to MaxThreads (Debian: 12) and queues the rest.
  std::size_t threads = 4;
};

// clamd's reply to one INSTREAM (without the '\0'), as a verdict of "clamd". Pure, for
// tests and for the analyzer alike.
Verdict parseClamdReply(std::string_view reply);

class ClamdAnalyzer : public BlockingAnalyzer {
 public:
  using Settings = ClamdSettings;
  // The analyzer with its runner policy: `threads` conversations at once, an attempt
  // timeout a little past `timeout`. Throws as the constructor does.
  static ConfiguredAnalyzer make(const ClamdSettings& settings);

  // Throws std::invalid_argument when `socket` is not an address of one of the forms
  // above, or `threads` is 0. Does not connect: see ping().
  explicit ClamdAnalyzer(ClamdSettings settings);

  std::string name() const override { return "clamd"; }
  // One INSTREAM conversation; a stop request ends it within 0.1 s as "shutting down".
  Verdict scan(const Submission& file, std::stop_token stop) override;

  // For start-up checks, on the caller's thread: "zPING" must be answered "PONG" within
  // the timeout. '' when it was, else what went wrong, naming the address.
  std::string ping() const;
  // clamd's "zVERSION" answer ("ClamAV 1.0.3/27100/Mon Dec  4 08:24:31 2026": the engine,
  // then the signature database's version and date), on the caller's thread, or '' when
  // clamd cannot be asked now. A change means new signatures (sandbox/retro re-checks).
  std::string version() const;

  const ClamdSettings& settings() const { return settings_; }

 private:
  ClamdSettings settings_;
};

}  // namespace bccsink::sandbox
