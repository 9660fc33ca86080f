#pragma once
// Verdicts (DESIGN.md, "Verdicts"): clean < suspicious < dangerous; unscanned (analyzer
// unreachable, file over a limit, encrypted) is shown and never hides a worse verdict.
// A message's verdict is the worst of its files' (and a file's the worst of its
// analyzers').

#include <string>
#include <string_view>
#include <vector>

namespace bccsink::sandbox {

enum class VerdictKind { Clean, Suspicious, Dangerous, Unscanned };

std::string_view toString(VerdictKind kind);
// "clean", "suspicious", "dangerous", "unscanned"; false for anything else.
bool parseVerdict(std::string_view text, VerdictKind& kind);
// The worse of two: dangerous > suspicious > unscanned > clean. An unscanned file never
// hides a suspicious or dangerous one, and a clean one never hides that something could
// not be checked.
VerdictKind worse(VerdictKind a, VerdictKind b);
// That order as a number: clean 0, unscanned 1, suspicious 2, dangerous 3.
int verdictRank(VerdictKind kind);

struct Verdict {
  VerdictKind kind = VerdictKind::Unscanned;
  std::string analyzer;              // who said so: "yara", "clamd", "vxcube", "hashlist"
  int score = 0;                     // the analyzer's own scale, 0 when it has none
  std::vector<std::string> threats;  // signature or rule names
  std::string reportUrl;             // the analyzer's own report, '' when none
  std::string taskId;                // the analyzer's task or job id, '' when none
  std::string reason;                // why unscanned, or a note
  // Unscanned because of something that may pass (timeout, server down, 429): the
  // runner retries it until the deadline. Never stored as a verdict.
  bool transient = false;
};

}  // namespace bccsink::sandbox
