#pragma once
// The daemon's configuration: one struct, declared once in Config.cpp's schema, each
// option with its default and a comment. Read from one INI file with
// Boost.Program_options; every option can also be given as `--Name value`.

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "base/Cidr.h"

namespace bccsink {

struct Config {
  std::string bccSocket;                      // BccSocket
  std::vector<std::string> bccDomains;        // BccDomains, lower-cased
  std::vector<Cidr> bccAllowedClients;        // BccAllowedClients, empty = any
  std::uint64_t bccMaxMessageSize = 0;        // BccMaxMessageSize, bytes
  unsigned bccMaxConnections = 0;             // BccMaxConnections
  unsigned bccMaxRecipients = 0;              // BccMaxRecipients
  std::size_t bccMaxLineLength = 0;           // BccMaxLineLength, bytes incl. CRLF
  std::chrono::seconds bccCommandTimeout{0};  // BccCommandTimeout
  std::chrono::seconds bccDataTimeout{0};     // BccDataTimeout
  std::string bccHostname;                    // BccHostname
  std::string sinkName;                       // SinkName
  std::string bccTlsCertificate;              // BccTlsCertificate
  std::string bccTlsKey;                      // BccTlsKey
  std::uint64_t bccMinFreeSpace = 0;          // BccMinFreeSpace, bytes
  std::uint64_t bccMaxPending = 0;            // BccMaxPending, messages, 0 = no limit
  std::uint64_t bccSpoolSegmentSize = 0;      // BccSpoolSegmentSize, bytes
  // Bounds under attack (issue 18): no client holds a slot, a thread or the disk for long.
  unsigned bccMaxConnectionsPerIp = 0;        // BccMaxConnectionsPerIp
  std::chrono::seconds bccSessionTimeout{0};  // BccSessionTimeout: a whole session
  std::uint64_t bccMinDataRate = 0;           // BccMinDataRate, bytes/s, 0 = none
  std::chrono::seconds bccSendTimeout{0};     // BccSendTimeout: a reply not read
  unsigned bccReservedConnections = 0;        // BccReservedConnections: for allowed clients
  std::uint64_t bccMaxStoredPerMessage = 0;   // BccMaxStoredPerMessage, bytes (floor)
  std::string user;                           // User ('' = stay who started)
  bool bccExtractIsolation = true;            // BccExtractIsolation: forked, seccomp
  unsigned bccExtractWorkers = 0;             // BccExtractWorkers: parser processes
  unsigned bccExtractWorkerMessages = 0;      // BccExtractWorkerMessages: then re-spawned
  std::chrono::seconds bccExtractTimeout{0};  // BccExtractTimeout: one message's parse
  std::string tlsCiphers;                     // TlsCiphers: OpenSSL list (TLS <= 1.2)
  std::string tlsMinVersion;                  // TlsMinVersion: 1.2|1.3
  // SMTP mode (sink/smtp, sink/hold): an after-queue content filter that holds each message
  // until its verdict, then passes, tags or quarantines it.
  std::string smtpSocket;                     // SmtpSocket ('' = SMTP mode off)
  std::string smtpSenderRelay;                // SmtpSenderRelay: HOST:PORT or unix:PATH
  std::vector<Cidr> smtpAllowedClients;       // SmtpAllowedClients, never empty
  std::string smtpActionClean;                // SmtpActionClean: pass|tag|quarantine|discard
  std::string smtpActionSuspicious;           // SmtpActionSuspicious
  std::string smtpActionDangerous;            // SmtpActionDangerous
  std::string smtpActionUnscanned;            // SmtpActionUnscanned
  std::string smtpTagSubject;                 // SmtpTagSubject ('' = Subject unchanged)
  bool smtpHoldUnknown = true;                // SmtpHoldUnknown
  std::chrono::seconds smtpMaxHold{0};        // SmtpMaxHold
  std::string smtpHoldTimeoutAction;          // SmtpHoldTimeoutAction: pass|quarantine
  unsigned smtpQuarantineDays = 0;            // SmtpQuarantineDays, 0 = kept until deleted
  std::chrono::seconds smtpRelayRetryMax{0};  // SmtpRelayRetryMax: the longest back-off
  unsigned smtpRelayConnections = 0;          // SmtpRelayConnections: deliveries at once
  // The life of a copy (issue 17): retention, retro-alerts, the verdict's service level.
  std::chrono::seconds bccKeepClean{0};    // BccKeepClean: clean copies' content, 0 = forever
  std::chrono::seconds bccKeepFlagged{0};  // BccKeepFlagged: flagged copies' content
  std::chrono::seconds bccKeepRows{0};     // BccKeepRows: the rows, 0 = forever
  std::chrono::seconds bccRetroWindow{0};  // BccRetroWindow, 0 = no retro-alerts
  unsigned bccRecheckRate = 0;             // BccRecheckRate: files/s, 0 = no re-checks
  std::chrono::seconds bccVerdictSlo{0};   // BccVerdictSlo
  // Analysis (sandbox/): what is extracted, what is sent, how workers run.
  std::string vxcubeFileTypes;                    // VxcubeFileTypes ("default" = built-in list)
  std::uint64_t vxcubeMaxFileSize = 0;            // VxcubeMaxFileSize, bytes, 0 = no limit
  unsigned bccMaxNesting = 0;                     // BccMaxNesting: archives/messages in each other
  unsigned bccMaxMimeParts = 0;                   // BccMaxMimeParts
  std::uint64_t bccArchiveMaxMembers = 0;         // BccArchiveMaxMembers
  std::uint64_t bccArchiveMaxFileSize = 0;        // BccArchiveMaxFileSize, bytes per member
  std::uint64_t bccArchiveMaxUnpackedSize = 0;    // BccArchiveMaxUnpackedSize, bytes per archive
  double bccArchiveMaxRatio = 0;                  // BccArchiveMaxRatio, unpacked/packed
  std::vector<std::string> bccArchivePasswords;   // BccArchivePasswords
  std::uint64_t bccMaxUnpackedSize = 0;           // BccMaxUnpackedSize, bytes per message
  unsigned bccWorkers = 0;                        // BccWorkers
  std::chrono::seconds bccLeaseTime{0};           // BccLeaseTime
  unsigned bccMaxAttempts = 0;                    // BccMaxAttempts
  std::chrono::seconds bccAnalysisTimeout{0};     // BccAnalysisTimeout: a message's deadline
  std::chrono::seconds bccCleanVerdictMaxAge{0};  // BccCleanVerdictMaxAge, 0 = never expires
  std::string hashListFile;                       // HashListFile ('' = off)
  // Analyzers (sandbox/): YARA built in, clamd where installed, vxCube with a licence.
  bool useYara = true;                           // UseYara
  std::string yaraRules;                         // YaraRules ('' = the rules built into bccsink)
  bool useClamd = false;                         // UseClamd
  std::string clamdSocket;                       // ClamdSocket: unix:PATH or HOST:PORT
  std::chrono::seconds clamdTimeout{0};          // ClamdTimeout: one file, all included
  std::uint64_t clamdMaxStreamSize = 0;          // ClamdMaxStreamSize, bytes, 0 = no limit
  unsigned clamdMaxConcurrent = 0;               // ClamdMaxConcurrent
  bool useVxcube = false;                        // UseVxcube
  std::string vxcubeApiAddress;                  // VxcubeApiAddress: host or full base URL
  std::string vxcubeApiKey;                      // VxcubeApiKey (secret), or VxcubeApiKeyFile's
  std::string vxcubeApiKeyFile;                  // VxcubeApiKeyFile ('' = none)
  std::vector<std::string> vxcubePlatforms;      // VxcubePlatforms
  std::chrono::seconds vxcubeAnalysisTime{0};    // VxcubeAnalysisTime, 0 = server default
  std::chrono::seconds vxcubePollInterval{0};    // VxcubePollInterval
  std::chrono::seconds vxcubeTimeout{0};         // VxcubeTimeout: one file's analysis
  std::chrono::seconds vxcubeRequestTimeout{0};  // VxcubeRequestTimeout: one HTTP call
  unsigned vxcubeMaxConcurrent = 0;              // VxcubeMaxConcurrent: files in analysis
  unsigned vxcubeMaxConnections = 0;             // VxcubeMaxConnections: HTTP calls at once
  unsigned vxcubeSuspiciousThreshold = 0;        // VxcubeSuspiciousThreshold, 0-100
  unsigned vxcubeDangerousThreshold = 0;         // VxcubeDangerousThreshold, 0-100
  std::string vxcubeCaFile;                      // VxcubeCaFile ('' = the system's CAs)
  bool vxcubeVerifyTls = true;                   // VxcubeVerifyTls
  // Reports (report/): when, to whom, how; the spoofed-internal check.
  std::string bccReportThreshold;                      // BccReportThreshold: suspicious|dangerous
  std::chrono::seconds bccReportDigestInterval{0};     // BccReportDigestInterval, 0 = per message
  std::chrono::seconds bccReportGroupWindow{0};        // BccReportGroupWindow, 0 = no grouping
  std::string bccSmtpServer;                           // BccSmtpServer ('' = BccReportMaildir)
  std::string bccReporterAddress;                      // BccReporterAddress
  std::string bccReporterPassword;                     // BccReporterPassword (secret)
  std::string bccReporterPasswordFile;                 // BccReporterPasswordFile ('' = none)
  std::vector<std::string> bccReportRecipientAddress;  // BccReportRecipientAddress
  std::string bccSmtpTls;                              // BccSmtpTls: auto|required|no
  std::string bccSmtpCaFile;                           // BccSmtpCaFile ('' = the system's)
  bool bccSmtpVerifyTls = true;                        // BccSmtpVerifyTls
  std::chrono::seconds bccSmtpTimeout{0};              // BccSmtpTimeout: each reply
  std::string bccReportMaildir;                        // BccReportMaildir ('' = DataDir/reports)
  std::string bccReportTemplates;                      // BccReportTemplates ('' = built in)
  std::vector<std::string> internalDomains;            // InternalDomains, lower-cased
  std::vector<Cidr> trustedRelays;                     // TrustedRelays
  std::string trustedRelaysFile;                       // TrustedRelaysFile ('' = none)
  // Statistics and the HTTP port (report/): /metrics, the JSON API, the dashboard.
  std::chrono::seconds statsInterval{0};  // StatsInterval
  std::string statsExportUrl;             // StatsExportUrl ('' = no export)
  std::string statsExportCaFile;          // StatsExportCaFile ('' = the system's CAs)
  std::string httpSocket;                 // HttpSocket ('' = no HTTP port)
  std::string httpToken;                  // HttpToken (secret; '' = JSON API off), >= 32
  std::string httpTokenFile;              // HttpTokenFile ('' = none)
  std::string httpTlsCertificate;         // HttpTlsCertificate ('' = plain HTTP)
  std::string httpTlsKey;                 // HttpTlsKey (with HttpTlsCertificate)
  std::string dataDir;                    // DataDir
  std::string databaseUrl;                // DatabaseUrl ('' = sqlite: DataDir/bccsink.db)
  std::string databasePasswordFile;       // DatabasePasswordFile ('' = none)
  std::string logLevel;                   // LogLevel
  // Not options: what loadConfig found worth saying (a file holding a secret that others
  // can read); serve logs them at start, check-config prints them.
  std::vector<std::string> warnings;

  std::string spoolDir() const { return dataDir + "/spool"; }
  std::string reportMaildir() const {
    return bccReportMaildir.empty() ? dataDir + "/reports" : bccReportMaildir;
  }
  std::string effectiveDatabaseUrl() const {
    return databaseUrl.empty() ? "sqlite:" + dataDir + "/bccsink.db" : databaseUrl;
  }
};

// A configuration problem: names the option and, when it came from the file, the line.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct OptionInfo {
  std::string name;
  std::string defaultValue;
  std::string help;
  bool secret = false;
};

// The declared options, in the order the sample file and check-config show them.
const std::vector<OptionInfo>& configOptions();

// Loads the configuration: defaults, then the INI file (if `path` is not empty), then
// the `--Name value` pairs in `overrides` (later wins). Throws ConfigError.
Config loadConfig(const std::string& path, const std::vector<std::string>& overrides);

// The effective configuration as INI text, secrets masked.
std::string describeConfig(const std::string& path, const std::vector<std::string>& overrides);

// Parsers shared with the tests; each throws std::invalid_argument with a reason.
std::uint64_t parseSize(const std::string& text);             // "10M", "512k", "1G", "123"
std::chrono::seconds parseDuration(const std::string& text);  // "30s", "5m", "1h", "90"
bool parseBool(const std::string& text);                      // yes/no, true/false, on/off, 1/0
std::vector<std::string> splitList(const std::string& text);  // comma and/or space separated

}  // namespace bccsink
