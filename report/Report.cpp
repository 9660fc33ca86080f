#include "report/Report.h"

namespace bccsink::report {

int verdictRank(const std::string& verdict) {
  if (verdict == "dangerous") return 3;
  if (verdict == "suspicious") return 2;
  if (verdict == "clean") return 1;
  return 0;  // unscanned, or none
}

}  // namespace bccsink::report
