#include "report/ReportBuilder.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <map>
#include <sstream>

#include "db/FileRepository.h"
#include "db/HoldQueue.h"
#include "db/MessageFiles.h"

namespace bccsink::report {
namespace {

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

std::vector<std::string> nonEmpty(const std::string& value) {
  if (value.empty()) return {};
  return {value};
}

// ms since the epoch as ISO 8601 UTC (base/Clock's form); '' for 0, "not yet".
std::string isoOfMs(std::int64_t ms) {
  if (ms <= 0) return {};
  return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000), "%Y-%m-%dT%H:%M:%S.%iZ");
}

std::optional<HoldOutcome> holdOutcome(db::Database& db, const std::string& id) {
  auto h = db::HoldQueue(db).find(id);
  if (!h) return std::nullopt;
  HoldOutcome o;
  o.state = h->state;
  o.action = h->action;
  o.why = h->why;
  o.tries = h->tries;
  o.lastError = h->lastError;
  o.relayReply = h->relayReply;
  o.releasedBy = h->releasedBy;
  o.decidedAt = isoOfMs(h->decidedMs);
  o.deliveredAt = isoOfMs(h->deliveredMs);
  o.releasedAt = isoOfMs(h->releasedMs);
  return o;
}

}  // namespace

std::vector<std::string> originalRecipients(const db::MessageRecord& m) {
  std::vector<std::string> out;
  for (const auto& rcpt : m.recipients) {
    if (!rcpt.original.empty() && std::find(out.begin(), out.end(), rcpt.original) == out.end())
      out.push_back(rcpt.original);
  }
  return out;
}

Report buildReport(db::Database& db, const db::MessageRecord& m, const MessageHeaders& h) {
  Report r;
  r.id = m.id;
  r.state = m.state;
  r.messageId = h.first("Message-ID");
  if (r.messageId.empty()) r.messageId = m.headerMessageId;
  r.date = h.decoded("Date");
  r.subject = h.decoded("Subject");
  r.from = h.decoded("From");
  r.to = nonEmpty(h.decoded("To"));
  r.cc = nonEmpty(h.decoded("Cc"));
  r.envelopeSender = m.sender;
  for (const auto& rcpt : m.recipients) r.envelopeRecipients.push_back(rcpt.address);
  r.originalRecipients = originalRecipients(m);
  r.clientIp = m.clientIp;
  r.helo = m.helo;
  r.receivedAt = m.receivedAt;
  r.checkedAt = m.checkedAt;
  r.verdict = m.verdict.empty() ? "clean" : m.verdict;
  r.spoof.spoofed = m.spoofed;
  r.spoof.reason = m.spoofReason;
  r.errors = lines(m.errors);
  if (m.state == db::state::kFailed) r.failure = m.reason;
  if (!r.id.empty()) r.hold = holdOutcome(db, r.id);

  db::MessageFiles files(db);
  db::FileRepository cache(db);
  std::map<std::string, std::vector<db::StoredVerdict>> answers;  // by SHA-256
  for (const auto& f : files.list(m.id)) {
    ReportFile rf;
    rf.name = f.name;
    rf.path = f.path;
    rf.size = f.size;
    rf.md5 = f.md5;
    rf.sha256 = f.sha256;
    rf.trueType = f.trueType;
    rf.description = f.description;
    rf.family = f.family;
    rf.extension = f.extension;
    rf.extensionMismatch = f.extensionMismatch;
    rf.selected = f.selected;
    rf.verdict = f.verdict;
    rf.reason = f.reason;
    rf.notKept = f.notKept;
    if (f.selected && !f.sha256.empty()) {
      auto it = answers.find(f.sha256);
      if (it == answers.end()) it = answers.emplace(f.sha256, cache.verdicts(f.sha256)).first;
      for (const auto& v : it->second) {
        rf.answers.push_back(
            {v.analyzer, v.verdict, v.score, v.threats, v.reportUrl, v.reason, v.decidedAt});
      }
    }
    r.files.push_back(std::move(rf));
  }
  return r;
}

}  // namespace bccsink::report
