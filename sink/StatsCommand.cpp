// `bccsink stats [--since ISO8601|DURATION] [--sink NAME] [--json]`: the statistics per
// interval as the daemons stored them, plus the intervals not stored yet counted now
// ("partial"): every sink's of the database summed, or one sink's. Reads only; the daemon
// need not run.

#include <Poco/Exception.h>

#include <iostream>

#include "base/Clock.h"
#include "db/Database.h"
#include "report/stats/StatsCounters.h"
#include "report/stats/StatsQuery.h"
#include "report/stats/StatsText.h"
#include "sink/Commands.h"
#include "sink/Config.h"

namespace bccsink {
namespace {

const char* kHelp =
    "usage: bccsink stats [--since TIME] [--sink NAME] [--json] [--config FILE]\n"
    "                     [--Name value ...]\n\n"
    "Statistics per StatsInterval, every sink's of the database summed (each sink stores\n"
    "its own; --sink shows one, by its SinkName): messages, recipients, sizes,\n"
    "connecting IPs, extensions and true types, extension/type mismatches, files inside\n"
    "archives, verdicts per analyzer, cache hits, file names as MD5 and shape only.\n"
    "Intervals marked * (\"partial\": true) are counted now: the current one, and any the\n"
    "daemon has not stored yet.\n\n"
    "  --since TIME  an ISO 8601 time (2026-11-30T00:00:00Z) or a duration back from now\n"
    "                (30m, 24h, 7d); default 24h\n"
    "  --sink NAME   one sink's statistics only\n"
    "  --json        the JSON of /api/stats instead of a table (\"sinks\": each sink's totals)\n";

// The one sink's name, or "every sink (a, b)", for the table's title.
std::string shown(const report::StatsView& view) {
  if (!view.sink.empty()) return view.sink;
  if (view.sinks.size() == 1) return view.sinks.front().sink;
  std::string names;
  for (const auto& s : view.sinks) names += (names.empty() ? "" : ", ") + s.sink;
  return "every sink (" + names + ")";
}

}  // namespace

int runStats(const std::vector<std::string>& args) {
  return withErrorsReported([&] {
    auto cl = parseCommandLine(args, {"json"}, {"since", "sink"});
    if (cl.help || !cl.positional.empty()) {
      std::cout << kHelp;
      return cl.help ? 0 : 2;
    }
    auto cfg = loadConfig(cl.configPath, cl.overrides);
    auto since = cl.value("since", "24h");
    std::string sinceIso;
    if (!since.empty() && since.find('T') == std::string::npos) {
      std::chrono::seconds back;
      try {
        back = parseDuration(since);
      } catch (const std::exception& e) {
        std::cerr << "bccsink: --since " << since << ": " << e.what()
                  << " (or an ISO 8601 time such as 2026-11-30T00:00:00Z)\n";
        return 2;
      }
      sinceIso = report::isoSeconds(nowMs() - back.count() * 1000);
    } else {
      sinceIso = since;
      try {
        report::msFromIso(sinceIso);
      } catch (const std::exception& e) {
        std::cerr << "bccsink: --since: " << e.what() << "\n";
        return 2;
      }
    }
    db::Database database(cfg.effectiveDatabaseUrl());
    database.migrate();
    report::StatsRequest request;
    request.self = cfg.sinkName;
    request.sink = cl.value("sink");
    request.sinceIso = sinceIso;
    request.interval = cfg.statsInterval;
    if (cl.has("json")) {
      std::cout << report::statsJson(database, request) << "\n";
      return 0;
    }
    auto view = report::queryStats(database, request);
    std::cout << report::statsTable(view, shown(view));
    if (view.sinks.size() > 1) {
      std::cout << "messages by sink:";
      for (const auto& s : view.sinks) std::cout << "  " << s.sink << " " << s.totals.messages;
      std::cout << "\n";
    }
    return 0;
  });
}

}  // namespace bccsink
