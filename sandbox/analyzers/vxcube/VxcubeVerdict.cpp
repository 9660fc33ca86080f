#include "sandbox/analyzers/vxcube/VxcubeVerdict.h"

#include <algorithm>

#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

// What one task says; unknown when it cannot say.
struct TaskVerdict {
  bool known = false;
  VerdictKind kind = VerdictKind::Clean;
};

TaskVerdict judge(const VxTask& t, const VxcubeSettings& s) {
  TaskVerdict out;
  if (t.status != "successful") return out;
  const auto& word = t.verdict;
  if (word.rfind("malware", 0) == 0) {
    out = {true, VerdictKind::Dangerous};
  } else if (word.rfind("suspicious", 0) == 0) {
    out = {true, VerdictKind::Suspicious};
  }
  if (t.maliciousness) {
    auto m = *t.maliciousness;
    auto byScore = m >= s.dangerousThreshold    ? VerdictKind::Dangerous
                   : m >= s.suspiciousThreshold ? VerdictKind::Suspicious
                                                : VerdictKind::Clean;
    out.kind = out.known ? worse(out.kind, byScore) : byScore;
    out.known = true;
  }
  return out;
}

}  // namespace

Verdict vxcubeVerdict(const std::vector<VxTask>& tasks, const VxcubeSettings& settings,
                      const std::function<std::string(const std::string&)>& reportUrl) {
  Verdict v;
  v.analyzer = "vxcube";
  v.kind = VerdictKind::Unscanned;
  if (tasks.empty()) {
    v.reason = "vxCube ran no task";
    return v;
  }
  std::vector<std::string> notes, failures;
  const VxTask* decider = nullptr;
  VerdictKind deciderKind = VerdictKind::Clean;
  bool anyKnown = false, anyUnknown = false;
  VerdictKind known = VerdictKind::Clean;
  for (const auto& t : tasks) {
    auto tv = judge(t, settings);
    auto kind = tv.known ? tv.kind : VerdictKind::Unscanned;
    std::string note = t.platform + " task " + t.id + ": ";
    if (tv.known) {
      anyKnown = true;
      known = worse(known, tv.kind);
      note += t.verdict.empty() ? std::string(toString(tv.kind)) : t.verdict;
      if (t.maliciousness) note += " " + std::to_string(*t.maliciousness);
    } else {
      anyUnknown = true;
      auto why = t.status == "successful" ? std::string("no maliciousness") : t.status;
      if (!t.message.empty()) why += ": " + t.message;
      note += why;
      failures.push_back(t.platform + " task " + t.id + " " + why);
    }
    notes.push_back(note + " " + reportUrl(t.id));
    if (decider == nullptr || verdictRank(kind) > verdictRank(deciderKind) ||
        (verdictRank(kind) == verdictRank(deciderKind) &&
         t.maliciousness.value_or(-1) > decider->maliciousness.value_or(-1))) {
      decider = &t;
      deciderKind = kind;
    }
    v.score = std::max(v.score, t.maliciousness.value_or(0));
  }
  v.taskId = decider->id;
  v.reportUrl = reportUrl(decider->id);
  if (!anyKnown) {
    v.reason = "vxCube: every task failed: " + join(failures, "; ");
    return v;
  }
  if (known == VerdictKind::Clean && anyUnknown) {
    v.reason = "vxCube: no task found anything, but " + join(failures, "; ");
    return v;
  }
  v.kind = known;
  if (known != VerdictKind::Clean) {
    for (const auto& t : tasks) {
      for (const auto* rules : {&t.maliciousRules, &t.suspiciousRules}) {
        for (const auto& r : *rules) {
          if (std::find(v.threats.begin(), v.threats.end(), r) == v.threats.end())
            v.threats.push_back(r);
        }
      }
    }
  }
  v.reason = "vxCube tasks: " + join(notes, "; ");
  return v;
}

}  // namespace bccsink::sandbox
