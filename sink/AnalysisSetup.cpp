#include "sink/AnalysisSetup.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sandbox/analyzers/ClamdAnalyzer.h"
#include "sandbox/analyzers/HashListAnalyzer.h"
#include "sandbox/analyzers/ShippedRules.h"
#include "sandbox/analyzers/YaraAnalyzer.h"
#include "sandbox/analyzers/YaraRules.h"
#include "sandbox/analyzers/vxcube/VxcubeAnalyzer.h"
#include "sandbox/extract/Digest.h"
#include "sink/StageSettings.h"

namespace bccsink {
namespace {

using std::chrono::milliseconds;

template <class D>
milliseconds ms(D d) {
  return std::chrono::duration_cast<milliseconds>(d);
}

// ---- each analyzer's Settings from the options (only sink knows the option names) ----

sandbox::YaraSettings yaraSettings(const Config& cfg) {
  sandbox::YaraSettings s;
  s.rules = cfg.yaraRules;
  return s;
}

sandbox::ClamdSettings clamdSettings(const Config& cfg) {
  sandbox::ClamdSettings s;
  s.socket = cfg.clamdSocket;
  s.timeout = ms(cfg.clamdTimeout);
  s.maxStreamSize = cfg.clamdMaxStreamSize;
  s.threads = cfg.clamdMaxConcurrent;
  return s;
}

sandbox::VxcubeSettings vxcubeSettings(const Config& cfg) {
  if (cfg.vxcubeApiAddress.empty())
    throw ConfigError("option VxcubeApiAddress: must be set when UseVxcube is yes");
  if (cfg.vxcubeApiKey.empty())
    throw ConfigError("option VxcubeApiKey: must be set when UseVxcube is yes");
  if (cfg.vxcubeSuspiciousThreshold > cfg.vxcubeDangerousThreshold)
    throw ConfigError(
        "option VxcubeSuspiciousThreshold: must not be above "
        "VxcubeDangerousThreshold");
  sandbox::VxcubeSettings s;
  s.apiAddress = cfg.vxcubeApiAddress;
  s.apiKey = cfg.vxcubeApiKey;
  s.platforms = cfg.vxcubePlatforms;
  s.analysisTime = cfg.vxcubeAnalysisTime;
  s.pollInterval = ms(cfg.vxcubePollInterval);
  s.timeout = ms(cfg.vxcubeTimeout);
  s.requestTimeout = ms(cfg.vxcubeRequestTimeout);
  s.maxConcurrent = cfg.vxcubeMaxConcurrent;
  s.httpWorkers = cfg.vxcubeMaxConnections;
  s.suspiciousThreshold = static_cast<int>(cfg.vxcubeSuspiciousThreshold);
  s.dangerousThreshold = static_cast<int>(cfg.vxcubeDangerousThreshold);
  s.caFile = cfg.vxcubeCaFile;
  s.verifyTls = cfg.vxcubeVerifyTls;
  s.tlsProfile = tlsProfile(cfg);
  return s;
}

sandbox::HashListSettings hashListSettings(const Config& cfg) {
  sandbox::HashListSettings s;
  s.file = cfg.hashListFile;
  return s;
}

// ---- generations: what an analyzer's answers depend on (sandbox/retro) ----

std::string contentOf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The SHA-256 of the rules YaraRules::compile() reads (every *.yar and *.yara of the
// folder, by name, or the one file; the built-in ones when `rules` is ''), names included.
std::string yaraDigest(const std::string& rules) {
  sandbox::Digester d;
  auto add = [&d](const std::string& name, const std::string& text) {
    d.update(name);
    d.update(std::string_view("\0", 1));
    d.update(text);
    d.update(std::string_view("\0", 1));
  };
  if (rules.empty()) {
    for (const auto& [name, text] : sandbox::shippedRules()) add(name, text);
    return "builtin:" + d.finish().sha256;
  }
  std::vector<std::string> files;
  std::error_code ec;
  if (std::filesystem::is_directory(rules, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(rules, ec)) {
      auto ext = e.path().extension().string();
      if (ext == ".yar" || ext == ".yara") files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(rules);
  }
  for (const auto& f : files) add(std::filesystem::path(f).filename().string(), contentOf(f));
  return d.finish().sha256;
}

std::string fileDigest(const std::string& path) {
  return sandbox::digest(contentOf(path)).sha256;
}

// ---- the table ----

struct AnalyzerRow {
  bool (*enabled)(const Config&);
  sandbox::ConfiguredAnalyzer (*make)(const Config&);
  // What a ConfigError names when make() throws; '' when the analyzer's message starts
  // with the option itself (vxCube's).
  const char* option;
};

// An analyzer's make() over its settings from the options.
template <class A, typename A::Settings (*settingsFrom)(const Config&)>
sandbox::ConfiguredAnalyzer make(const Config& cfg) {
  return A::make(settingsFrom(cfg));
}

// One row per analyzer; the order is the report's.
constexpr AnalyzerRow kAnalyzers[] = {
    {[](const Config& c) { return c.useYara; }, make<sandbox::YaraAnalyzer, yaraSettings>,
     "YaraRules"},
    {[](const Config& c) { return c.useClamd; }, make<sandbox::ClamdAnalyzer, clamdSettings>,
     "ClamdSocket"},
    {[](const Config& c) { return c.useVxcube; }, make<sandbox::VxcubeAnalyzer, vxcubeSettings>,
     ""},
    {[](const Config& c) { return !c.hashListFile.empty(); },
     make<sandbox::HashListAnalyzer, hashListSettings>, "HashListFile"},
};

}  // namespace

std::string expandFileTypes(const std::string& configured) {
  std::string out;
  for (const auto& entry : splitList(configured)) {
    if (!out.empty()) out += ", ";
    out += entry == "default" ? sandbox::defaultFileTypes() : entry;
  }
  return out;
}

namespace {

sandbox::ExtractLimits extractLimits(const Config& cfg) {
  sandbox::ExtractLimits limits;
  limits.maxDepth = cfg.bccMaxNesting;
  limits.mime.maxDepth = 2 * cfg.bccMaxNesting;
  limits.mime.maxParts = cfg.bccMaxMimeParts;
  limits.archive.maxMembers = cfg.bccArchiveMaxMembers;
  limits.archive.maxMemberSize = cfg.bccArchiveMaxFileSize;
  limits.archive.maxTotalBytes = cfg.bccArchiveMaxUnpackedSize;
  limits.archive.maxRatio = cfg.bccArchiveMaxRatio;
  limits.archivePasswords = cfg.bccArchivePasswords;
  limits.maxTotalBytes = cfg.bccMaxUnpackedSize;
  return limits;
}

}  // namespace

sandbox::ParseMessage parserFor(const Config& cfg) {
  auto typer = std::make_shared<sandbox::FileTyper>();
  auto extractor = std::make_shared<sandbox::Extractor>(
      *typer, sandbox::parseSelection(expandFileTypes(cfg.vxcubeFileTypes), cfg.vxcubeMaxFileSize),
      extractLimits(cfg));
  return [typer, extractor](std::string_view message, const sandbox::KeepFile& keep) {
    return extractor->extract(message, keep);
  };
}

AnalysisSetup::AnalysisSetup(const Config& cfg) : cfg_(cfg) {
  try {
    rules_ = sandbox::parseSelection(expandFileTypes(cfg.vxcubeFileTypes), cfg.vxcubeMaxFileSize);
  } catch (const std::invalid_argument& e) {
    throw ConfigError("option VxcubeFileTypes: " + std::string(e.what()));
  }
  extractor_ = std::make_unique<sandbox::Extractor>(typer_, rules_, extractLimits(cfg));

  for (const auto& row : kAnalyzers) {
    if (!row.enabled(cfg)) continue;
    sandbox::ConfiguredAnalyzer made;
    try {
      made = row.make(cfg);
    } catch (const ConfigError&) {
      throw;
    } catch (const std::exception& e) {
      throw ConfigError("option " + std::string(row.option) + (*row.option ? ": " : "") + e.what());
    }
    longest_ = std::max(longest_, made.runner.attemptTimeout);
    analyzers_.push_back(std::move(made));
  }
  if (cfg.useYara) *yaraGeneration_ = yaraDigest(cfg.yaraRules);
  if (!cfg.hashListFile.empty()) *hashListGeneration_ = fileDigest(cfg.hashListFile);
}

std::size_t AnalysisSetup::reloadYara() {
  for (const auto& a : analyzers_) {
    auto yara = std::dynamic_pointer_cast<sandbox::YaraAnalyzer>(a.analyzer);
    if (!yara) continue;
    std::shared_ptr<const sandbox::YaraRules> rules;
    // Read before the rules: a file changed in between makes the next SIGHUP see a change.
    auto generation = yaraDigest(cfg_.yaraRules);
    try {
      rules = sandbox::YaraAnalyzer::compile(yaraSettings(cfg_));
    } catch (const std::exception& e) {
      throw ConfigError("option YaraRules: " + std::string(e.what()));
    }
    yara->reload(rules);
    std::lock_guard lock(*generationMutex_);
    *yaraGeneration_ = generation;
    return rules->ruleCount();
  }
  return 0;
}

std::size_t AnalysisSetup::reloadHashList() {
  for (const auto& a : analyzers_) {
    auto list = std::dynamic_pointer_cast<sandbox::HashListAnalyzer>(a.analyzer);
    if (!list) continue;
    auto generation = fileDigest(cfg_.hashListFile);
    try {
      list->reload(cfg_.hashListFile);
    } catch (const std::exception& e) {
      throw ConfigError("option HashListFile: " + std::string(e.what()));
    }
    std::lock_guard lock(*generationMutex_);
    *hashListGeneration_ = generation;
    return list->size();
  }
  return 0;
}

std::vector<sandbox::RecheckAnalyzer> AnalysisSetup::recheckAnalyzers() const {
  std::vector<sandbox::RecheckAnalyzer> out;
  // The generations are read through shared pointers: the stage may outlive nothing here,
  // but it must not read a string while SIGHUP writes it.
  auto read = [mutex = generationMutex_](std::shared_ptr<std::string> value) {
    return [mutex, value] {
      std::lock_guard lock(*mutex);
      return *value;
    };
  };
  for (const auto& a : analyzers_) {
    sandbox::RecheckAnalyzer r;
    r.name = a.analyzer->name();
    if (auto yara = std::dynamic_pointer_cast<sandbox::YaraAnalyzer>(a.analyzer)) {
      r.cause = sandbox::RetroCause::RulesReload;
      r.analyzer = yara;
      r.generation = read(yaraGeneration_);
    } else if (auto clamd = std::dynamic_pointer_cast<sandbox::ClamdAnalyzer>(a.analyzer)) {
      r.cause = sandbox::RetroCause::SignatureUpdate;
      r.analyzer = clamd;
      r.generation = [clamd] { return clamd->version(); };
      r.polled = true;
    } else if (auto list = std::dynamic_pointer_cast<sandbox::HashListAnalyzer>(a.analyzer)) {
      r.cause = sandbox::RetroCause::HashList;
      r.analyzer = list;
      r.generation = read(hashListGeneration_);
      r.keptOnly = false;
    } else {
      continue;  // vxCube: its late answers come through the pipeline
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::unique_ptr<sandbox::AnalyzerRunner>> AnalysisSetup::makeRunners() const {
  std::vector<std::unique_ptr<sandbox::AnalyzerRunner>> runners;
  for (const auto& a : analyzers_)
    runners.push_back(std::make_unique<sandbox::AnalyzerRunner>(a.analyzer, a.runner));
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
  for (const auto& a : analyzers_) names.push_back(a.analyzer->name());
  return names;
}

}  // namespace bccsink
