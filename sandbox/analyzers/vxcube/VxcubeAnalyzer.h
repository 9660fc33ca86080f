#pragma once
// The analyzer "vxcube": Dr.Web vxCube over its API 2.0 (../shared/vxcube-api.md). A file is
// looked up by SHA-256, uploaded only when vxCube does not know it, run on the configured
// platforms that the sample supports, and polled until every task has finished or
// VxcubeTimeout has passed. The worst task decides (vxcubeVerdict below).
//
// An analysis takes minutes, so many files are in flight at once without a thread each: a
// few workers (VxcubeSettings::httpWorkers) make the HTTP calls, and a file waiting for its
// next poll is only an entry in a timetable that the same workers serve. analyze() only
// queues; it never blocks on the network.
//
// Failures, as the runner expects them: 429/5xx/no connection/broken JSON end the attempt as
// a transient Unscanned (the runner retries; the retry finds the uploaded sample by its
// digest), except while polling, where they only delay the next poll. A 429's Retry-After
// holds every call until then. 401/403 is a configuration error: logged loudly once, and
// the file is Unscanned without a retry. After breakerThreshold consecutive outages the
// circuit opens: files are answered transient at once for breakerCooldown, then one call
// goes through as a probe, and its answer closes or reopens the circuit.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/analyzers/Analyzer.h"
#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/analyzers/Verdict.h"
#include "sandbox/analyzers/vxcube/VxcubeClient.h"
#include "sandbox/analyzers/vxcube/VxcubeSettings.h"
#include "sandbox/analyzers/vxcube/VxcubeVerdict.h"

namespace bccsink::sandbox {

class VxcubeAnalyzer : public Analyzer {
 public:
  enum class Circuit { Closed, Open, HalfOpen };

  using Settings = VxcubeSettings;
  // The analyzer with vxcubeRunnerSettings(). Throws as the constructor does.
  static ConfiguredAnalyzer make(const VxcubeSettings& settings);

  // Throws std::invalid_argument whose message starts with the option at fault
  // ("VxcubeApiAddress: ...").
  explicit VxcubeAnalyzer(const VxcubeSettings& settings);
  // stop().
  ~VxcubeAnalyzer() override;
  VxcubeAnalyzer(const VxcubeAnalyzer&) = delete;
  VxcubeAnalyzer& operator=(const VxcubeAnalyzer&) = delete;

  std::string name() const override { return "vxcube"; }
  // Queues the file and returns; answers before returning only when it is clear at once
  // (circuit open, shutting down, no digest).
  void analyze(const Submission& file, std::function<void(Verdict)> done) override;

  // Answers every file in flight Unscanned "shutting down", cuts the calls in progress
  // short and joins the workers. Later analyze() calls answer "shutting down" at once.
  void stop();

  // Files accepted and not yet answered.
  std::size_t inFlight() const;
  Circuit circuit() const;
  const std::string& baseUrl() const;

 private:
  struct Core;
  std::shared_ptr<Core> core_;
  std::vector<std::thread> workers_;
};

// The runner settings that suit vxCube: VxcubeMaxConcurrent files at once, and an attempt
// timeout past VxcubeTimeout, so that the analyzer's own answer (with its reason) comes
// first.
RunnerSettings vxcubeRunnerSettings(const VxcubeSettings& settings);

}  // namespace bccsink::sandbox
