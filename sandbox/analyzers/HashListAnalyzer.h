#pragma once
// The analyzer "hashlist": decides by digest alone, from a list an administrator keeps
// (HashListFile), in process and at once. A listed file gets the listed verdict; any
// other file is clean as far as the list knows. It never reads the file's bytes.
//
// The file is text, one entry a line:
//   <sha256 or md5, hex> <suspicious|dangerous> [threat name...]
// '#' starts a comment line; blank lines are skipped. Without a threat name the threat is
// "hashlist:" and the first 12 hex digits of the listed digest.
//
// A BlockingAnalyzer whose scan() only looks up two strings: one runner thread is plenty.

#include <cstddef>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <unordered_map>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/analyzers/BlockingAnalyzer.h"
#include "sandbox/analyzers/Verdict.h"

namespace bccsink::sandbox {

struct HashListSettings {
  // The list, in the format above; read at start and again by reload() (SIGHUP).
  std::string file;
};

class HashListAnalyzer : public BlockingAnalyzer {
 public:
  using Settings = HashListSettings;
  // The analyzer with its runner policy: one look-up at a time, on one thread, and a short
  // attempt time (a look-up in memory that takes seconds is broken). Throws as the
  // constructor from a path does.
  static ConfiguredAnalyzer make(const HashListSettings& settings);

  struct Entry {
    VerdictKind kind = VerdictKind::Dangerous;  // suspicious or dangerous
    std::string threat;                         // '' = "hashlist:<first 12 hex>"
  };

  // Loads `path`. Throws std::runtime_error naming the file (and line) when it cannot be
  // read or a line is malformed: a digest that is not 32 or 64 hex digits, a verdict other
  // than suspicious or dangerous, or a digest listed twice.
  explicit HashListAnalyzer(const std::string& path);
  // From digests (hex, either case) to entries, for tests; the same checks, naming the
  // digest instead of a line.
  explicit HashListAnalyzer(const std::unordered_map<std::string, Entry>& entries);

  std::string name() const override { return "hashlist"; }
  // The worse entry of the file's two digests, or clean; Unscanned without a digest.
  Verdict scan(const Submission& file, std::stop_token stop) override;

  std::size_t size() const;
  // Reads `path` again and swaps the new list in; look-ups already started finish with the
  // old one. Throws as the constructor does and keeps the old list then. Thread-safe.
  void reload(const std::string& path);

 private:
  using Entries = std::unordered_map<std::string, Entry>;  // lowercase hex -> entry
  static Entries load(const std::string& path);
  std::shared_ptr<const Entries> current() const;

  mutable std::mutex mutex_;
  std::shared_ptr<const Entries> entries_;
};

}  // namespace bccsink::sandbox
