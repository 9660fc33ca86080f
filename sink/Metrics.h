#pragma once
// /metrics: what it counts. The counters each stage keeps where its events happen
// (listener, analyzers, cache, reporter), the queue depths from the database and the
// spool's free disk, gathered into one snapshot and written in the Prometheus text format
// (report/http/PrometheusText). Collecting and formatting are apart, so the text is tested
// from plain numbers.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/Histogram.h"
#include "report/Reporter.h"
#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/extract/isolation/ExtractPool.h"
#include "sandbox/slo/VerdictSlo.h"
#include "sink/hold/HoldCounters.h"
#include "sink/retention/RetentionStage.h"
#include "sink/smtp/GroupCommitter.h"
#include "sink/smtp/SmtpCounters.h"

namespace bccsink::db {
class Database;
}
namespace bccsink::sandbox {
class Pipeline;
class TimeToVerdict;
class RecheckStage;
class RetroJudge;
}  // namespace bccsink::sandbox

namespace bccsink {

// Every number /metrics shows, at one moment.
struct MetricsSnapshot {
  std::string version;
  // db/Health's state ("ok", "database_corrupt"), and whether the database answered the
  // queue's counts this time (its numbers below are 0 when not: /metrics still answers).
  std::string health = "ok";
  bool databaseReadable = true;
  std::uint64_t received = 0;
  std::array<std::uint64_t, kRefusalKinds> refused = {};
  std::map<std::string, std::int64_t> queueByState;     // every state, 0 when none
  std::map<std::string, std::int64_t> reportsByStatus;  // none, due, sent, undeliverable
  std::uint64_t claimed = 0, checked = 0, failed = 0, released = 0, files = 0;
  std::uint64_t cacheLookups = 0, cacheHits = 0;
  std::vector<sandbox::AnalyzerStats> analyzers;
  report::ReporterCounts reports;
  report::RetroCounts retroReports;  // retro-alert reports (report/retro)
  std::uint64_t spoolFreeBytes = 0;
  BatchStats intake;  // the group commit's rounds
  // SMTP mode (bccsink_smtp_mode_*): shown only when `smtpMode` (SmtpSocket is on); a
  // BCC-only sink's /metrics has none of these families, not zeros that would read as a
  // content filter that never held anything.
  bool smtpMode = false;
  std::uint64_t smtpModeReceived = 0;
  std::array<std::uint64_t, kRefusalKinds> smtpModeRefused = {};
  std::map<std::string, std::int64_t> heldByState;  // every hold state, 0 when none
  std::array<std::array<std::uint64_t, kHoldActions.size()>, kHoldCauses.size()> holdActions = {};
  std::array<std::uint64_t, kHoldSecondsBuckets.size() + 1> holdBuckets = {};  // not cumulative
  std::uint64_t holdMillisSum = 0;  // the count is the +Inf bucket
  std::uint64_t reinjectDelivered = 0, reinjectDeferred = 0, reinjectRejected = 0;
  // Time to verdict (sandbox/slo): the histogram by verdict label, and the verdict SLO
  // with the age of the oldest waiting copy (that age is read also without the SLO).
  std::map<std::string, HistogramSnapshot> timeToVerdict;
  sandbox::SloReading slo;
  // Retention (bccsink_retention_*, issue 17).
  std::uint64_t retentionExpiredAge = 0, retentionExpiredPressure = 0;
  std::uint64_t retentionRowsDeleted = 0, retentionFilesDeleted = 0, retentionBytesFreed = 0;
  std::uint64_t retentionPressureSweeps = 0;
  // Retro-alerts (issue 17): alerts made by cause (RetroCause's order), files re-checked
  // per analyzer, and what the running re-checks have left.
  std::array<std::uint64_t, 4> retroAlerts = {};
  std::vector<std::pair<std::string, std::uint64_t>> recheckFiles;
  std::int64_t recheckPending = 0;
  // Parser processes (BccExtractIsolation): workers started, crashed, timed out, and
  // messages left unread because the master was gone.
  std::uint64_t parserSpawned = 0, parserCrashed = 0, parserTimedOut = 0, parserMasterGone = 0;
};

// The running stages; any may be null (then its numbers are 0).
struct MetricsSources {
  SmtpCounters* smtp = nullptr;
  const sandbox::Pipeline* pipeline = nullptr;
  const report::Reporter* reporter = nullptr;
  std::string spoolDir;
  const GroupCommitter* committer = nullptr;
  // SMTP mode: the content-filter listener's counters and the hold stage's; null when
  // SmtpSocket is off.
  SmtpCounters* smtpMode = nullptr;
  const HoldCounters* hold = nullptr;
  std::string sink;  // this sink's name: the hold queue's depths are its own
  // Time to verdict and the verdict SLO (fed by the pipeline); null: the histogram has no
  // samples and the SLO reads 1.
  sandbox::TimeToVerdict* timeToVerdict = nullptr;
  const RetentionCounters* retention = nullptr;  // the retention stage's
  // Retro-alerts: the judge and the re-check stage; null when off (then 0).
  const sandbox::RetroJudge* retro = nullptr;
  const sandbox::RecheckStage* recheck = nullptr;
  // The parser processes' pool; null without BccExtractIsolation (then 0).
  const sandbox::ExtractPoolCounters* parsers = nullptr;
};

MetricsSnapshot collectMetrics(const MetricsSources& sources, db::Database& db);
std::string formatMetrics(const MetricsSnapshot& snapshot);

}  // namespace bccsink
