#include "sink/StageSettings.h"

#include <algorithm>
#include <chrono>

#include "sink/smtp/Ulid.h"

namespace bccsink {

TlsProfile tlsProfile(const Config& cfg) {
  return {cfg.tlsCiphers, cfg.tlsMinVersion};
}

ServerSettings listenerSettings(const Config& cfg) {
  ServerSettings st;
  st.socket = cfg.bccSocket;
  st.maxConnections = cfg.bccMaxConnections;
  st.allowedClients = cfg.bccAllowedClients;
  st.commandTimeout = cfg.bccCommandTimeout;
  st.dataTimeout = cfg.bccDataTimeout;
  st.maxConnectionsPerIp = cfg.bccMaxConnectionsPerIp;
  st.reservedConnections = cfg.bccReservedConnections;
  st.sessionTimeout = cfg.bccSessionTimeout;
  st.minDataRate = cfg.bccMinDataRate;
  st.sendTimeout = cfg.bccSendTimeout;
  st.tlsCertificate = cfg.bccTlsCertificate;
  st.tlsKey = cfg.bccTlsKey;
  st.tlsProfile = tlsProfile(cfg);
  st.session.hostname = cfg.bccHostname;
  st.session.domains = cfg.bccDomains;
  st.session.maxMessageSize = cfg.bccMaxMessageSize;
  st.session.maxRecipients = cfg.bccMaxRecipients;
  st.session.maxLineLength = cfg.bccMaxLineLength;
  return st;
}

ServerSettings holdListenerSettings(const Config& cfg) {
  ServerSettings st = listenerSettings(cfg);
  st.socket = cfg.smtpSocket;
  st.allowedClients = cfg.smtpAllowedClients;
  st.session.domains.clear();
  st.session.holdMode = true;
  return st;
}

HoldSettings holdSettings(const Config& cfg) {
  HoldSettings hs;
  hs.databaseUrl = cfg.effectiveDatabaseUrl();
  hs.spoolDir = cfg.spoolDir();
  hs.sink = cfg.sinkName;
  hs.policy.clean = cfg.smtpActionClean;
  hs.policy.suspicious = cfg.smtpActionSuspicious;
  hs.policy.dangerous = cfg.smtpActionDangerous;
  hs.policy.unscanned = cfg.smtpActionUnscanned;
  hs.policy.tagSubject = cfg.smtpTagSubject;
  hs.policy.holdUnknown = cfg.smtpHoldUnknown;
  hs.policy.maxHold = cfg.smtpMaxHold;
  hs.policy.timeoutAction = cfg.smtpHoldTimeoutAction;
  hs.relay.server = cfg.smtpSenderRelay;
  hs.relay.heloName = cfg.bccHostname;
  hs.relay.tls = report::SmtpTls::Auto;
  hs.relay.verifyTls = false;  // the relay is the site's own MTA, usually on loopback
  hs.relay.replyTimeout = std::chrono::minutes(10);  // RFC 5321 4.5.3.2.6: the final dot
  hs.relay.tlsProfile = tlsProfile(cfg);
  hs.retryMax = cfg.smtpRelayRetryMax;
  hs.relayConnections = cfg.smtpRelayConnections;
  hs.quarantineDays = cfg.smtpQuarantineDays;
  return hs;
}

IntakeLimits intakeLimits(const Config& cfg) {
  IntakeLimits limits{cfg.bccMinFreeSpace, cfg.bccMaxPending, cfg.sinkName};
  // SQLite's WAL shares DataDir with the spool: room for it to grow to two automatic
  // checkpoints' worth (1000 pages of 4 KiB each) beyond BccMinFreeSpace.
  if (cfg.effectiveDatabaseUrl().rfind("sqlite:", 0) == 0) limits.walAllowance = 8u << 20;
  return limits;
}

sandbox::PipelineSettings pipelineSettings(const Config& cfg) {
  sandbox::PipelineSettings ps;
  ps.databaseUrl = cfg.effectiveDatabaseUrl();
  ps.spoolDir = cfg.spoolDir();
  ps.owner = cfg.sinkName;
  ps.workers = cfg.bccWorkers;
  ps.lease = cfg.bccLeaseTime;
  ps.analysisTimeout = cfg.bccAnalysisTimeout;
  ps.maxAttempts = cfg.bccMaxAttempts;
  ps.maxStoredPerMessage = cfg.bccMaxStoredPerMessage;
  // One message's worth of files not kept may wait in memory for the analyzers.
  ps.maxHeldInMemory = cfg.bccMaxUnpackedSize;
  ps.freshness.cleanMaxAgeMs =
      std::chrono::duration_cast<std::chrono::milliseconds>(cfg.bccCleanVerdictMaxAge).count();
  // An analyzer that could not answer is asked again by messages after this.
  ps.freshness.unscannedMaxAgeMs = 5 * 60 * 1000;
  return ps;
}

sandbox::ExtractPoolSettings extractPoolSettings(const Config& cfg) {
  sandbox::ExtractPoolSettings s;
  s.workers = cfg.bccExtractWorkers;
  s.messagesPerWorker = cfg.bccExtractWorkerMessages;
  s.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.bccExtractTimeout);
  // One file of the whole unpacked budget, or the Result's descriptions, plus room.
  s.maxFrameBytes = std::max<std::uint64_t>(cfg.bccMaxUnpackedSize, 256ull << 20) + (64ull << 20);
  return s;
}

sandbox::ParserMasterSettings parserMasterSettings(const Config& cfg) {
  sandbox::ParserMasterSettings s;
  // A worker holds the message, what it unpacked (at most BccMaxUnpackedSize, or the
  // 256 MiB a frame allows at least) and a copy of a file while it frames it, plus its
  // libraries: twice the budget and 1 GiB (3 GiB by default). Past it, allocations fail
  // in the worker, not in the daemon.
  s.workerMemoryLimit =
      2 * std::max<std::uint64_t>(cfg.bccMaxUnpackedSize, 256ull << 20) + (1ull << 30);
  return s;
}

report::StatsSettings statsSettings(const Config& cfg) {
  report::StatsSettings stats;
  stats.databaseUrl = cfg.effectiveDatabaseUrl();
  stats.owner = cfg.sinkName;
  stats.interval = cfg.statsInterval;
  stats.grace = cfg.bccAnalysisTimeout;
  if (!cfg.statsExportUrl.empty()) {
    stats.exportTo = report::ExportSettings{cfg.statsExportUrl, cfg.statsExportCaFile};
    stats.exportTo->tlsProfile = tlsProfile(cfg);
  }
  return stats;
}

report::HttpSettings httpSettings(const Config& cfg) {
  report::HttpSettings hs;
  hs.socket = cfg.httpSocket;
  hs.token = cfg.httpToken;
  hs.tlsCertificate = cfg.httpTlsCertificate;
  hs.tlsKey = cfg.httpTlsKey;
  hs.tlsProfile = tlsProfile(cfg);
  hs.databaseUrl = cfg.effectiveDatabaseUrl();
  return hs;
}

// Retention (issue 17).
RetentionSettings retentionSettings(const Config& cfg) {
  RetentionSettings rs;
  rs.databaseUrl = cfg.effectiveDatabaseUrl();
  rs.spoolDir = cfg.spoolDir();
  rs.filesDir = cfg.dataDir + "/files";
  rs.sink = cfg.sinkName;
  rs.keepClean = cfg.bccKeepClean;
  rs.keepFlagged = cfg.bccKeepFlagged;
  rs.keepRows = cfg.bccKeepRows;
  rs.minFreeSpace = cfg.bccMinFreeSpace;
  // A sweep a minute; more often when a keep time is short (a quarter of the shortest,
  // at least a second), so that content never stays much past its time.
  std::chrono::seconds shortest = std::chrono::minutes(10);
  for (auto keep : {cfg.bccKeepClean, cfg.bccKeepFlagged, cfg.bccKeepRows}) {
    if (keep.count() > 0) shortest = std::min(shortest, keep);
  }
  rs.idle = std::clamp<std::chrono::milliseconds>(shortest / 4, std::chrono::seconds(1),
                                                  std::chrono::minutes(1));
  // A stored file seen by the extraction this recently stays (a copy being extracted may
  // use it before its row refers to it): ten minutes, or the shortest keep time.
  rs.fileGrace = shortest;
  return rs;
}

// ---- retro-alerts (issue 17) ----

sandbox::RetroSettings retroSettings(const Config& cfg) {
  sandbox::RetroSettings rs;
  rs.sink = cfg.sinkName;
  rs.window = cfg.bccRetroWindow;
  rs.threshold = cfg.bccReportThreshold;
  rs.newId = [] { return newUlid(); };
  return rs;
}

sandbox::RecheckSettings recheckSettings(const Config& cfg) {
  sandbox::RecheckSettings rs;
  rs.databaseUrl = cfg.effectiveDatabaseUrl();
  rs.sink = cfg.sinkName;
  rs.window = cfg.bccRetroWindow;
  rs.rate = cfg.bccRecheckRate;
  return rs;
}

}  // namespace bccsink
