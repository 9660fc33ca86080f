#include "sink/Metrics.h"

#include <algorithm>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/Health.h"
#include "db/HoldQueue.h"
#include "db/MessageQueue.h"
#include "db/MessageRecord.h"
#include "db/QueueAge.h"
#include "db/ReportQueue.h"
#include "report/http/ApiHandlers.h"
#include "report/http/PrometheusHistogram.h"
#include "report/http/PrometheusText.h"
#include "sandbox/Pipeline.h"
#include "sandbox/analyzers/Verdict.h"
#include "sandbox/retro/RecheckStage.h"
#include "sandbox/retro/RetroJudge.h"
#include "sandbox/slo/TimeToVerdict.h"

namespace bccsink {
namespace {

using report::PrometheusText;
std::string number(double v) {
  return PrometheusText::number(v);
}
std::string label(const std::string& v) {
  return PrometheusText::label(v);
}

const char* const kStates[] = {db::state::kPending, db::state::kAnalyzing, db::state::kChecked,
                               db::state::kReported, db::state::kFailed};
const char* const kHoldStates[] = {db::hold_state::kHolding,   db::hold_state::kDeliver,
                                   db::hold_state::kDelivered, db::hold_state::kQuarantined,
                                   db::hold_state::kDiscarded, db::hold_state::kRejected,
                                   db::hold_state::kDeleted};
const char* const kReportStatuses[] = {db::report_status::kNone, db::report_status::kDue,
                                       db::report_status::kSent, db::report_status::kUndeliverable};

// Retention (issue 17): what the retention stage deleted since start.
void formatRetention(PrometheusText& t, const MetricsSnapshot& s) {
  t.family("bccsink_retention_content_expired_total", "counter",
           "Copies whose content (spool record or file) was deleted since start: age "
           "(BccKeepClean, BccKeepFlagged, BccKeepRows) or pressure (free space under twice "
           "BccMinFreeSpace: the oldest clean content first).");
  t.sample("bccsink_retention_content_expired_total", "reason=\"age\"", s.retentionExpiredAge);
  t.sample("bccsink_retention_content_expired_total", "reason=\"pressure\"",
           s.retentionExpiredPressure);
  t.family("bccsink_retention_rows_deleted_total", "counter",
           "Rows deleted after BccKeepRows since start.");
  t.sample("bccsink_retention_rows_deleted_total", "", s.retentionRowsDeleted);
  t.family("bccsink_retention_files_deleted_total", "counter",
           "Stored files (DataDir/files) deleted since start: no kept copy referred to them.");
  t.sample("bccsink_retention_files_deleted_total", "", s.retentionFilesDeleted);
  t.family("bccsink_retention_bytes_freed_total", "counter",
           "Disk space given back by retention since start (blocks freed).");
  t.sample("bccsink_retention_bytes_freed_total", "", s.retentionBytesFreed);
  t.family("bccsink_retention_pressure_sweeps_total", "counter",
           "Sweeps that found less than twice BccMinFreeSpace free since start.");
  t.sample("bccsink_retention_pressure_sweeps_total", "", s.retentionPressureSweeps);
}

// SMTP mode's families (DESIGN.md "SMTP mode"): its listener, the hold queue now, the
// actions by what decided them, the hold time of delivered messages, re-injection tries.
void formatSmtpMode(PrometheusText& t, const MetricsSnapshot& s) {
  t.family("bccsink_smtp_mode_messages_received_total", "counter",
           "Messages the SMTP-mode listener (SmtpSocket) acknowledged with 250 since start.");
  t.sample("bccsink_smtp_mode_messages_received_total", "", s.smtpModeReceived);
  t.family("bccsink_smtp_mode_messages_refused_total", "counter",
           "Refusals by the SMTP-mode listener since start, by reason.");
  for (std::size_t i = 0; i < kRefusalKinds; ++i) {
    t.sample("bccsink_smtp_mode_messages_refused_total",
             "reason=\"" + std::string(refusalName(static_cast<Refusal>(i))) + "\"",
             s.smtpModeRefused[i]);
  }
  t.family("bccsink_smtp_mode_held", "gauge",
           "This sink's SMTP-mode messages by hold state: holding (waiting for a verdict) and "
           "deliver (waiting for the relay) are held now; quarantined, discarded and rejected "
           "are kept; delivered and deleted are done.");
  for (const auto& [state, n] : s.heldByState)
    t.sample("bccsink_smtp_mode_held", "state=\"" + label(state) + "\"", n);
  t.family("bccsink_smtp_mode_actions_total", "counter",
           "Actions taken since start, by what decided them (the verdict, timeout: SmtpMaxHold "
           "ran out, released: an administrator).");
  for (std::size_t c = 0; c < kHoldCauses.size(); ++c) {
    for (std::size_t a = 0; a < kHoldActions.size(); ++a) {
      t.sample("bccsink_smtp_mode_actions_total",
               "cause=\"" + std::string(kHoldCauses[c]) + "\",action=\"" +
                   std::string(kHoldActions[a]) + "\"",
               s.holdActions[c][a]);
    }
  }
  t.family("bccsink_smtp_mode_hold_seconds", "histogram",
           "Time from the 250 to the relay's 250 of delivered messages.");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < s.holdBuckets.size(); ++b) {
    cumulative += s.holdBuckets[b];
    auto le = b < kHoldSecondsBuckets.size() ? number(kHoldSecondsBuckets[b]) : "+Inf";
    t.sample("bccsink_smtp_mode_hold_seconds_bucket", "le=\"" + le + "\"", cumulative);
  }
  t.sample("bccsink_smtp_mode_hold_seconds_sum", "",
           number(static_cast<double>(s.holdMillisSum) / 1000.0));
  t.sample("bccsink_smtp_mode_hold_seconds_count", "", cumulative);
  t.family("bccsink_smtp_mode_reinjections_total", "counter",
           "Re-injection tries into SmtpSenderRelay since start: delivered (the relay's 250), "
           "deferred (4xx, down, timeout: tried again), rejected (5xx: the administrator is "
           "told).");
  t.sample("bccsink_smtp_mode_reinjections_total", "result=\"delivered\"", s.reinjectDelivered);
  t.sample("bccsink_smtp_mode_reinjections_total", "result=\"deferred\"", s.reinjectDeferred);
  t.sample("bccsink_smtp_mode_reinjections_total", "result=\"rejected\"", s.reinjectRejected);
}

// Time to verdict (issue 17, README "Time to verdict"): how long copies wait for their
// verdict, the backlog's age, the analyzers' queues, and the verdict SLO.
void formatTimeToVerdict(PrometheusText& t, const MetricsSnapshot& s) {
  t.family("bccsink_time_to_verdict_seconds", "histogram",
           "Time from the 250 to the commit that made a copy of this sink checked (by its "
           "verdict) or failed (verdict=\"failed\"), since start.");
  for (const auto& [verdict, h] : s.timeToVerdict)
    report::histogramSamples(t, "bccsink_time_to_verdict_seconds",
                             "verdict=\"" + label(verdict) + "\"", h);
  t.family("bccsink_oldest_pending_age_seconds", "gauge",
           "Age of this sink's oldest copy still pending or analyzing (0 when none).");
  t.sample("bccsink_oldest_pending_age_seconds", "", number(s.slo.oldestWaitingSeconds));
  t.family("bccsink_analyzer_queue_wait_seconds", "histogram",
           "Time a file waited in an analyzer's queue for a free slot before the analyzer began "
           "on it (or, never begun, until its deadline), since start.");
  for (const auto& a : s.analyzers) {
    HistogramSnapshot h;
    h.bounds.assign(sandbox::kQueueWaitBuckets.begin(), sandbox::kQueueWaitBuckets.end());
    h.counts.assign(a.queueWait.begin(), a.queueWait.end());
    h.sum = a.queueWaitSeconds;
    report::histogramSamples(t, "bccsink_analyzer_queue_wait_seconds",
                             "analyzer=\"" + label(a.name) + "\"", h);
  }
  t.family("bccsink_verdict_slo_seconds", "gauge",
           "BccVerdictSlo: the time from the 250 by which a copy should be checked.");
  t.sample("bccsink_verdict_slo_seconds", "", s.slo.target.count());
  t.family("bccsink_verdict_slo_copies", "gauge",
           "This sink's copies whose deadline (received + BccVerdictSlo) fell in the last hour: "
           "within (checked by it), late (checked after it, or failed), overdue (still pending "
           "or analyzing past it).");
  t.sample("bccsink_verdict_slo_copies", "result=\"within\"", s.slo.within);
  t.sample("bccsink_verdict_slo_copies", "result=\"late\"", s.slo.late);
  t.sample("bccsink_verdict_slo_copies", "result=\"overdue\"", s.slo.overdue);
  t.family("bccsink_verdict_slo_ratio", "gauge",
           "Share of those copies checked within BccVerdictSlo: within / (within + late + "
           "overdue), 1 when there were none.");
  t.sample("bccsink_verdict_slo_ratio", "", number(s.slo.ratio));
}

// ---- retro-alerts (issue 17) ----

void collectRetro(const MetricsSources& src, MetricsSnapshot& s) {
  if (src.retro) {
    for (std::size_t c = 0; c < sandbox::kRetroCauses.size(); ++c)
      s.retroAlerts[c] = src.retro->alerts(static_cast<sandbox::RetroCause>(c));
  }
  if (src.recheck) {
    s.recheckFiles = src.recheck->filesRechecked();
    s.recheckPending = src.recheck->pendingFiles();
  }
}

void formatRetro(PrometheusText& t, const MetricsSnapshot& s) {
  t.family("bccsink_retro_alerts_total", "counter",
           "Retro-alerts since start (a file's verdict turned worse after messages that carried "
           "it were judged) by cause.");
  for (std::size_t c = 0; c < sandbox::kRetroCauses.size(); ++c)
    t.sample("bccsink_retro_alerts_total",
             "cause=\"" + std::string(sandbox::kRetroCauses[c]) + "\"", s.retroAlerts[c]);
  t.family("bccsink_recheck_files_total", "counter",
           "Files scanned again since start after the analyzer's rules or signatures changed.");
  for (const auto& [name, n] : s.recheckFiles)
    t.sample("bccsink_recheck_files_total", "analyzer=\"" + label(name) + "\"", n);
  t.family("bccsink_recheck_pending_files", "gauge",
           "Files the running re-check has still to scan (0 when none runs).");
  t.sample("bccsink_recheck_pending_files", "",
           static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.recheckPending)));
}

}  // namespace

MetricsSnapshot collectMetrics(const MetricsSources& src, db::Database& db) {
  MetricsSnapshot s;
  s.version = report::bccsinkVersion();
  if (src.smtp) {
    s.received = src.smtp->received.load();
    for (std::size_t i = 0; i < kRefusalKinds; ++i) s.refused[i] = src.smtp->refused[i].load();
  }
  for (const char* st : kStates) s.queueByState[st] = 0;
  for (const char* st : kReportStatuses) s.reportsByStatus[st] = 0;
  // What the database says; a database that cannot answer (corrupt, away) leaves those
  // numbers at 0 and says so, as /metrics is how a monitor learns of it.
  auto fromDatabase = [&](const auto& read) {
    if (!s.databaseReadable) return;
    try {
      read();
    } catch (const std::exception& e) {
      s.databaseReadable = false;
      db::Health::process().noteFailure(e);
    }
  };
  fromDatabase([&] {
    auto byState = db::MessageQueue(db).countByState();
    for (const char* st : kStates) s.queueByState[st] = byState.count(st) ? byState[st] : 0;
    auto byStatus = db::ReportQueue(db).countByStatus();
    for (const char* st : kReportStatuses)
      s.reportsByStatus[st] = byStatus.count(st) ? byStatus[st] : 0;
  });
  if (src.pipeline) {
    const auto& c = src.pipeline->counters();
    s.claimed = c.claimed;
    s.checked = c.checked;
    s.failed = c.failed;
    s.released = c.released;
    s.files = c.files;
    s.cacheLookups = c.cacheLookups;
    s.cacheHits = c.cacheHits;
    for (const auto& runner : src.pipeline->runners()) s.analyzers.push_back(runner->stats());
  }
  if (src.parsers) {
    s.parserSpawned = src.parsers->spawned;
    s.parserCrashed = src.parsers->crashed;
    s.parserTimedOut = src.parsers->timedOut;
    s.parserMasterGone = src.parsers->masterGone;
  }
  if (src.reporter) s.reports = src.reporter->counts();
  if (src.reporter) s.retroReports = src.reporter->retroCounts();
  s.spoolFreeBytes = report::diskFreeBytes(src.spoolDir);
  if (src.committer) s.intake = src.committer->stats();
  s.smtpMode = src.smtpMode || src.hold;
  if (src.smtpMode) {
    s.smtpModeReceived = src.smtpMode->received.load();
    for (std::size_t i = 0; i < kRefusalKinds; ++i)
      s.smtpModeRefused[i] = src.smtpMode->refused[i].load();
  }
  if (s.smtpMode) {
    for (const char* st : kHoldStates) s.heldByState[st] = 0;
    fromDatabase([&] {
      auto held = db::HoldQueue(db).countByState(src.sink);
      for (const char* st : kHoldStates) s.heldByState[st] = held.count(st) ? held[st] : 0;
    });
  }
  if (src.hold) {
    const auto& h = *src.hold;
    for (std::size_t c = 0; c < kHoldCauses.size(); ++c)
      for (std::size_t a = 0; a < kHoldActions.size(); ++a) s.holdActions[c][a] = h.actions[c][a];
    for (std::size_t b = 0; b < s.holdBuckets.size(); ++b) s.holdBuckets[b] = h.holdBuckets[b];
    s.holdMillisSum = h.holdMillisSum;
    s.reinjectDelivered = h.delivered;
    s.reinjectDeferred = h.deferred;
    s.reinjectRejected = h.rejected;
  }
  if (src.timeToVerdict) {
    s.timeToVerdict = src.timeToVerdict->histograms();
    fromDatabase([&] { s.slo = src.timeToVerdict->slo().read(db, src.sink, nowMs()); });
  } else {
    fromDatabase([&] {
      const auto oldest = db::QueueAge(db).oldestWaiting(src.sink);
      if (!oldest.empty() && msOfIso(oldest) > 0)
        s.slo.oldestWaitingSeconds =
            std::max<double>(0, static_cast<double>(nowMs() - msOfIso(oldest)) / 1000.0);
    });
  }
  if (src.retention) {
    const auto& r = *src.retention;
    s.retentionExpiredAge = r.expiredAge;
    s.retentionExpiredPressure = r.expiredPressure;
    s.retentionRowsDeleted = r.rowsDeleted;
    s.retentionFilesDeleted = r.filesDeleted;
    s.retentionBytesFreed = r.bytesFreed;
    s.retentionPressureSweeps = r.pressureSweeps;
  }
  collectRetro(src, s);
  s.health = db::Health::name(db::Health::process().state());
  return s;
}

std::string formatMetrics(const MetricsSnapshot& s) {
  PrometheusText t;
  t.family("bccsink_build_info", "gauge", "The running version (always 1).");
  t.sample("bccsink_build_info", "version=\"" + label(s.version) + "\"", std::uint64_t{1});
  t.family("bccsink_health", "gauge",
           "1 for the daemon's health state (database_corrupt: no mail is taken until `bccsink "
           "db rebuild`), 0 for the others.");
  for (auto st : {db::Health::State::Ok, db::Health::State::DatabaseCorrupt}) {
    const std::string name = db::Health::name(st);
    t.sample("bccsink_health", "state=\"" + name + "\"", std::uint64_t{s.health == name ? 1u : 0u});
  }
  t.family("bccsink_database_readable", "gauge",
           "1 when the database answered this scrape's queries (else the queue gauges are 0).");
  t.sample("bccsink_database_readable", "", std::uint64_t{s.databaseReadable ? 1u : 0u});

  // The listener.
  t.family("bccsink_messages_received_total", "counter",
           "Messages acknowledged with 250 after DATA since start.");
  t.sample("bccsink_messages_received_total", "", s.received);
  t.family("bccsink_messages_refused_total", "counter",
           "Refusals (4xx/5xx replies turning away a message, recipient or client) by reason.");
  for (std::size_t i = 0; i < kRefusalKinds; ++i) {
    t.sample("bccsink_messages_refused_total",
             "reason=\"" + std::string(refusalName(static_cast<Refusal>(i))) + "\"", s.refused[i]);
  }

  // The group commit: messages acknowledged together is messages / batches.
  t.family("bccsink_intake_batches_total", "counter",
           "Group commit batches (one database transaction of the rows of 1 or more spool "
           "flushes) since start.");
  t.sample("bccsink_intake_batches_total", "", s.intake.batches);
  t.family("bccsink_intake_batch_messages_total", "counter",
           "Messages those batches committed (or failed) since start.");
  t.sample("bccsink_intake_batch_messages_total", "", s.intake.messages);
  t.family("bccsink_intake_batch_max", "gauge", "Most messages in one batch since start.");
  t.sample("bccsink_intake_batch_max", "", s.intake.maxBatch);
  t.family("bccsink_intake_flushes_total", "counter",
           "Spool flush rounds (one segment write and fdatasync) since start.");
  t.sample("bccsink_intake_flushes_total", "", s.intake.flushes);
  t.family("bccsink_intake_syncs_total", "counter",
           "fdatasync and fsync calls of the spool since start (the database's own not counted).");
  t.sample("bccsink_intake_syncs_total", "", s.intake.syncs);

  // The queue, as the database holds it.
  t.family("bccsink_queue_messages", "gauge", "Messages in the queue by state.");
  for (const auto& [state, n] : s.queueByState)
    t.sample("bccsink_queue_messages", "state=\"" + label(state) + "\"", n);
  t.family("bccsink_report_queue_messages", "gauge",
           "Judged messages by report status (none: nothing to report).");
  for (const auto& [status, n] : s.reportsByStatus)
    t.sample("bccsink_report_queue_messages", "status=\"" + label(status) + "\"", n);

  // The analysis stage.
  t.family("bccsink_pipeline_messages_total", "counter",
           "Analysis events since start: claims, messages checked, failed, released.");
  t.sample("bccsink_pipeline_messages_total", "event=\"claimed\"", s.claimed);
  t.sample("bccsink_pipeline_messages_total", "event=\"checked\"", s.checked);
  t.sample("bccsink_pipeline_messages_total", "event=\"failed\"", s.failed);
  t.sample("bccsink_pipeline_messages_total", "event=\"released\"", s.released);
  t.family("bccsink_parser_events_total", "counter",
           "Parser processes (BccExtractIsolation) since start: workers spawned, crashed, "
           "timed out, and messages unread because the parser master was gone.");
  t.sample("bccsink_parser_events_total", "event=\"spawned\"", s.parserSpawned);
  t.sample("bccsink_parser_events_total", "event=\"crashed\"", s.parserCrashed);
  t.sample("bccsink_parser_events_total", "event=\"timed_out\"", s.parserTimedOut);
  t.sample("bccsink_parser_events_total", "event=\"master_gone\"", s.parserMasterGone);
  t.family("bccsink_pipeline_files_total", "counter", "Files found in messages since start.");
  t.sample("bccsink_pipeline_files_total", "", s.files);
  t.family("bccsink_cache_lookups_total", "counter",
           "Verdict cache look-ups (one per file and analyzer) since start.");
  t.sample("bccsink_cache_lookups_total", "", s.cacheLookups);
  t.family("bccsink_cache_hits_total", "counter",
           "Look-ups answered by a cached verdict since start.");
  t.sample("bccsink_cache_hits_total", "", s.cacheHits);
  t.family("bccsink_cache_hit_ratio", "gauge", "Hits per look-up since start (0 before any).");
  t.sample("bccsink_cache_hit_ratio", "",
           number(s.cacheLookups == 0
                      ? 0.0
                      : static_cast<double>(s.cacheHits) / static_cast<double>(s.cacheLookups)));

  // The analyzers.
  auto per = [](const sandbox::AnalyzerStats& a) { return "analyzer=\"" + label(a.name) + "\""; };
  t.family("bccsink_analyzer_submissions_total", "counter", "Files submitted since start.");
  for (const auto& a : s.analyzers)
    t.sample("bccsink_analyzer_submissions_total", per(a), a.submitted);
  t.family("bccsink_analyzer_answers_total", "counter", "Final answers since start by verdict.");
  for (const auto& a : s.analyzers) {
    for (std::size_t k = 0; k < a.answered.size(); ++k) {
      auto kind = std::string(sandbox::toString(static_cast<sandbox::VerdictKind>(k)));
      t.sample("bccsink_analyzer_answers_total", per(a) + ",verdict=\"" + kind + "\"",
               a.answered[k]);
    }
  }
  t.family("bccsink_analyzer_errors_total", "counter",
           "Failed attempts (unreachable, timed out, transient errors) since start.");
  for (const auto& a : s.analyzers) t.sample("bccsink_analyzer_errors_total", per(a), a.errors);
  t.family("bccsink_analyzer_in_flight", "gauge", "Attempts running now.");
  for (const auto& a : s.analyzers)
    t.sample("bccsink_analyzer_in_flight", per(a), static_cast<std::uint64_t>(a.inFlight));
  t.family("bccsink_analyzer_queued", "gauge", "Submissions waiting for a slot or a retry.");
  for (const auto& a : s.analyzers)
    t.sample("bccsink_analyzer_queued", per(a), static_cast<std::uint64_t>(a.queued));
  t.family("bccsink_analyzer_healthy", "gauge", "1 when the last attempt that ended did not fail.");
  for (const auto& a : s.analyzers)
    t.sample("bccsink_analyzer_healthy", per(a), std::uint64_t{a.healthy ? 1u : 0u});
  t.family("bccsink_analyzer_latency_seconds", "histogram",
           "Time from submission to final answer, retries and waiting included.");
  for (const auto& a : s.analyzers) {
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b < a.latency.size(); ++b) {
      cumulative += a.latency[b];
      auto le = b < sandbox::kLatencyBuckets.size() ? number(sandbox::kLatencyBuckets[b]) : "+Inf";
      t.sample("bccsink_analyzer_latency_seconds_bucket", per(a) + ",le=\"" + le + "\"",
               cumulative);
    }
    t.sample("bccsink_analyzer_latency_seconds_sum", per(a), number(a.latencySeconds));
    t.sample("bccsink_analyzer_latency_seconds_count", per(a), cumulative);
  }

  // The reporter.
  t.family("bccsink_reports_sent_total", "counter",
           "Messages whose report the receiver took since start.");
  t.sample("bccsink_reports_sent_total", "", s.reports.sent);
  t.family("bccsink_reports_failed_total", "counter",
           "Report deliveries that failed since start: deferred (retried) or undeliverable.");
  t.sample("bccsink_reports_failed_total", "outcome=\"deferred\"", s.reports.deferred);
  t.sample("bccsink_reports_failed_total", "outcome=\"undeliverable\"", s.reports.undeliverable);
  // Retro-alerts' reports (report/retro): one mail per alert.
  t.family("bccsink_retro_reports_total", "counter",
           "Retro-alert reports handed over since start, by result (deferred: retried).");
  t.sample("bccsink_retro_reports_total", "result=\"sent\"", s.retroReports.sent);
  t.sample("bccsink_retro_reports_total", "result=\"deferred\"", s.retroReports.deferred);
  t.sample("bccsink_retro_reports_total", "result=\"undeliverable\"", s.retroReports.undeliverable);

  t.family("bccsink_spool_free_bytes", "gauge", "Free disk space where the spool is.");
  t.sample("bccsink_spool_free_bytes", "", s.spoolFreeBytes);
  formatTimeToVerdict(t, s);
  if (s.smtpMode) formatSmtpMode(t, s);
  formatRetention(t, s);
  formatRetro(t, s);
  return t.take();
}

}  // namespace bccsink
