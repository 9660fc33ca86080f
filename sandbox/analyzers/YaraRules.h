#pragma once
// A compiled YARA rule set (libyara), shared read-only by every scan. The verdict of a rule is
// its meta `verdict = "suspicious"` or `"dangerous"`; a rule without that meta still reports
// its name but never makes a file worse than clean (etc/rules/README.md).
//
// All files of a folder go into one namespace, so a rule may use a rule of another file and a
// rule name (the threat name in reports) is unique in the set.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sandbox/analyzers/Verdict.h"

struct YR_RULES;

namespace bccsink::sandbox {

struct YaraMatch {
  VerdictKind kind = VerdictKind::Clean;
  // Dangerous rules first, then suspicious ones, then those without a verdict; in rule order
  // within each group.
  std::vector<std::string> rules;
};

class YaraRules {
 public:
  // How long one scan may take before libyara gives up.
  static constexpr int kScanTimeoutSeconds = 30;

  // Compiles every *.yar and *.yara file in `dir` (sorted by name; a single file path is
  // accepted too). Throws std::runtime_error naming file:line and libyara's message on any
  // compile error or warning (warnings are errors: "slowing down scanning" costs every mail),
  // when the folder has no rules, or when a `verdict` meta is not "suspicious" or "dangerous".
  static std::shared_ptr<const YaraRules> compile(const std::string& dir);
  // The same from rule texts, (file name, text) in the order given, e.g. the rules built
  // into bccsink (ShippedRules.h); the names only say where a rule is in messages.
  static std::shared_ptr<const YaraRules> compileSources(
      const std::vector<std::pair<std::string, std::string>>& sources);

  ~YaraRules();
  YaraRules(const YaraRules&) = delete;
  YaraRules& operator=(const YaraRules&) = delete;

  // Thread-safe: any number of threads at once. kind: the worst `verdict` meta of the matched
  // rules; rules: the matched rule names (those without a verdict meta are listed too but do
  // not change the kind). Timeouts and errors of libyara throw std::runtime_error.
  YaraMatch scan(std::string_view bytes) const;

  // Every rule compiled, private ones included.
  std::size_t ruleCount() const { return verdicts_.size(); }

 private:
  // A rule file: its name in messages, and its text, or null to read the file `name`.
  using Source = std::pair<std::string, const std::string*>;

  YaraRules() = default;
  // `what` names the whole set in messages (the folder).
  static std::shared_ptr<const YaraRules> build(const std::vector<Source>& sources,
                                                const std::string& what);

  std::shared_ptr<void> library_;      // yr_initialize'd while any rule set lives
  YR_RULES* rules_ = nullptr;          // owned
  std::vector<VerdictKind> verdicts_;  // per rule, in the rules table's order; Clean = no meta
};

}  // namespace bccsink::sandbox
