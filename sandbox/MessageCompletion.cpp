#include "sandbox/MessageCompletion.h"

#include "base/Clock.h"
#include "sandbox/Scan.h"
#include "sandbox/analyzers/Verdict.h"
#include "sandbox/extract/Evasion.h"

namespace bccsink::sandbox {
namespace {

Verdict fromStored(const db::StoredVerdict& s) {
  Verdict v;
  parseVerdict(s.verdict, v.kind);
  v.analyzer = s.analyzer;
  v.score = s.score;
  v.threats = s.threats;
  v.reportUrl = s.reportUrl;
  v.taskId = s.taskId;
  v.reason = s.reason;
  return v;
}

}  // namespace

MessageCompletion messageCompletion(const std::string& msgId,
                                    const std::vector<db::MessageFile>& files,
                                    const std::vector<std::string>& analyzers,
                                    db::FileRepository& cache, const db::Freshness& freshness,
                                    std::int64_t now, std::int64_t deadlineMs,
                                    const std::string& errors) {
  MessageCompletion c;
  c.id = msgId;
  c.files = files.size();
  const bool late = now >= deadlineMs;
  bool open = false;
  VerdictKind overall = VerdictKind::Clean;
  std::size_t analysed = 0;
  bool evaded = false;  // a file a sender kept from analysis on purpose
  for (auto f : files) {
    if (f.verdict == "unscanned" && isEvasion(f.reason)) evaded = true;
    if (f.verdict.empty() && f.selected) {
      std::vector<Verdict> answers;
      std::string missing, notes;
      for (const auto& name : analyzers) {
        if (auto v = cache.freshVerdict(f.sha256, name, freshness, now)) {
          answers.push_back(fromStored(*v));
          if (v->verdict == "unscanned")
            notes += (notes.empty() ? "" : "; ") + v->analyzer + ": " + v->reason;
        } else {
          missing += (missing.empty() ? "" : ", ") + name;
        }
      }
      if (analyzers.empty()) {
        f.verdict = "unscanned";
        notes = "no analyzer is enabled";
      } else if (missing.empty()) {
        f.verdict = std::string(toString(fileVerdict(answers)));
      } else if (late) {
        auto partial = answers.empty() ? VerdictKind::Unscanned
                                       : worse(fileVerdict(answers), VerdictKind::Unscanned);
        f.verdict = std::string(toString(partial));
        notes += (notes.empty() ? "" : "; ") +
                 ("no answer from " + missing + " by the message's deadline (BccAnalysisTimeout)");
      } else {
        open = true;
        continue;
      }
      c.decided.push_back({f.position, f.verdict, notes});
    }
    if (!f.verdict.empty()) {
      VerdictKind k = VerdictKind::Unscanned;
      parseVerdict(f.verdict, k);
      overall = worse(overall, k);
      ++analysed;
    }
  }
  // What a sender controls and that kept bytes from analysis (an archive no password
  // opened, a limit hit, damage, an ambiguous structure) makes the message at least
  // suspicious, so that it is reported by default; an analyzer that is down does not.
  if (!open && !evaded) {
    std::size_t start = 0;
    while (start <= errors.size() && !evaded) {
      auto end = errors.find('\n', start);
      if (end == std::string::npos) end = errors.size();
      evaded = isEvasion(std::string_view(errors).substr(start, end - start));
      start = end + 1;
    }
  }
  if (evaded) overall = worse(overall, VerdictKind::Suspicious);
  c.complete = !open;
  c.verdict = std::string(toString(overall));
  c.analysed = analysed;
  return c;
}

std::string failedVerdict(const std::vector<db::MessageFile>& files) {
  VerdictKind worst = VerdictKind::Unscanned;
  for (const auto& f : files) {
    VerdictKind k;
    if (parseVerdict(f.verdict, k)) worst = worse(worst, k);
  }
  return std::string(toString(worst));
}

db::StoredVerdict toStored(const std::string& sha256, const std::string& analyzer,
                           const Verdict& v) {
  db::StoredVerdict s;
  s.sha256 = sha256;
  s.analyzer = analyzer;
  s.verdict = std::string(toString(v.kind));
  s.score = v.score;
  s.threats = v.threats;
  s.reportUrl = v.reportUrl;
  s.taskId = v.taskId;
  s.reason = v.reason;
  s.decidedAt = isoNow();
  s.decidedMs = nowMs();
  return s;
}

}  // namespace bccsink::sandbox
