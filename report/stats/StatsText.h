#pragma once
// `bccsink stats` without --json: the intervals as a table, one line each, then the
// totals' breakdowns (sizes, connecting IPs, extensions, true types, mismatches, files
// in archives, size by type, verdicts per analyzer, names in shape form).

#include <string>

#include "report/stats/StatsQuery.h"

namespace bccsink::report {

std::string statsTable(const StatsView& view, const std::string& owner);

}  // namespace bccsink::report
