#include "sandbox/analyzers/Verdict.h"

namespace bccsink::sandbox {
int verdictRank(VerdictKind k) {
  switch (k) {
    case VerdictKind::Clean:
      return 0;
    case VerdictKind::Unscanned:
      return 1;
    case VerdictKind::Suspicious:
      return 2;
    case VerdictKind::Dangerous:
      return 3;
  }
  return 1;
}

std::string_view toString(VerdictKind kind) {
  switch (kind) {
    case VerdictKind::Clean:
      return "clean";
    case VerdictKind::Suspicious:
      return "suspicious";
    case VerdictKind::Dangerous:
      return "dangerous";
    case VerdictKind::Unscanned:
      return "unscanned";
  }
  return "unscanned";
}

bool parseVerdict(std::string_view text, VerdictKind& kind) {
  for (auto k : {VerdictKind::Clean, VerdictKind::Suspicious, VerdictKind::Dangerous,
                 VerdictKind::Unscanned}) {
    if (text == toString(k)) {
      kind = k;
      return true;
    }
  }
  return false;
}

VerdictKind worse(VerdictKind a, VerdictKind b) {
  return verdictRank(a) >= verdictRank(b) ? a : b;
}

}  // namespace bccsink::sandbox
