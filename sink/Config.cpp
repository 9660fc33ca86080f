#include "sink/Config.h"

#include <Poco/Exception.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/URI.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "base/Text.h"
#include "db/DatabaseUrl.h"

namespace po = boost::program_options;

namespace bccsink {
namespace {

// StatsExportUrl: https://, or plain http:// to this host only: the host must be
// "localhost" or a loopback address exactly, not a name that merely starts like one
// ("http://127.evil.example/").
bool exportUrlAllowed(const std::string& url) {
  try {
    Poco::URI uri(url);
    if (uri.getHost().empty()) return false;
    if (uri.getScheme() == "https") return true;
    if (uri.getScheme() != "http") return false;
    if (uri.getHost() == "localhost") return true;
    Poco::Net::IPAddress address;
    return Poco::Net::IPAddress::tryParse(uri.getHost(), address) && address.isLoopback();
  } catch (const Poco::Exception&) {
    return false;
  }
}

struct Option {
  OptionInfo info;
  std::function<void(Config&, const std::string&)> apply;
};

std::string defaultHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || buf[0] == 0) return "localhost";
  return buf;
}

unsigned positive(const std::string& v, unsigned max) {
  auto n = parseSize(v);
  if (n == 0 || n > max) {
    throw std::invalid_argument("must be between 1 and " + std::to_string(max));
  }
  return static_cast<unsigned>(n);
}

unsigned percent(const std::string& v) {
  auto n = parseSize(v);
  if (n > 100) throw std::invalid_argument("must be between 0 and 100");
  return static_cast<unsigned>(n);
}

const std::string kActions = "pass, tag, quarantine or discard";

std::string smtpAction(const std::string& v) {
  if (v != "pass" && v != "tag" && v != "quarantine" && v != "discard")
    throw std::invalid_argument("must be " + kActions);
  return v;
}

// HOST:PORT, [IPv6]:PORT or unix:/path (what report::SmtpClient connects to).
void checkRelayAddress(const std::string& v) {
  if (v.rfind("unix:", 0) == 0) {
    if (v.size() == 5 || v[5] != '/') throw std::invalid_argument("unix: needs an absolute path");
    return;
  }
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::invalid_argument("must be HOST:PORT, [IPv6]:PORT or unix:/path");
  const std::string port = v.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) == 0 ||
      std::stoul(port) > 65535)
    throw std::invalid_argument("must end in a port from 1 to 65535");
}

// A retention period: a duration ("7d", "12h") up to 100 years, or 0 (forever, never).
std::chrono::seconds parseKeep(const std::string& v) {
  static const std::regex re(R"(^\s*([0-9]+)\s*([smhd]?)\s*$)");
  std::smatch m;
  if (!std::regex_match(v, m, re)) {
    throw std::invalid_argument("not a duration (examples: 7d, 12h, 0 for never)");
  }
  if (m[1].str().size() > 9) throw std::invalid_argument("out of range");
  long long n = std::stoll(m[1].str());
  char unit = m[2].str().empty() ? 's' : m[2].str()[0];
  long long mult = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 1;
  if (n > 36500LL * 86400 / mult) throw std::invalid_argument("more than 100 years");
  return std::chrono::seconds(n * mult);
}

std::chrono::seconds nonZero(std::chrono::seconds d) {
  if (d.count() == 0) throw std::invalid_argument("must be more than 0");
  return d;
}

// The schema: every option once, with its default and what it does.
const std::vector<Option>& schema() {
  static const std::vector<Option> options = {
      {{"BccSocket", "127.0.0.1:2525",
        "Where the SMTP listener binds: HOST:PORT ([::1]:PORT for IPv6) or unix:PATH."},
       [](Config& c, const std::string& v) {
         if (v.empty()) throw std::invalid_argument("must not be empty");
         c.bccSocket = v;
       }},
      {{"BccDomains", "bcc.test",
        "Domains (bcc.example.com) or addresses (watch@bcc.example.com) whose copies are "
        "accepted; RCPT for anything else gets 550 5.1.1. Comma or space separated."},
       [](Config& c, const std::string& v) {
         c.bccDomains.clear();
         for (auto& d : splitList(v)) c.bccDomains.push_back(lower(d));
         if (c.bccDomains.empty()) throw std::invalid_argument("needs at least one domain");
       }},
      {{"BccAllowedClients", "",
        "CIDR list of clients allowed to connect (IPv4 and IPv6); empty = any. Others get "
        "554 at connect."},
       [](Config& c, const std::string& v) {
         c.bccAllowedClients.clear();
         for (auto& n : splitList(v)) c.bccAllowedClients.push_back(Cidr::parse(n));
       }},
      {{"BccMaxMessageSize", "50M", "Largest message accepted (SIZE= and during DATA): 552."},
       [](Config& c, const std::string& v) {
         c.bccMaxMessageSize = parseSize(v);
         if (c.bccMaxMessageSize == 0) throw std::invalid_argument("must be above 0");
       }},
      {{"BccMaxConnections", "100",
        "Concurrent SMTP connections; one more gets 421 4.3.2 (Postfix retries later)."},
       [](Config& c, const std::string& v) {
         auto n = parseSize(v);
         if (n == 0 || n > 10000) throw std::invalid_argument("must be between 1 and 10000");
         c.bccMaxConnections = static_cast<unsigned>(n);
       }},
      {{"BccMaxRecipients", "1000", "Recipients per message; one more gets 452 4.5.3."},
       [](Config& c, const std::string& v) {
         auto n = parseSize(v);
         if (n == 0 || n > 100000) throw std::invalid_argument("must be between 1 and 100000");
         c.bccMaxRecipients = static_cast<unsigned>(n);
       }},
      {{"BccMaxLineLength", "64k",
        "Longest line, CRLF included. RFC 5321 says 1000, but real senders exceed it and a "
        "monitor wants the copy. Longer commands get 500 5.5.2, longer message lines 552."},
       [](Config& c, const std::string& v) {
         auto n = parseSize(v);
         if (n < 1000 || n > (16u << 20)) {
           throw std::invalid_argument("must be between 1000 and 16M");
         }
         c.bccMaxLineLength = static_cast<std::size_t>(n);
       }},
      {{"BccCommandTimeout", "5m",
        "How long a client may be silent between commands (RFC 5321 4.5.3.2: 5 minutes)."},
       [](Config& c, const std::string& v) { c.bccCommandTimeout = parseDuration(v); }},
      {{"BccDataTimeout", "3m", "How long a client may be silent while sending DATA."},
       [](Config& c, const std::string& v) { c.bccDataTimeout = parseDuration(v); }},
      {{"BccMaxConnectionsPerIp", "20",
        "Concurrent SMTP connections from one client address (an IPv6 client by its /64); "
        "one more gets 421 4.7.0 and is closed. Postfix opens at most 20 to one destination "
        "(default_destination_concurrency_limit)."},
       [](Config& c, const std::string& v) { c.bccMaxConnectionsPerIp = positive(v, 10000); }},
      {{"BccSessionTimeout", "30m",
        "Longest SMTP session, however busy: then 421 4.4.2 and the connection is closed (a "
        "message being received is refused with 451 first; the MTA sends it again)."},
       [](Config& c, const std::string& v) { c.bccSessionTimeout = nonZero(parseDuration(v)); }},
      {{"BccMinDataRate", "500",
        "Slowest a client may send, in bytes/s averaged over a command line or a message's "
        "DATA, after the first BccMinDataRate bytes' worth of grace (10 s); slower gets "
        "421 4.4.2. 0 = no minimum. Postfix's smtpd_min_data_rate is 500."},
       [](Config& c, const std::string& v) { c.bccMinDataRate = parseSize(v); }},
      {{"BccSendTimeout", "2m",
        "How long a reply may wait for a client that does not read it; then the connection "
        "is closed."},
       [](Config& c, const std::string& v) { c.bccSendTimeout = nonZero(parseDuration(v)); }},
      {{"BccReservedConnections", "10",
        "Of BccMaxConnections, the last ones kept for BccAllowedClients (a client outside "
        "never takes them), at most BccMaxConnections - 1; ignored when BccAllowedClients is "
        "empty. A refused client is "
        "answered 554 and closed at once."},
       [](Config& c, const std::string& v) {
         auto n = parseSize(v);
         if (n > 10000) throw std::invalid_argument("must be between 0 and 10000");
         c.bccReservedConnections = static_cast<unsigned>(n);
       }},
      {{"BccHostname", "", "Name in the greeting and Received header; '' = this host's name."},
       [](Config& c, const std::string& v) { c.bccHostname = v.empty() ? defaultHostname() : v; }},
      {{"SinkName", "",
        "This sink's name among the sinks sharing one database: its messages' `sink`, the "
        "owner of its work; unique per sink; '' = BccHostname (by default this host's "
        "name), the name rows had before SinkName existed."},
       [](Config& c, const std::string& v) {
         // Stored in every row: PostgreSQL takes UTF-8 text only.
         if (v.size() > 64 || hasControl(v) || !isValidUtf8(v))
           throw std::invalid_argument(
               "at most 64 bytes of UTF-8, none of them control characters");
         c.sinkName = v;
       }},
      {{"BccTlsCertificate", "", "PEM certificate (chain) for STARTTLS; '' = no STARTTLS."},
       [](Config& c, const std::string& v) { c.bccTlsCertificate = v; }},
      {{"BccTlsKey", "", "PEM private key for BccTlsCertificate.", true},
       [](Config& c, const std::string& v) { c.bccTlsKey = v; }},
      {{"BccMinFreeSpace", "100M",
        "Free space the spool's file system keeps, plus 8 MiB for SQLite's WAL: looked at at "
        "MAIL (with the announced SIZE), again at DATA, every MiB received and before the "
        "durable write; short of it new mail gets 452 4.3.1 and the MTA retries."},
       [](Config& c, const std::string& v) { c.bccMinFreeSpace = parseSize(v); }},
      {{"BccMaxPending", "100000",
        "Most messages waiting for analysis (pending or analyzing); above it new mail gets 452 "
        "4.3.1. 0 = no limit."},
       [](Config& c, const std::string& v) { c.bccMaxPending = parseSize(v); }},
      {{"BccSpoolSegmentSize", "64M",
        "Size of a spool segment: messages up to 1M are appended to the current segment file, "
        "many per disk flush, and the next segment is written full of zeros ahead of use; a "
        "batch that would pass this size starts the next one. Between 1M and 16G."},
       [](Config& c, const std::string& v) {
         auto n = parseSize(v);
         if (n < (1ull << 20) || n > (16ull << 30)) {
           throw std::invalid_argument("must be between 1M and 16G");
         }
         c.bccSpoolSegmentSize = n;
       }},
      {{"SmtpSocket", "",
        "SMTP mode: where the content-filter listener binds (HOST:PORT or unix:PATH), e.g. "
        "127.0.0.1:10025 for Postfix's content_filter; each message is held until its "
        "verdict, then passed, tagged or quarantined; '' = off (BCC mode only)."},
       [](Config& c, const std::string& v) { c.smtpSocket = v; }},
      {{"SmtpSenderRelay", "",
        "SMTP mode: where passed messages are re-injected (HOST:PORT or unix:PATH), e.g. "
        "Postfix's return smtpd on 127.0.0.1:10026 without the content filter."},
       [](Config& c, const std::string& v) {
         if (!v.empty()) checkRelayAddress(v);
         c.smtpSenderRelay = v;
       }},
      {{"SmtpAllowedClients", "127.0.0.0/8 ::1",
        "SMTP mode: CIDR list of the MTAs that may hand messages to SmtpSocket; others get "
        "554. Never empty: SMTP mode re-injects what it takes, an open listener would relay."},
       [](Config& c, const std::string& v) {
         c.smtpAllowedClients.clear();
         for (auto& n : splitList(v)) c.smtpAllowedClients.push_back(Cidr::parse(n));
         if (c.smtpAllowedClients.empty())
           throw std::invalid_argument("needs at least one network (127.0.0.0/8 for Postfix)");
       }},
      {{"SmtpActionClean", "pass", "SMTP mode: what a clean message gets: " + kActions + "."},
       [](Config& c, const std::string& v) { c.smtpActionClean = smtpAction(v); }},
      {{"SmtpActionSuspicious", "tag",
        "SMTP mode: what a suspicious message gets (an evasion finding counts as suspicious): " +
            kActions + "."},
       [](Config& c, const std::string& v) { c.smtpActionSuspicious = smtpAction(v); }},
      {{"SmtpActionDangerous", "quarantine",
        "SMTP mode: what a dangerous message gets: " + kActions + "."},
       [](Config& c, const std::string& v) { c.smtpActionDangerous = smtpAction(v); }},
      {{"SmtpActionUnscanned", "pass",
        "SMTP mode: what a message gets whose files could not be analysed (analyzer "
        "unreachable): " +
            kActions + "."},
       [](Config& c, const std::string& v) { c.smtpActionUnscanned = smtpAction(v); }},
      {{"SmtpTagSubject", "[suspicious]",
        "SMTP mode, action tag: the prefix put before the Subject (an X-Bccsink-Verdict "
        "header says why); '' = Subject unchanged."},
       [](Config& c, const std::string& v) {
         if (hasControl(v) || v.size() > 100)
           throw std::invalid_argument("must be one line of at most 100 characters");
         c.smtpTagSubject = v;
       }},
      {{"SmtpHoldUnknown", "yes",
        "SMTP mode: yes = hold a message while its unknown files are analysed; no = release "
        "it at once and analyse (and report) in the background, as in BCC mode."},
       [](Config& c, const std::string& v) { c.smtpHoldUnknown = parseBool(v); }},
      {{"SmtpMaxHold", "60m",
        "SMTP mode: the longest a message waits for its verdict; then SmtpHoldTimeoutAction."},
       [](Config& c, const std::string& v) { c.smtpMaxHold = nonZero(parseDuration(v)); }},
      {{"SmtpHoldTimeoutAction", "pass",
        "SMTP mode: what a message still without a verdict after SmtpMaxHold gets: pass "
        "(fail-open, as APT Blocker when its service is unreachable) or quarantine."},
       [](Config& c, const std::string& v) {
         if (v != "pass" && v != "quarantine")
           throw std::invalid_argument("must be pass or quarantine");
         c.smtpHoldTimeoutAction = v;
       }},
      {{"SmtpQuarantineDays", "30",
        "SMTP mode: days a quarantined or discarded message stays releasable; 0 = until "
        "`bccsink quarantine delete`."},
       [](Config& c, const std::string& v) {
         auto n = parseSize(v);
         if (n > 36500) throw std::invalid_argument("must be between 0 and 36500");
         c.smtpQuarantineDays = static_cast<unsigned>(n);
       }},
      {{"SmtpRelayRetryMax", "10m",
        "SMTP mode: the longest wait between two re-injection tries (the back-off starts at "
        "5s and doubles); a relay that answers 4xx or is down is tried until it takes the "
        "message."},
       [](Config& c, const std::string& v) { c.smtpRelayRetryMax = nonZero(parseDuration(v)); }},
      {{"SmtpRelayConnections", "8",
        "SMTP mode: re-injections at once, each over its own connection to SmtpSenderRelay "
        "(Postfix's smtpd syncs every message it queues: one at a time would be slow)."},
       [](Config& c, const std::string& v) {
         auto n = parseSize(v);
         if (n == 0 || n > 100) throw std::invalid_argument("must be between 1 and 100");
         c.smtpRelayConnections = static_cast<unsigned>(n);
       }},
      // The life of a copy (issue 17): retention, retro-alerts, the verdict's service level.
      {{"BccKeepClean", "7d",
        "How long the content (spool record or file, extracted files) of a clean copy is "
        "kept, and of an unscanned one once its report is done; then it is deleted in the "
        "background and the row stays. 0 = kept forever."},
       [](Config& c, const std::string& v) { c.bccKeepClean = parseKeep(v); }},
      {{"BccKeepFlagged", "90d",
        "How long the content of a suspicious, dangerous, spoofed or failed copy is kept. "
        "0 = kept forever."},
       [](Config& c, const std::string& v) { c.bccKeepFlagged = parseKeep(v); }},
      {{"BccKeepRows", "365d",
        "How long a copy's row (envelope, verdicts, report) is kept; statistics already "
        "computed stay. 0 = kept forever."},
       [](Config& c, const std::string& v) { c.bccKeepRows = parseKeep(v); }},
      {{"BccRetroWindow", "30d",
        "When a file's verdict turns worse later (late sandbox answer, new YARA rules, new "
        "clamd signatures, a hash list entry), the copies that carried it within this window "
        "are judged again and a retro report goes out. 0 = no retro-alerts."},
       [](Config& c, const std::string& v) { c.bccRetroWindow = parseKeep(v); }},
      {{"BccRecheckRate", "50",
        "Files a second scanned again after a YARA reload or a clamd signature update (the "
        "kept files of BccRetroWindow, newest first). 0 = no re-checks."},
       [](Config& c, const std::string& v) {
         auto n = parseSize(v);
         if (n > 100000) throw std::invalid_argument("must be between 0 and 100000");
         c.bccRecheckRate = static_cast<unsigned>(n);
       }},
      {{"BccVerdictSlo", "15m",
        "The service level of a verdict: copies are to be checked within this of their 250. "
        "The share that were, over the last hour, is on /metrics and the dashboard; under "
        "99 % is logged."},
       [](Config& c, const std::string& v) { c.bccVerdictSlo = nonZero(parseDuration(v)); }},
      {{"VxcubeFileTypes", "default",
        "What is sent for analysis: true-type families (pe elf macho msi ole-office ooxml "
        "ooxml-macro pdf rtf script lnk disk-image archive html image text other) and "
        "extensions written with a dot (.js); 'default' is the built-in list of what mail "
        "attackers send and may be combined with more entries."},
       [](Config& c, const std::string& v) {
         if (splitList(v).empty()) throw std::invalid_argument("must not be empty");
         c.vxcubeFileTypes = v;
       }},
      {{"VxcubeMaxFileSize", "100M", "Largest file sent for analysis; 0 = no limit."},
       [](Config& c, const std::string& v) { c.vxcubeMaxFileSize = parseSize(v); }},
      {{"BccMaxNesting", "10",
        "Archives and attached messages inside each other, and MIME multipart depth times two; "
        "deeper contents are unscanned with the reason."},
       [](Config& c, const std::string& v) { c.bccMaxNesting = positive(v, 1000); }},
      {{"BccMaxMimeParts", "10000", "MIME parts read in one message."},
       [](Config& c, const std::string& v) { c.bccMaxMimeParts = positive(v, 1000000); }},
      {{"BccArchiveMaxMembers", "10000", "Members read from one archive."},
       [](Config& c, const std::string& v) { c.bccArchiveMaxMembers = positive(v, 100000000); }},
      {{"BccArchiveMaxFileSize", "100M", "Largest archive member unpacked; larger: unscanned."},
       [](Config& c, const std::string& v) { c.bccArchiveMaxFileSize = parseSize(v); }},
      {{"BccArchiveMaxUnpackedSize", "500M", "Bytes unpacked from one archive."},
       [](Config& c, const std::string& v) { c.bccArchiveMaxUnpackedSize = parseSize(v); }},
      {{"BccArchiveMaxRatio", "100",
        "Unpacked/packed size above which unpacking stops (zip bombs)."},
       [](Config& c, const std::string& v) {
         double r = 0;
         try {
           std::size_t used = 0;
           r = std::stod(v, &used);
           if (used != v.size()) throw std::invalid_argument("");
         } catch (...) {
           throw std::invalid_argument("must be a number");
         }
         if (!(r >= 1)) throw std::invalid_argument("must be at least 1");
         c.bccArchiveMaxRatio = r;
       }},
      {{"BccArchivePasswords", "",
        "Passwords tried on encrypted zip, 7z and rar archives, separated by spaces or commas, "
        "after the words the message itself offers (\"password: 1234\" in its body or "
        "subject, at most 20). An archive none opens is unscanned, and the message suspicious."},
       [](Config& c, const std::string& v) { c.bccArchivePasswords = splitList(v); }},
      {{"BccMaxUnpackedSize", "1G", "Decoded bytes of all files of one message."},
       [](Config& c, const std::string& v) { c.bccMaxUnpackedSize = parseSize(v); }},
      {{"BccMaxStoredPerMessage", "200M",
        "Bytes of extracted files one message may add to DataDir/files: the larger of this "
        "and 10 times the message's size. Files past it are analysed from memory and not "
        "kept; the report says which."},
       [](Config& c, const std::string& v) {
         c.bccMaxStoredPerMessage = parseSize(v);
         if (c.bccMaxStoredPerMessage == 0) throw std::invalid_argument("must be above 0");
       }},
      {{"BccExtractIsolation", "yes",
        "Parse messages (MIME, archives, containers, file types) in forked worker processes "
        "that have only the message and a pipe, under a seccomp filter (no open, no socket, "
        "no exec). 'no' parses inside the daemon (for comparison only)."},
       [](Config& c, const std::string& v) { c.bccExtractIsolation = parseBool(v); }},
      {{"BccExtractWorkers", "2",
        "Parser processes (BccExtractIsolation); a crashed one is started again, its message "
        "is unscanned (\"evasion: parser crashed\")."},
       [](Config& c, const std::string& v) { c.bccExtractWorkers = positive(v, 256); }},
      {{"BccExtractWorkerMessages", "100",
        "Messages a parser process takes before it is replaced."},
       [](Config& c, const std::string& v) { c.bccExtractWorkerMessages = positive(v, 1000000); }},
      {{"BccExtractTimeout", "2m",
        "Most time one message's parse may take; a parser process past it is killed and the "
        "message is unscanned (\"evasion: parser timed out\")."},
       [](Config& c, const std::string& v) { c.bccExtractTimeout = nonZero(parseDuration(v)); }},
      {{"BccWorkers", "2", "Worker threads that extract and analyse messages."},
       [](Config& c, const std::string& v) { c.bccWorkers = positive(v, 256); }},
      {{"BccLeaseTime", "10m",
        "How long a worker holds a message before another may take it (a crashed worker's "
        "message returns to the queue after this)."},
       [](Config& c, const std::string& v) { c.bccLeaseTime = nonZero(parseDuration(v)); }},
      {{"BccMaxAttempts", "3",
        "Claims of one message before it goes to `failed` (a message that crashes workers)."},
       [](Config& c, const std::string& v) { c.bccMaxAttempts = positive(v, 1000); }},
      {{"BccAnalysisTimeout", "30m",
        "Most time from claim to `checked`; files without a verdict by then are unscanned."},
       [](Config& c, const std::string& v) { c.bccAnalysisTimeout = nonZero(parseDuration(v)); }},
      {{"BccCleanVerdictMaxAge", "7d",
        "A cached clean verdict older than this is asked again (new signatures); 0 = never."},
       [](Config& c, const std::string& v) { c.bccCleanVerdictMaxAge = parseKeep(v); }},
      {{"HashListFile", "",
        "Local hash list: lines of '<sha256 or md5> <suspicious|dangerous> [threat name]'; "
        "'' = off."},
       [](Config& c, const std::string& v) { c.hashListFile = v; }},
      {{"UseYara", "yes",
        "Scan selected files with the YARA rules built into bccsink (or those of YaraRules)."},
       [](Config& c, const std::string& v) { c.useYara = parseBool(v); }},
      {{"YaraRules", "",
        "Folder of *.yar files to use instead of the built-in rules (etc/rules); a rule's meta "
        "verdict = \"suspicious\" or \"dangerous\" sets the verdict. Reloaded on SIGHUP."},
       [](Config& c, const std::string& v) { c.yaraRules = v; }},
      {{"UseClamd", "no", "Scan selected files with ClamAV's clamd (INSTREAM)."},
       [](Config& c, const std::string& v) { c.useClamd = parseBool(v); }},
      {{"ClamdSocket", "unix:/run/clamav/clamd.ctl",
        "clamd's LocalSocket (unix:PATH) or TCPSocket (HOST:PORT)."},
       [](Config& c, const std::string& v) {
         if (v.empty()) throw std::invalid_argument("must not be empty");
         c.clamdSocket = v;
       }},
      {{"ClamdTimeout", "130s",
        "Most time for one file, connecting and clamd's scan included (above clamd's "
        "MaxScanTime, 120 s on Debian); then the file is retried until its deadline."},
       [](Config& c, const std::string& v) { c.clamdTimeout = nonZero(parseDuration(v)); }},
      {{"ClamdMaxStreamSize", "25M",
        "Larger files are unscanned by clamd without being sent; keep it at or below clamd's "
        "StreamMaxLength and MaxFileSize (25M on Debian: clamd calls a file over its own "
        "limits clean). 0 = no limit of ours."},
       [](Config& c, const std::string& v) { c.clamdMaxStreamSize = parseSize(v); }},
      {{"ClamdMaxConcurrent", "4", "Files sent to clamd at once."},
       [](Config& c, const std::string& v) { c.clamdMaxConcurrent = positive(v, 256); }},
      {{"UseVxcube", "no",
        "Send selected files to a Dr.Web vxCube sandbox (VxcubeApiAddress, VxcubeApiKey)."},
       [](Config& c, const std::string& v) { c.useVxcube = parseBool(v); }},
      {{"VxcubeApiAddress", "",
        "vxCube's host (https://HOST/api-2.0/) or a full base URL, e.g. "
        "http://127.0.0.1:8081/api-2.0/ for the emulator."},
       [](Config& c, const std::string& v) { c.vxcubeApiAddress = v; }},
      {{"VxcubeApiKey", "", "The API key (Authorization: api-key KEY); never logged.", true},
       [](Config& c, const std::string& v) { c.vxcubeApiKey = v; }},
      {{"VxcubeApiKeyFile", "",
        "A file whose content (trailing newline trimmed) is VxcubeApiKey; keeps the key out of "
        "this file and of `ps`. Give VxcubeApiKey or VxcubeApiKeyFile, not both."},
       [](Config& c, const std::string& v) { c.vxcubeApiKeyFile = v; }},
      {{"VxcubePlatforms", "win7x64 win10x64",
        "Platform codes to run samples on (those the sample supports); '' = every one it "
        "supports."},
       [](Config& c, const std::string& v) { c.vxcubePlatforms = splitList(v); }},
      {{"VxcubeAnalysisTime", "60s",
        "How long a sample runs in the sandbox; 0 = vxCube's default."},
       [](Config& c, const std::string& v) { c.vxcubeAnalysisTime = parseDuration(v); }},
      {{"VxcubePollInterval", "20s", "How often an analysis in progress is asked about."},
       [](Config& c, const std::string& v) { c.vxcubePollInterval = nonZero(parseDuration(v)); }},
      {{"VxcubeTimeout", "15m",
        "Most time one file's analysis may take (upload to the last task); then it is "
        "unscanned. `scan` honours it too."},
       [](Config& c, const std::string& v) { c.vxcubeTimeout = nonZero(parseDuration(v)); }},
      {{"VxcubeRequestTimeout", "30s", "Most time one HTTP call may take."},
       [](Config& c, const std::string& v) { c.vxcubeRequestTimeout = nonZero(parseDuration(v)); }},
      {{"VxcubeMaxConcurrent", "32",
        "Files in analysis at once (an analysis in progress costs no thread)."},
       [](Config& c, const std::string& v) { c.vxcubeMaxConcurrent = positive(v, 10000); }},
      {{"VxcubeMaxConnections", "8",
        "HTTP calls to vxCube at once (a thread each); what bounds throughput when each "
        "call is slow."},
       [](Config& c, const std::string& v) { c.vxcubeMaxConnections = positive(v, 256); }},
      {{"VxcubeSuspiciousThreshold", "50",
        "A task's maliciousness (0-100) from which the file is suspicious."},
       [](Config& c, const std::string& v) { c.vxcubeSuspiciousThreshold = percent(v); }},
      {{"VxcubeDangerousThreshold", "80",
        "A task's maliciousness (0-100) from which the file is dangerous."},
       [](Config& c, const std::string& v) { c.vxcubeDangerousThreshold = percent(v); }},
      {{"VxcubeCaFile", "",
        "PEM file of the CAs that may sign vxCube's certificate; '' = the "
        "system's."},
       [](Config& c, const std::string& v) { c.vxcubeCaFile = v; }},
      {{"VxcubeVerifyTls", "yes", "Check vxCube's certificate and host name (no only in a lab)."},
       [](Config& c, const std::string& v) { c.vxcubeVerifyTls = parseBool(v); }},
      {{"BccReportThreshold", "suspicious",
        "The verdict from which a message is reported: unscanned, suspicious or dangerous "
        "(unscanned also reports messages a file of which could not be analysed, e.g. while "
        "an analyzer is down). A message a sender kept something from analysis in (an "
        "archive no password opened, a limit hit) is suspicious. A spoofed or failed message "
        "is reported whatever its verdict."},
       [](Config& c, const std::string& v) {
         if (v != "unscanned" && v != "suspicious" && v != "dangerous") {
           throw std::invalid_argument("must be unscanned, suspicious or dangerous");
         }
         c.bccReportThreshold = v;
       }},
      {{"BccReportDigestInterval", "0",
        "0: one mail per message. Else one digest mail per interval (e.g. 1h) listing every "
        "message to report since the last."},
       [](Config& c, const std::string& v) {
         c.bccReportDigestInterval = v == "0" ? std::chrono::seconds(0) : parseDuration(v);
       }},
      {{"BccReportGroupWindow", "2m",
        "Reports of messages flagged by the same file(s) within this window go out as one "
        "report listing every message and recipient (a campaign to 300 users makes one "
        "mail, then a follow-up when more arrive). 0 = one report per message. No effect "
        "with BccReportDigestInterval (the digest batches already)."},
       [](Config& c, const std::string& v) { c.bccReportGroupWindow = parseKeep(v); }},
      {{"BccSmtpServer", "",
        "Where reports are sent: HOST:PORT, [IPv6]:PORT or unix:PATH; '' = written to "
        "BccReportMaildir instead."},
       [](Config& c, const std::string& v) { c.bccSmtpServer = v; }},
      {{"BccReporterAddress", "bccsink@localhost",
        "The reports' sender (From and MAIL FROM), and the AUTH user with BccReporterPassword."},
       [](Config& c, const std::string& v) {
         if (v.find('@') == std::string::npos) throw std::invalid_argument("must be an address");
         c.bccReporterAddress = v;
       }},
      {{"BccReporterPassword", "",
        "AUTH PLAIN/LOGIN password at BccSmtpServer; '' = no AUTH. Sent only over TLS, a "
        "unix socket or loopback.",
        true},
       [](Config& c, const std::string& v) { c.bccReporterPassword = v; }},
      {{"BccReporterPasswordFile", "",
        "A file whose content (trailing newline trimmed) is BccReporterPassword. Give "
        "BccReporterPassword or BccReporterPasswordFile, not both."},
       [](Config& c, const std::string& v) { c.bccReporterPasswordFile = v; }},
      {{"BccReportRecipientAddress", "postmaster@localhost",
        "Who gets the reports: addresses, comma or space separated."},
       [](Config& c, const std::string& v) {
         c.bccReportRecipientAddress = splitList(v);
         if (c.bccReportRecipientAddress.empty()) throw std::invalid_argument("must not be empty");
         for (const auto& a : c.bccReportRecipientAddress) {
           if (a.find('@') == std::string::npos)
             throw std::invalid_argument(a + " is not an address");
         }
       }},
      {{"BccSmtpTls", "auto", "STARTTLS to BccSmtpServer: auto (when offered), required, or no."},
       [](Config& c, const std::string& v) {
         if (v != "auto" && v != "required" && v != "no") {
           throw std::invalid_argument("must be auto, required or no");
         }
         c.bccSmtpTls = v;
       }},
      {{"BccSmtpCaFile", "", "PEM file of the CAs that may sign BccSmtpServer's certificate."},
       [](Config& c, const std::string& v) { c.bccSmtpCaFile = v; }},
      {{"BccSmtpVerifyTls", "yes", "Check BccSmtpServer's certificate and host name."},
       [](Config& c, const std::string& v) { c.bccSmtpVerifyTls = parseBool(v); }},
      {{"BccSmtpTimeout", "5m", "Most time BccSmtpServer may take for one reply."},
       [](Config& c, const std::string& v) { c.bccSmtpTimeout = nonZero(parseDuration(v)); }},
      {{"BccReportMaildir", "",
        "Maildir the reports are written to when BccSmtpServer is ''; '' = DataDir/reports."},
       [](Config& c, const std::string& v) { c.bccReportMaildir = v; }},
      {{"BccReportTemplates", "",
        "Folder of report templates (report.txt.mustache...) to use instead of the built-in "
        "ones; '' = built in."},
       [](Config& c, const std::string& v) { c.bccReportTemplates = v; }},
      {{"InternalDomains", "",
        "The site's own domains: a message whose sender and recipient share one of them and "
        "that passed an untrusted global hop is a spoof. '' = no spoof check."},
       [](Config& c, const std::string& v) {
         c.internalDomains.clear();
         for (auto& d : splitList(v)) c.internalDomains.push_back(lower(d));
       }},
      {{"TrustedRelays", "",
        "CIDR list (IPv4, IPv6) of global relays allowed to carry internal mail; private, "
        "loopback, link-local and CGNAT addresses are always trusted."},
       [](Config& c, const std::string& v) {
         c.trustedRelays.clear();
         for (auto& n : splitList(v)) c.trustedRelays.push_back(Cidr::parse(n));
       }},
      {{"TrustedRelaysFile", "",
        "A file of more TrustedRelays, one CIDR a line, # comments; read at start."},
       [](Config& c, const std::string& v) { c.trustedRelaysFile = v; }},
      {{"StatsInterval", "5m",
        "Length of one statistics interval; each is kept in the database and, with "
        "StatsExportUrl, sent."},
       [](Config& c, const std::string& v) { c.statsInterval = nonZero(parseDuration(v)); }},
      {{"StatsExportUrl", "",
        "https:// URL the statistics of each interval are POSTed to as JSON (file names only "
        "as MD5 or shape); '' = no export."},
       [](Config& c, const std::string& v) {
         if (!v.empty() && !exportUrlAllowed(v)) {
           throw std::invalid_argument("must be an https:// URL (plain http only to loopback)");
         }
         c.statsExportUrl = v;
       }},
      {{"StatsExportCaFile", "", "PEM file of the CAs that may sign the collector's certificate."},
       [](Config& c, const std::string& v) { c.statsExportCaFile = v; }},
      {{"HttpSocket", "127.0.0.1:8025",
        "Where /metrics, the JSON API and the dashboard listen: HOST:PORT; '' = no HTTP port."},
       [](Config& c, const std::string& v) { c.httpSocket = v; }},
      {{"HttpToken", "",
        "Bearer token of the JSON API (Authorization: Bearer TOKEN), at least 32 characters "
        "(openssl rand -hex 32); '' = API off (/metrics stays on).",
        true},
       [](Config& c, const std::string& v) { c.httpToken = v; }},
      {{"HttpTokenFile", "",
        "A file whose content (trailing newline trimmed) is HttpToken; keeps the token out of "
        "this file and of `ps`. Give HttpToken or HttpTokenFile, not both."},
       [](Config& c, const std::string& v) { c.httpTokenFile = v; }},
      {{"HttpTlsCertificate", "",
        "PEM certificate (chain) of the HTTP port: with HttpTlsKey it speaks HTTPS only "
        "(TLS 1.2+, ECDHE); '' = plain HTTP."},
       [](Config& c, const std::string& v) { c.httpTlsCertificate = v; }},
      {{"HttpTlsKey", "", "PEM private key of HttpTlsCertificate."},
       [](Config& c, const std::string& v) { c.httpTlsKey = v; }},
      {{"TlsCiphers", "ECDHE+AESGCM:ECDHE+CHACHA20",
        "OpenSSL cipher list of every TLS listener and client (STARTTLS, the HTTP port, "
        "reports, SMTP mode's relay, vxCube, the statistics export) up to TLS 1.2; TLS 1.3 "
        "suites are OpenSSL's (all forward secret)."},
       [](Config& c, const std::string& v) {
         if (v.empty() || hasControl(v)) throw std::invalid_argument("must be a cipher list");
         c.tlsCiphers = v;
       }},
      {{"TlsMinVersion", "1.2", "Oldest TLS version spoken anywhere: 1.2 or 1.3."},
       [](Config& c, const std::string& v) {
         if (v != "1.2" && v != "1.3") throw std::invalid_argument("must be 1.2 or 1.3");
         c.tlsMinVersion = v;
       }},
      {{"User", "bccsink",
        "Started as root, bccsink binds its ports, opens DataDir and its key files, then runs "
        "as this user (and its group), as Postfix does; '' = stays root (not advised). Not "
        "root: ignored."},
       [](Config& c, const std::string& v) {
         if (hasControl(v) || v.size() > 64) throw std::invalid_argument("must be a user name");
         c.user = v;
       }},
      {{"DataDir", "/var/lib/bccsink", "Spool and database folder."},
       [](Config& c, const std::string& v) {
         if (v.empty()) throw std::invalid_argument("must not be empty");
         c.dataDir = v;
       }},
      {{"DatabaseUrl", "",
        "sqlite:PATH, or postgresql://USER@HOST[:PORT]/DB[?sslmode=...] (several sinks on "
        "one database; postgresql://USER@/DB?host=/run/postgresql over the socket); '' = "
        "sqlite:DataDir/bccsink.db."},
       [](Config& c, const std::string& v) {
         if (!v.empty()) db::DatabaseUrl::parse(v);  // says what is wrong
         c.databaseUrl = v;
       }},
      {{"DatabasePasswordFile", "",
        "File holding the PostgreSQL password (one line); '' = none (trust, peer or "
        "~/.pgpass)."},
       [](Config& c, const std::string& v) { c.databasePasswordFile = v; }},
      {{"LogLevel", "information", "error, warning, notice, information, debug."},
       [](Config& c, const std::string& v) {
         static const std::vector<std::string> levels = {
             "fatal", "critical", "error", "warning", "notice", "information", "debug", "trace"};
         if (std::find(levels.begin(), levels.end(), v) == levels.end()) {
           throw std::invalid_argument("must be one of error, warning, notice, information, debug");
         }
         c.logLevel = v;
       }},
  };
  return options;
}

constexpr std::size_t kMinTokenLength = 32;

// A secret's file: its content, one trailing newline (LF or CRLF) trimmed.
std::string readSecretFile(const std::string& path, const std::string& option) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw ConfigError("option " + option + ": cannot read " + path + ": " + std::strerror(errno));
  }
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) throw ConfigError("option " + option + ": " + path + " is empty");
  return text;
}

// A warning when a file holding `what` can be read by others than bccsink's user. Group
// read is what the production set-up uses (0640 root:bccsink, the daemon reading through
// its group), so it is warned about only when the group is not the process's own.
std::optional<std::string> readableByOthers(const std::string& path, const std::string& what) {
  struct stat st {};
  if (path.empty() || stat(path.c_str(), &st) != 0) return std::nullopt;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  if (st.st_mode & S_IROTH) {
    return path + " holds " + what + " and is readable by every user (mode " + mode +
           "): chmod 0600 it (0640 with bccsink's group)";
  }
  bool groupIsOurs = st.st_gid == getegid() && st.st_uid != geteuid();
  if ((st.st_mode & S_IRGRP) && !groupIsOurs) {
    return path + " holds " + what + " and is readable by its group (mode " + mode + ", gid " +
           std::to_string(st.st_gid) + "): chmod 0600 it (0640 with bccsink's group)";
  }
  return std::nullopt;
}

// Finds the line of `name` in the file so that an error can point at it.
int lineOf(const std::string& path, const std::string& name) {
  if (path.empty()) return 0;
  std::ifstream in(path);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    auto eq = line.find('=', start);
    auto key = line.substr(start, eq == std::string::npos ? std::string::npos : eq - start);
    while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.pop_back();
    if (key == name) return n;
  }
  return 0;
}

std::string where(const std::string& path, const std::string& name, bool fromFile) {
  if (!fromFile || path.empty()) return "option " + name;
  int line = lineOf(path, name);
  return path + (line > 0 ? ":" + std::to_string(line) : "") + ": option " + name;
}

// Boost's parser echoes a line it cannot read whole ("VxcubeApiKey SECRET" shows the
// secret), so lines without '=' are refused here first, naming the line and its key only.
void checkLines(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto hash = line.find('#');  // as Boost reads it: a comment runs to the end of the line
    if (hash != std::string::npos) line.erase(hash);
    auto text = trim(line);
    if (text.empty() || text.front() == '[' || text.find('=') != std::string::npos) continue;
    auto key = text.substr(0, text.find_first_of(" \t"));
    throw ConfigError(path + ":" + std::to_string(n) + ": option " + std::string(key) +
                      ": no '=' on the line (write Name = value; the value is not shown)");
  }
}

po::options_description describe() {
  po::options_description desc("bccsink options");
  for (const auto& o : schema()) {
    desc.add_options()(o.info.name.c_str(), po::value<std::string>(), o.info.help.c_str());
  }
  return desc;
}

struct Loaded {
  std::map<std::string, std::string> values;  // effective value per option
  std::map<std::string, bool> fromFile;
};

Loaded gather(const std::string& path, const std::vector<std::string>& overrides) {
  auto desc = describe();
  po::variables_map cli, file;
  // An empty value (`--User ''`, `--User=`) is refused by Boost's parser; it is how an
  // option with a default is turned off, so it is taken here.
  std::map<std::string, bool> emptied;
  std::vector<std::string> args;
  for (std::size_t i = 0; i < overrides.size(); ++i) {
    const auto& a = overrides[i];
    std::string name;
    if (a.size() > 3 && a.rfind("--", 0) == 0 && a.back() == '=') {
      name = a.substr(2, a.size() - 3);
    } else if (a.size() > 2 && a.rfind("--", 0) == 0 && a.find('=') == std::string::npos &&
               i + 1 < overrides.size() && overrides[i + 1].empty()) {
      name = a.substr(2);
      ++i;
    } else {
      args.push_back(a);
      continue;
    }
    if (!desc.find_nothrow(name, false))
      throw ConfigError("command line: unrecognised option '--" + name + "'");
    emptied[name] = true;
  }
  try {
    auto parsed = po::command_line_parser(args).options(desc).run();
    po::store(parsed, cli);
  } catch (const po::error& e) {
    throw ConfigError(std::string("command line: ") + e.what());
  }
  if (!path.empty()) {
    std::ifstream in(path);
    if (!in) throw ConfigError(path + ": cannot read the configuration file");
    checkLines(path);
    try {
      po::store(po::parse_config_file(in, desc, false), file);
    } catch (const po::error_with_option_name& e) {
      std::string name = e.get_option_name();
      while (!name.empty() && name.front() == '-') name.erase(0, 1);
      throw ConfigError(where(path, name, true) + ": " + e.what());
    } catch (const po::error& e) {
      throw ConfigError(path + ": " + e.what());
    }
  }
  Loaded l;
  for (const auto& o : schema()) {
    const auto& n = o.info.name;
    if (emptied.count(n) && !cli.count(n)) {
      l.values[n] = "";
    } else if (cli.count(n)) {
      l.values[n] = cli[n].as<std::string>();
    } else if (file.count(n)) {
      l.values[n] = file[n].as<std::string>();
      l.fromFile[n] = true;
    } else {
      l.values[n] = o.info.defaultValue;
    }
  }
  return l;
}

}  // namespace

const std::vector<OptionInfo>& configOptions() {
  static const std::vector<OptionInfo> infos = [] {
    std::vector<OptionInfo> v;
    for (const auto& o : schema()) v.push_back(o.info);
    return v;
  }();
  return infos;
}

Config loadConfig(const std::string& path, const std::vector<std::string>& overrides) {
  auto loaded = gather(path, overrides);
  Config c;
  for (const auto& o : schema()) {
    const auto& n = o.info.name;
    try {
      o.apply(c, std::string(trim(loaded.values[n])));
    } catch (const std::exception& e) {
      // A refused DatabaseUrl may hold the password that made it refused.
      const bool echo = !o.info.secret && n != "DatabaseUrl";
      std::string shown = echo ? " '" + loaded.values[n] + "'" : "";
      throw ConfigError(where(path, n, loaded.fromFile[n]) + ": bad value" + shown + ": " +
                        e.what());
    }
  }
  // Secrets from their own files; the configuration file itself may hold them too, and
  // either is worth a warning when others can read it.
  std::vector<std::string> heldInFile;
  struct SecretSource {
    const char* name;
    const char* fileOption;
    std::string Config::*value;
    std::string Config::*file;
  };
  static const SecretSource sources[] = {
      {"HttpToken", "HttpTokenFile", &Config::httpToken, &Config::httpTokenFile},
      {"VxcubeApiKey", "VxcubeApiKeyFile", &Config::vxcubeApiKey, &Config::vxcubeApiKeyFile},
      {"BccReporterPassword", "BccReporterPasswordFile", &Config::bccReporterPassword,
       &Config::bccReporterPasswordFile},
  };
  for (const auto& src : sources) {
    if (!(c.*src.value).empty() && loaded.fromFile[src.name]) heldInFile.push_back(src.name);
    if ((c.*src.file).empty()) continue;
    if (!(c.*src.value).empty()) {
      throw ConfigError(std::string("options ") + src.name + " and " + src.fileOption +
                        ": give one or the other, not both");
    }
    c.*src.value = readSecretFile(c.*src.file, src.fileOption);
    if (auto w = readableByOthers(c.*src.file, src.name)) c.warnings.push_back(*w);
  }
  // Before SinkName, a sink's rows carried BccHostname: an upgraded sink keeps its queue.
  if (c.sinkName.empty()) c.sinkName = c.bccHostname;
  if (!c.databasePasswordFile.empty()) {
    if (c.databaseUrl.rfind("postgres", 0) != 0)
      throw ConfigError("option DatabasePasswordFile: only for a postgresql:// DatabaseUrl");
    const auto password = readSecretFile(c.databasePasswordFile, "DatabasePasswordFile");
    if (auto w = readableByOthers(c.databasePasswordFile, "DatabasePasswordFile"))
      c.warnings.push_back(*w);
    // libpq reads PGPASSWORD at every connect; the connection string cannot hold a
    // password with a space (db/POSTGRES.md). Set here, at start-up, before any thread.
    ::setenv("PGPASSWORD", password.c_str(), 1);
  }
  if (!heldInFile.empty()) {
    std::string names;
    for (const auto& n : heldInFile) names += (names.empty() ? "" : ", ") + n;
    if (auto w = readableByOthers(path, names)) c.warnings.push_back(*w);
  }
  if (!c.httpToken.empty() && c.httpToken.size() < kMinTokenLength) {
    throw ConfigError(
        std::string("option ") + (c.httpTokenFile.empty() ? "HttpToken" : "HttpTokenFile") +
        ": the token has " + std::to_string(c.httpToken.size()) + " characters, at least " +
        std::to_string(kMinTokenLength) + " are needed (e.g. openssl rand -hex 32)");
  }
  // Without an allow-list nothing is reserved (a small BccMaxConnections with the default
  // reservation is fine); the SMTP-mode listener keeps at most all but one slot for
  // SmtpAllowedClients.
  if (!c.bccAllowedClients.empty() && c.bccReservedConnections >= c.bccMaxConnections) {
    throw ConfigError("option BccReservedConnections: must be below BccMaxConnections (" +
                      std::to_string(c.bccMaxConnections) + ") when BccAllowedClients is set");
  }
  if (c.bccTlsCertificate.empty() != c.bccTlsKey.empty()) {
    throw ConfigError("options BccTlsCertificate and BccTlsKey: set both or neither");
  }
  if (!c.smtpSocket.empty() && c.smtpSenderRelay.empty()) {
    throw ConfigError(
        "option SmtpSenderRelay: SMTP mode (SmtpSocket) needs the relay that takes the "
        "messages back, e.g. 127.0.0.1:10026");
  }
  if (!c.smtpSocket.empty() && c.smtpSocket == c.bccSocket) {
    throw ConfigError("option SmtpSocket: must differ from BccSocket");
  }
  return c;
}

std::string describeConfig(const std::string& path, const std::vector<std::string>& overrides) {
  loadConfig(path, overrides);  // validates
  auto loaded = gather(path, overrides);
  std::ostringstream out;
  for (const auto& o : schema()) {
    std::string v = loaded.values[o.info.name];
    if (o.info.secret && !v.empty()) v = "********";
    out << o.info.name << " = " << v << "\n";
  }
  return out.str();
}

std::uint64_t parseSize(const std::string& text) {
  static const std::regex re(R"(^\s*([0-9]+)\s*([kKmMgG]?)[bB]?\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) {
    throw std::invalid_argument("not a number or size (examples: 100, 64k, 50M, 2G)");
  }
  std::uint64_t n = std::stoull(m[1].str());
  std::uint64_t mult = 1;
  switch (m[2].str().empty() ? ' ' : std::tolower(m[2].str()[0])) {
    case 'k':
      mult = 1ull << 10;
      break;
    case 'm':
      mult = 1ull << 20;
      break;
    case 'g':
      mult = 1ull << 30;
      break;
    default:
      break;
  }
  if (n > (~0ull) / mult) throw std::invalid_argument("too large");
  return n * mult;
}

std::chrono::seconds parseDuration(const std::string& text) {
  static const std::regex re(R"(^\s*([0-9]+)\s*([smhd]?)\s*$)");
  std::smatch m;
  if (!std::regex_match(text, m, re)) {
    throw std::invalid_argument("not a duration (examples: 30s, 5m, 1h)");
  }
  long long n = std::stoll(m[1].str());
  char unit = m[2].str().empty() ? 's' : m[2].str()[0];
  long long mult = unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 1;
  if (n <= 0 || n > 365LL * 86400 / mult) throw std::invalid_argument("out of range");
  return std::chrono::seconds(n * mult);
}

bool parseBool(const std::string& text) {
  auto t = lower(trim(text));
  if (t == "yes" || t == "true" || t == "on" || t == "1") return true;
  if (t == "no" || t == "false" || t == "off" || t == "0") return false;
  throw std::invalid_argument("not yes or no");
}

std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    if (ch == ',' || ch == ' ' || ch == '\t') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

}  // namespace bccsink
