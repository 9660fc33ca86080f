#include "report/retro/RetroReport.h"

#include <algorithm>

#include "base/Text.h"

namespace bccsink::report {

std::string retroCauseText(const std::string& cause) {
  if (cause == db::retro_cause::kLateAnswer) return "a late sandbox answer";
  if (cause == db::retro_cause::kRulesReload) return "new YARA rules";
  if (cause == db::retro_cause::kSignatureUpdate) return "new clamd signatures";
  if (cause == db::retro_cause::kHashList) return "a hash list entry";
  return cause;
}

std::string fileNameOf(const std::string& path) {
  auto cut = path.rfind(" > ");
  return cut == std::string::npos ? path : path.substr(cut + 3);
}

std::string readableTime(const std::string& iso) {
  if (iso.size() < 16 || iso[10] != 'T') return iso;
  return iso.substr(0, 10) + " " + iso.substr(11, 5) + " UTC";
}

RetroReport buildRetroReport(const db::RetroAlert& a) {
  RetroReport r;
  r.alertId = a.id;
  r.sink = a.sink;
  r.sha256 = a.sha256;
  r.analyzer = a.analyzer;
  r.verdict = a.verdict;
  r.threats = a.threats;
  r.cause = a.cause;
  r.causeText = retroCauseText(a.cause);
  r.createdAt = a.createdAt;
  std::vector<std::string> earlier;
  for (const auto& m : a.messages) {
    RetroReportMessage x;
    x.id = m.msgId;
    x.sink = m.sink;
    x.receivedAt = m.receivedAt;
    x.sender = m.sender;
    x.originalRecipients = !m.originalRecipients.empty();
    x.recipients = x.originalRecipients ? m.originalRecipients : m.recipients;
    x.filePath = m.filePath;
    x.earlierVerdict = m.earlierVerdict;
    x.earlierCheckedAt = m.earlierCheckedAt;
    x.verdict = m.verdict;
    r.messages.push_back(std::move(x));
    if (std::find(earlier.begin(), earlier.end(), m.earlierVerdict) == earlier.end())
      earlier.push_back(m.earlierVerdict);
    if (r.earlierCheckedAt.empty() || m.earlierCheckedAt < r.earlierCheckedAt)
      r.earlierCheckedAt = m.earlierCheckedAt;
  }
  r.earlierVerdict = earlier.empty() ? "clean" : join(earlier, " or ");
  // The name the file had (the same one the API's list shows).
  std::string path = a.filePath;
  if (path.empty() && !a.messages.empty()) path = a.messages.front().filePath;
  r.fileName = fileNameOf(path);
  if (r.fileName.empty()) r.fileName = a.sha256.substr(0, 16);
  return r;
}

}  // namespace bccsink::report
