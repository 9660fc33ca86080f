#include "sandbox/analyzers/YaraAnalyzer.h"

#include <chrono>
#include <exception>
#include <stdexcept>
#include <utility>

#include "base/MappedFile.h"
#include "sandbox/analyzers/ShippedRules.h"

namespace bccsink::sandbox {
namespace {

Verdict unscanned(std::string reason) {
  Verdict v;
  v.kind = VerdictKind::Unscanned;
  v.analyzer = "yara";
  v.reason = std::move(reason);
  return v;
}

}  // namespace

std::shared_ptr<const YaraRules> YaraAnalyzer::compile(const YaraSettings& settings) {
  if (settings.rules.empty()) return YaraRules::compileSources(shippedRules());
  return YaraRules::compile(settings.rules);
}

ConfiguredAnalyzer YaraAnalyzer::make(const YaraSettings& settings) {
  if (settings.threads == 0) throw std::invalid_argument("YaraAnalyzer: at least one thread");
  RunnerSettings runner;
  runner.maxConcurrent = settings.threads;
  runner.attemptTimeout = std::chrono::seconds(YaraRules::kScanTimeoutSeconds + 5);
  return {std::make_shared<YaraAnalyzer>(compile(settings)), runner};
}

YaraAnalyzer::YaraAnalyzer(std::shared_ptr<const YaraRules> rules) : rules_(std::move(rules)) {
  if (!rules_) throw std::invalid_argument("YaraAnalyzer: no rules");
}

void YaraAnalyzer::reload(std::shared_ptr<const YaraRules> rules) {
  if (!rules) throw std::invalid_argument("YaraAnalyzer: no rules");
  std::lock_guard lock(mutex_);
  rules_.swap(rules);
  // The old set is released here or by the last scan still using it.
}

std::shared_ptr<const YaraRules> YaraAnalyzer::rules() const {
  std::lock_guard lock(mutex_);
  return rules_;
}

Verdict YaraAnalyzer::scan(const Submission& file, std::stop_token) {
  auto rules = this->rules();
  YaraMatch match;
  try {
    if (file.bytes) {
      match = rules->scan(*file.bytes);  // not kept: from memory
    } else {
      MappedFile bytes(file.path);
      match = rules->scan(bytes.bytes());
    }
  } catch (const std::exception& e) {
    return unscanned(e.what());
  }
  Verdict v;
  v.kind = match.kind;
  v.analyzer = "yara";
  v.score = match.kind == VerdictKind::Dangerous    ? 100
            : match.kind == VerdictKind::Suspicious ? 50
                                                    : 0;
  v.threats = std::move(match.rules);
  return v;
}

}  // namespace bccsink::sandbox
