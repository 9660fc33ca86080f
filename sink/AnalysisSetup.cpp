#include "sink/AnalysisSetup.h"

#include <algorithm>

#include "sandbox/analyzers/ClamdAnalyzer.h"
#include "sandbox/analyzers/HashListAnalyzer.h"
#include "sandbox/analyzers/ShippedRules.h"
#include "sandbox/analyzers/YaraAnalyzer.h"
#include "sandbox/analyzers/YaraRules.h"
#include "sandbox/analyzers/vxcube/VxcubeAnalyzer.h"

namespace bccsink {
namespace {

using std::chrono::milliseconds;

template <class D>
milliseconds ms(D d) {
  return std::chrono::duration_cast<milliseconds>(d);
}

}  // namespace

std::string expandFileTypes(const std::string& configured) {
  std::string out;
  for (const auto& entry : splitList(configured)) {
    if (!out.empty()) out += ", ";
    out += entry == "default" ? sandbox::defaultFileTypes() : entry;
  }
  return out;
}

AnalysisSetup::AnalysisSetup(const Config& cfg) : cfg_(cfg) {
  try {
    rules_ = sandbox::parseSelection(expandFileTypes(cfg.vxcubeFileTypes), cfg.vxcubeMaxFileSize);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("option VxcubeFileTypes: " + std::string(e.what()));
  }
  sandbox::ExtractLimits limits;
  limits.maxDepth = cfg.bccMaxNesting;
  limits.mime.maxDepth = 2 * cfg.bccMaxNesting;
  limits.mime.maxParts = cfg.bccMaxMimeParts;
  limits.archive.maxMembers = cfg.bccArchiveMaxMembers;
  limits.archive.maxMemberSize = cfg.bccArchiveMaxFileSize;
  limits.archive.maxTotalBytes = cfg.bccArchiveMaxUnpackedSize;
  limits.archive.maxRatio = cfg.bccArchiveMaxRatio;
  limits.maxTotalBytes = cfg.bccMaxUnpackedSize;
  extractor_ = std::make_unique<sandbox::Extractor>(typer_, rules_, limits);

  // Each analyzer with the runner policy that fits it; the order is the report's.
  if (cfg.useYara) {
    // As many scans at once as threads to run them: a scan waiting in the analyzer's
    // queue would spend its attempt time there.
    constexpr std::size_t kYaraThreads = 2;
    yara_ = std::make_shared<sandbox::YaraAnalyzer>(compileYara(), kYaraThreads);
    sandbox::RunnerSettings rs;
    rs.maxConcurrent = kYaraThreads;
    rs.attemptTimeout = std::chrono::seconds(sandbox::YaraRules::kScanTimeoutSeconds + 5);
    longest_ = std::max(longest_, rs.attemptTimeout);
    analyzers_.push_back({yara_, rs});
  }
  if (cfg.useClamd) {
    sandbox::ClamdSettings cs;
    cs.socket = cfg.clamdSocket;
    cs.timeout = ms(cfg.clamdTimeout);
    cs.maxStreamSize = cfg.clamdMaxStreamSize;
    cs.threads = cfg.clamdMaxConcurrent;
    std::shared_ptr<sandbox::ClamdAnalyzer> clamd;
    try {
      clamd = std::make_shared<sandbox::ClamdAnalyzer>(cs);
    } catch (const std::invalid_argument& e) {
      throw ConfigError("option ClamdSocket: " + std::string(e.what()));
    }
    sandbox::RunnerSettings rs;
    rs.maxConcurrent = cfg.clamdMaxConcurrent;
    rs.attemptTimeout = cs.timeout + std::chrono::seconds(5);
    longest_ = std::max(longest_, rs.attemptTimeout);
    analyzers_.push_back({clamd, rs});
  }
  if (cfg.useVxcube) {
    if (cfg.vxcubeApiAddress.empty())
      throw ConfigError("option VxcubeApiAddress: must be set when UseVxcube is yes");
    if (cfg.vxcubeApiKey.empty())
      throw ConfigError("option VxcubeApiKey: must be set when UseVxcube is yes");
    if (cfg.vxcubeSuspiciousThreshold > cfg.vxcubeDangerousThreshold)
      throw ConfigError(
          "option VxcubeSuspiciousThreshold: must not be above "
          "VxcubeDangerousThreshold");
    sandbox::VxcubeSettings vs;
    vs.apiAddress = cfg.vxcubeApiAddress;
    vs.apiKey = cfg.vxcubeApiKey;
    vs.platforms = cfg.vxcubePlatforms;
    vs.analysisTime = cfg.vxcubeAnalysisTime;
    vs.pollInterval = ms(cfg.vxcubePollInterval);
    vs.timeout = ms(cfg.vxcubeTimeout);
    vs.requestTimeout = ms(cfg.vxcubeRequestTimeout);
    vs.maxConcurrent = cfg.vxcubeMaxConcurrent;
    vs.httpWorkers = cfg.vxcubeMaxConnections;
    vs.suspiciousThreshold = static_cast<int>(cfg.vxcubeSuspiciousThreshold);
    vs.dangerousThreshold = static_cast<int>(cfg.vxcubeDangerousThreshold);
    vs.caFile = cfg.vxcubeCaFile;
    vs.verifyTls = cfg.vxcubeVerifyTls;
    std::shared_ptr<sandbox::VxcubeAnalyzer> vx;
    try {
      vx = std::make_shared<sandbox::VxcubeAnalyzer>(vs);
    } catch (const std::invalid_argument& e) {
      throw ConfigError("option " + std::string(e.what()));
    }
    // The analyzer keeps its own VxcubeTimeout; the runner only guards against silence.
    auto rs = sandbox::vxcubeRunnerSettings(vs);
    longest_ = std::max(longest_, rs.attemptTimeout);
    analyzers_.push_back({vx, rs});
  }
  if (!cfg.hashListFile.empty()) {
    try {
      analyzers_.push_back({std::make_shared<sandbox::HashListAnalyzer>(cfg.hashListFile), {}});
    } catch (const std::exception& e) {
      throw ConfigError("option HashListFile: " + std::string(e.what()));
    }
  }
}

std::shared_ptr<const sandbox::YaraRules> AnalysisSetup::compileYara() const {
  try {
    if (cfg_.yaraRules.empty()) return sandbox::YaraRules::compileSources(sandbox::shippedRules());
    return sandbox::YaraRules::compile(cfg_.yaraRules);
  } catch (const std::exception& e) {
    throw ConfigError("option YaraRules: " + std::string(e.what()));
  }
}

std::size_t AnalysisSetup::reloadYara() {
  if (!yara_) return 0;
  auto rules = compileYara();
  auto count = rules->ruleCount();
  yara_->reload(std::move(rules));
  return count;
}

std::vector<std::unique_ptr<sandbox::AnalyzerRunner>> AnalysisSetup::makeRunners() const {
  std::vector<std::unique_ptr<sandbox::AnalyzerRunner>> runners;
  for (const auto& [analyzer, settings] : analyzers_) {
    runners.push_back(std::make_unique<sandbox::AnalyzerRunner>(analyzer, settings));
  }
  return runners;
}

std::chrono::milliseconds AnalysisSetup::scanTimeout() const {
  // One attempt of the slowest analyzer and a retry or two, within BccAnalysisTimeout: an
  // analyzer that is down does not hold `scan` for the whole of a message's deadline.
  return std::min<std::chrono::milliseconds>(ms(cfg_.bccAnalysisTimeout),
                                             longest_ + longest_ / 2 + std::chrono::seconds(10));
}

std::vector<std::string> AnalysisSetup::analyzerNames() const {
  std::vector<std::string> names;
  for (const auto& a : analyzers_) names.push_back(a.first->name());
  return names;
}

}  // namespace bccsink
