#include "sink/ScanAsReport.h"

namespace bccsink {

report::Report scanAsReport(const sandbox::ScanReport& scan, const report::MessageHeaders& h,
                            const report::SpoofFinding& spoof) {
  using namespace report;
  using sandbox::VerdictKind;
  Report r;
  r.messageId = h.first("Message-ID");
  r.date = h.decoded("Date");
  r.subject = h.decoded("Subject");
  r.from = h.decoded("From");
  if (auto to = h.decoded("To"); !to.empty()) r.to = {to};
  if (auto cc = h.decoded("Cc"); !cc.empty()) r.cc = {cc};
  r.verdict = std::string(toString(scan.verdict));
  r.spoof = spoof;
  r.errors = scan.errors;
  for (const auto& s : scan.files) {
    const auto& f = s.file;
    ReportFile rf;
    rf.name = f.name;
    rf.path = f.path();
    rf.size = static_cast<std::int64_t>(f.size);
    rf.md5 = f.md5;
    rf.sha256 = f.sha256;
    rf.trueType = f.type.mimeType;
    rf.description = f.type.description;
    rf.family = f.type.family;
    rf.extension = f.extension;
    rf.extensionMismatch = f.extensionMismatch;
    rf.selected = f.selected;
    if (s.analysed || f.unreadable) rf.verdict = std::string(toString(s.verdict));
    rf.reason = f.reason;
    rf.notKept = s.notKept;
    for (const auto& a : s.answers) {
      if (rf.reason.empty() && a.kind == VerdictKind::Unscanned)
        rf.reason = a.analyzer + ": " + a.reason;
      // A fresh answer: no decided_at (that is the verdict cache's).
      rf.answers.push_back({a.analyzer, std::string(toString(a.kind)), a.score, a.threats,
                            a.reportUrl, a.reason, ""});
    }
    r.files.push_back(std::move(rf));
  }
  return r;
}

}  // namespace bccsink
