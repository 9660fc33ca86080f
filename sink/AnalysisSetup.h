#pragma once
// Wires the configuration into sandbox/: the file typer, the selection rules, the
// extraction limits and the enabled analyzers. Used by `scan` and by the daemon's
// workers, so both analyse alike. Part of the executable, not of the sink library
// (which must not know sandbox/). The analyzers come from a table in the .cpp, one row per
// analyzer: when it is enabled, its Settings from the options, and its make().

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/extract/Extractor.h"
#include "sandbox/extract/FileType.h"
#include "sandbox/extract/Selection.h"
#include "sandbox/extract/isolation/ExtractWorker.h"
#include "sandbox/retro/RecheckStage.h"
#include "sink/Config.h"

namespace bccsink {

class AnalysisSetup {
 public:
  // Throws ConfigError naming the option when a value only sandbox/ can judge is wrong
  // (VxcubeFileTypes, YaraRules, ClamdSocket, Vxcube*, HashListFile).
  explicit AnalysisSetup(const Config& cfg);

  const sandbox::Extractor& extractor() const { return *extractor_; }
  const sandbox::SelectionRules& rules() const { return rules_; }
  // One runner per enabled analyzer, in a fixed order; empty when none is enabled.
  std::vector<std::unique_ptr<sandbox::AnalyzerRunner>> makeRunners() const;
  // Names of the enabled analyzers (the cache keys), in the same order.
  std::vector<std::string> analyzerNames() const;
  // Compiles the YARA rules again and swaps them in (SIGHUP). Returns the rule count (0
  // when YARA is off). Throws ConfigError and keeps the old rules when they do not compile.
  std::size_t reloadYara();
  // Reads HashListFile again and swaps it in (SIGHUP). Returns the entry count (0 when the
  // hash list is off). Throws ConfigError and keeps the old list when it does not load.
  std::size_t reloadHashList();
  // The analyzers a re-check can use (sandbox/retro/RecheckStage), each with its
  // generation: the YARA rules' digest and the hash list's, as last (re)loaded, and clamd's
  // VERSION answer, asked when the stage polls it. Empty when none of them is enabled.
  std::vector<sandbox::RecheckAnalyzer> recheckAnalyzers() const;
  // How long `scan` waits for the analyzers: BccAnalysisTimeout, or less when every
  // enabled analyzer gives up sooner (VxcubeTimeout, ClamdTimeout).
  std::chrono::milliseconds scanTimeout() const;

 private:
  const Config& cfg_;
  sandbox::FileTyper typer_;
  sandbox::SelectionRules rules_;
  std::unique_ptr<sandbox::Extractor> extractor_;

  std::vector<sandbox::ConfiguredAnalyzer> analyzers_;  // the enabled ones, in report order
  std::chrono::milliseconds longest_{0};  // the longest attempt of an enabled analyzer

  // The generations of YARA's rules and of the hash list: digests of what was loaded.
  std::shared_ptr<std::mutex> generationMutex_ = std::make_shared<std::mutex>();
  std::shared_ptr<std::string> yaraGeneration_ = std::make_shared<std::string>();
  std::shared_ptr<std::string> hashListGeneration_ = std::make_shared<std::string>();
};

// What a parser process runs (BccExtractIsolation): an Extractor of its own with the same
// typer, rules and limits as AnalysisSetup's. Called in the parser master
// (sandbox/extract/isolation/ParserMaster), so it loads libmagic's database there.
sandbox::ParseMessage parserFor(const Config& cfg);

// VxcubeFileTypes with "default" replaced by the built-in list.
std::string expandFileTypes(const std::string& configured);

}  // namespace bccsink
