#pragma once
// The analyzer "yara": the embedded default. It scans a file's bytes in process with a
// compiled rule set (YaraRules), as a BlockingAnalyzer on the runner's threads. The rule set
// can be swapped while scans run (SIGHUP); scans already started finish with the rules they
// began with.
//
// Verdict: the worst `verdict` meta of the matched rules; threats are the matched rule names
// (dangerous, then suspicious, then rules without a verdict); score 100 dangerous, 50
// suspicious, 0 otherwise. A file that cannot be read, or a scan libyara gives up on (time
// limit), is Unscanned with the reason, not transient: trying again would not help.

#include <cstddef>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/analyzers/BlockingAnalyzer.h"
#include "sandbox/analyzers/Verdict.h"
#include "sandbox/analyzers/YaraRules.h"

namespace bccsink::sandbox {

struct YaraSettings {
  // A .yar/.yara file or a folder of them (YaraRules::compile); '' = the rules built into
  // bccsink (etc/rules/, ShippedRules.h).
  std::string rules;
  // Scans at once, each on a thread of the runner. Scans are CPU-bound and short; as many
  // at once as threads to run them, so that no scan spends its attempt time waiting.
  std::size_t threads = 2;
};

class YaraAnalyzer : public BlockingAnalyzer {
 public:
  using Settings = YaraSettings;
  // The rules of `settings`, compiled. Throws std::runtime_error naming the file (and line)
  // when they do not compile.
  static std::shared_ptr<const YaraRules> compile(const YaraSettings& settings);
  // The analyzer with its runner policy: `threads` scans at once, an attempt timeout a
  // little past libyara's own (YaraRules::kScanTimeoutSeconds). Throws as compile() does,
  // and std::invalid_argument for 0 threads.
  static ConfiguredAnalyzer make(const YaraSettings& settings);

  // Throws std::invalid_argument for null rules.
  explicit YaraAnalyzer(std::shared_ptr<const YaraRules> rules);

  std::string name() const override { return "yara"; }
  // Scans the file's bytes with the current rules; ignores `stop` (libyara's time limit
  // bounds a scan).
  Verdict scan(const Submission& file, std::stop_token stop) override;

  // Scans that start from now on use `rules`. Thread-safe. Throws std::invalid_argument for
  // null rules.
  void reload(std::shared_ptr<const YaraRules> rules);
  std::shared_ptr<const YaraRules> rules() const;

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const YaraRules> rules_;
};

}  // namespace bccsink::sandbox
