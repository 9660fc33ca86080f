#pragma once
// The analyzer interface (STYLE.md 5): one small shape per backend (vxCube, clamd, YARA,
// a hash list), chosen by configuration. Size limits, the type filter and the verdict
// cache sit in front of all of them, once; bounded concurrency, timeouts and retries are
// the AnalyzerRunner's, so a backend only says what it found.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/analyzers/Verdict.h"

namespace bccsink::sandbox {

// One file to analyse. The bytes are in `path` (the content store); analyzers read
// them from there, so nothing large travels through queues. A file its message could not
// keep (past BccMaxStoredPerMessage, sandbox/KeptFiles) has no path: its bytes travel in
// `bytes`, shared, and are freed when the last submission of it is answered.
struct Submission {
  std::string sha256;
  std::string md5;
  std::string name;    // decoded file name, for analyzers that use it (vxCube does)
  std::string family;  // true-type family
  std::uint64_t size = 0;
  std::string path;                          // where the bytes are ('' when `bytes` holds them)
  std::shared_ptr<const std::string> bytes;  // the bytes of a file not kept, else null
  // Where the bytes are, for an error message.
  std::string where() const { return bytes ? "'" + name + "' (held in memory)" : path; }
};

class Analyzer {
 public:
  virtual ~Analyzer() = default;
  // Short and stable: it keys the verdict cache ("yara", "clamd", "vxcube", "hashlist").
  virtual std::string name() const = 0;
  // Starts the analysis of `file` and calls `done` exactly once, on any thread, possibly
  // before returning. A failure that may pass (network, 429, 5xx) is an Unscanned
  // verdict with `transient` set; the runner retries it with back-off.
  virtual void analyze(const Submission& file, std::function<void(Verdict)> done) = 0;
};

// A callback and the verdict to give it: collected under a lock, called once it is
// released (a callback may submit again or stop the caller).
using Completion = std::pair<std::function<void(Verdict)>, Verdict>;

inline void deliver(std::vector<Completion>& completions) {
  for (auto& [done, verdict] : completions) done(std::move(verdict));
  completions.clear();
}

}  // namespace bccsink::sandbox
