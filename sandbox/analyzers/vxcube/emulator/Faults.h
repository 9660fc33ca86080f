#pragma once
// The faults the emulator can be told to inject (README.md beside this file): which call,
// what goes wrong, how often. Parsed from "CALL:KIND[:RATE]" on the command line and in
// POST /_emulator/faults; decided per request, thread-safe.

#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink::emulator {

enum class FaultKind {
  Status,      // answer with an HTTP status (429 with Retry-After, 500, 401, ...)
  Hang,        // never answer (until the emulator stops)
  Reset,       // close the connection with a TCP reset
  BrokenJson,  // 200 with a body that is not JSON
  Slow,        // wait `delayMs`, then answer normally
};

struct Fault {
  std::string call = "any";  // a call name (callNames()) or "any"
  FaultKind kind = FaultKind::Status;
  int status = 500;     // for Status
  int delayMs = 0;      // for Slow
  double rate = 1.0;    // probability per matching call
  long remaining = -1;  // calls left to fault; -1 = no limit

  // "lookup:500:x1": the spec it was parsed from, for listing.
  std::string spec;
};

// The API's calls, as faults and statistics name them: login, license, formats,
// platforms, lookup (GET samples), upload (POST samples), sample (GET samples/{id}),
// analyze (POST analyses), poll (GET analyses/{id}), task (GET tasks/{id}),
// report (GET tasks/{id}/report).
const std::vector<std::string>& callNames();

// "CALL:KIND[:RATE]": KIND is an HTTP status (400-599), hang, reset, badjson or slowN
// (N ms); RATE a probability in (0, 1] (default 1) or xN (the next N matching calls).
// Throws std::invalid_argument saying what is wrong.
Fault parseFault(std::string_view spec);

class FaultTable {
 public:
  void add(Fault f);
  void clear();
  std::vector<Fault> list() const;
  // The fault to inject into this call, if any (it counts against its `remaining`).
  std::optional<Fault> pick(const std::string& call);

 private:
  mutable std::mutex mutex_;
  std::vector<Fault> faults_;
  std::minstd_rand random_{std::random_device{}()};
};

}  // namespace bccsink::emulator
