#pragma once
// The configuration mapped onto each stage's own settings struct, one small function per
// stage: the stages (sink/smtp, sandbox, report/stats, report/http) know nothing of Config,
// and `serve` only wires what these return. The analyzers' and the reporter's settings
// come from AnalysisSetup and ReportSetup, which also load files and can fail.

#include "base/tls/TlsProfile.h"
#include "report/http/HttpServer.h"
#include "report/stats/StatsCollector.h"
#include "sandbox/Pipeline.h"
#include "sandbox/extract/isolation/ExtractPool.h"
#include "sandbox/retro/RecheckStage.h"
#include "sandbox/retro/RetroJudge.h"
#include "sink/Config.h"
#include "sink/hold/HoldStage.h"
#include "sink/retention/RetentionStage.h"
#include "sink/smtp/Intake.h"
#include "sink/smtp/SmtpServer.h"

namespace bccsink {

// TlsCiphers, TlsMinVersion: the one profile of every TLS listener and client.
TlsProfile tlsProfile(const Config& cfg);
// BccSocket, BccMaxConnections, BccAllowedClients, the timeouts, TLS and the session's
// limits; the bounds on one client (BccMaxConnectionsPerIp, BccReservedConnections,
// BccSessionTimeout, BccMinDataRate, BccSendTimeout). The counters are the caller's to
// attach.
ServerSettings listenerSettings(const Config& cfg);
// SMTP mode's listener: SmtpSocket and SmtpAllowedClients, the rest (the bounds on one
// client too) as BccSocket's, every recipient taken and each message held
// (SessionSettings::holdMode).
ServerSettings holdListenerSettings(const Config& cfg);
// SMTP mode's hold stage: the SmtpAction* policy, SmtpMaxHold, SmtpSenderRelay (as
// BccHostname in EHLO, no AUTH, STARTTLS only when offered over TCP), SmtpRelayRetryMax,
// SmtpQuarantineDays.
HoldSettings holdSettings(const Config& cfg);
// BccMinFreeSpace, BccMaxPending, BccHostname.
IntakeLimits intakeLimits(const Config& cfg);
// DatabaseUrl, the spool, BccWorkers, BccLeaseTime, BccAnalysisTimeout, BccMaxAttempts,
// BccCleanVerdictMaxAge.
sandbox::PipelineSettings pipelineSettings(const Config& cfg);
// BccExtractWorkers, BccExtractWorkerMessages, BccExtractTimeout; a frame may carry a
// file of BccMaxUnpackedSize.
sandbox::ExtractPoolSettings extractPoolSettings(const Config& cfg);
// The parser master's: each worker's address-space cap from BccMaxUnpackedSize.
sandbox::ParserMasterSettings parserMasterSettings(const Config& cfg);
// StatsInterval, StatsExportUrl, StatsExportCaFile; the grace is BccAnalysisTimeout.
report::StatsSettings statsSettings(const Config& cfg);
// HttpSocket, HttpToken, HttpTlsCertificate, HttpTlsKey, DatabaseUrl.
report::HttpSettings httpSettings(const Config& cfg);
// Retention: BccKeepClean, BccKeepFlagged, BccKeepRows, BccMinFreeSpace (pressure under
// twice it), the spool and files/ of this sink; a sweep every minute, or a quarter of the
// shortest keep time when that is shorter (at least a second).
RetentionSettings retentionSettings(const Config& cfg);

// Retro-alerts (issue 17): SinkName, BccRetroWindow (0 = off), BccReportThreshold; each
// alert's id a new ULID.
sandbox::RetroSettings retroSettings(const Config& cfg);
// The re-checks: DatabaseUrl, SinkName, BccRetroWindow, BccRecheckRate (0 = off).
sandbox::RecheckSettings recheckSettings(const Config& cfg);

}  // namespace bccsink
