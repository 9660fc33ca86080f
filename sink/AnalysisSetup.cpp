#include "AnalysisSetup.h"

#include "HashListAnalyzer.h"

namespace bccsink {

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
  if (!cfg.hashListFile.empty()) {
    try {
      analyzers_.push_back(std::make_shared<sandbox::HashListAnalyzer>(cfg.hashListFile));
    } catch (const std::exception& e) {
      throw ConfigError("option HashListFile: " + std::string(e.what()));
    }
  }
}

std::vector<std::unique_ptr<sandbox::AnalyzerRunner>> AnalysisSetup::makeRunners() const {
  std::vector<std::unique_ptr<sandbox::AnalyzerRunner>> runners;
  for (const auto& a : analyzers_) {
    runners.push_back(std::make_unique<sandbox::AnalyzerRunner>(a, sandbox::RunnerSettings{}));
  }
  return runners;
}

std::vector<std::string> AnalysisSetup::analyzerNames() const {
  std::vector<std::string> names;
  for (const auto& a : analyzers_) names.push_back(a->name());
  return names;
}

}  // namespace bccsink
