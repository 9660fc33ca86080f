#pragma once
// One message's report as plain data (DESIGN.md, "Data flow": one report per message):
// who and what, the verdict, every file with each analyzer's answer, the spoof finding.
// Built from the database (ReportBuilder) or from `bccsink scan`; rendered by ReportJson
// and ReportMail. Every string is UTF-8 as decoded from the message, not yet escaped.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "report/spoof/SpoofCheck.h"

namespace bccsink::report {

struct AnalyzerAnswer {
  std::string analyzer;  // "yara", "clamd", "vxcube", ...
  std::string verdict;   // clean, suspicious, dangerous, unscanned
  int score = 0;
  std::vector<std::string> threats;
  std::string reportUrl;  // the analyzer's own report, '' when it has none
  std::string reason;     // why unscanned, '' otherwise
  std::string decidedAt;  // ISO 8601 UTC, when read back from the verdict cache; '' for a scan
};

struct ReportFile {
  std::string name;  // decoded file name
  std::string path;  // inside archives and attached messages: "invoice.zip > a.exe"
  std::int64_t size = 0;
  std::string md5, sha256;  // '' when the bytes could not be read
  std::string trueType, description, family;
  std::string extension;
  bool extensionMismatch = false;
  bool selected = false;
  std::string verdict;  // '' when not analysed
  std::string reason;   // why not selected, or why unscanned
  // Why its bytes were not kept in DataDir/files (analysed from memory), '' when kept.
  std::string notKept;
  std::vector<AnalyzerAnswer> answers;
};

// What SMTP mode did with the message (db/HoldQueue's row): held, then passed, tagged,
// quarantined or discarded; delivered through SmtpSenderRelay or refused by it.
struct HoldOutcome {
  std::string state;       // db::hold_state: holding, deliver, delivered, quarantined, ...
  std::string action;      // db::hold_action: pass, tag, quarantine, discard; '' while holding
  std::string why;         // what decided the action ("dangerous: Eicar-Test-Signature")
  int tries = 0;           // delivery tries that failed for now
  std::string lastError;   // the last try's failure, or the relay's refusal
  std::string relayReply;  // the relay's reply to the final dot once delivered
  std::string releasedBy;  // who released it from quarantine, '' when nobody
  std::string decidedAt, deliveredAt, releasedAt;  // ISO 8601 UTC, '' when not (yet)
};

struct Report {
  std::string id;  // the queue id; '' for `bccsink scan`
  std::string state;
  // The original message, from its headers (decoded).
  std::string messageId, date, subject, from;
  std::vector<std::string> to, cc;
  // The copy as it reached bccsink: the envelope and the client that sent it.
  std::string envelopeSender;
  std::vector<std::string> envelopeRecipients;
  // Whom the original was for, when the copy's recipients encode it (recipient_bcc_maps:
  // README "Original recipients"); empty when not known.
  std::vector<std::string> originalRecipients;
  std::string clientIp, helo;
  // Where the original came from: the first hop the site's MTA recorded.
  std::string originIp, originHelo;
  std::string receivedAt, checkedAt;  // ISO 8601 UTC
  std::string verdict;                // the worst of the files' (clean when none)
  SpoofFinding spoof;                 // read back from the queue: spoofed and reason only
  std::vector<ReportFile> files;
  std::vector<std::string> errors;  // what could not be read
  std::string failure;              // why the message failed, when it did
  std::optional<HoldOutcome> hold;  // SMTP mode only; a BCC copy has none
};

// Verdict order: clean < suspicious < dangerous; unscanned and '' rank below clean here
// (unscanned never hides a worse verdict, DESIGN.md "Verdicts").
int verdictRank(const std::string& verdict);

}  // namespace bccsink::report
