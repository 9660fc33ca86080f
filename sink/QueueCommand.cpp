// `bccsink queue list|show`: the queue as the administrator sees it.

#include <Poco/JSON/Array.h>
#include <sys/stat.h>

#include <iomanip>
#include <iostream>
#include <set>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "report/ReportBuilder.h"
#include "report/ReportJson.h"
#include "sink/Commands.h"
#include "sink/Config.h"
#include "sink/smtp/Spool.h"

namespace bccsink {
namespace {

// The report column: '-' before the reporter judged it, else the report's status, with
// "spoofed" when it is one.
std::string reportColumn(const db::MessageRecord& m) {
  if (!m.judged) return "-";
  return m.reportStatus + (m.spoofed ? ",spoof" : "");
}

// The files found in the message, each with its verdict and every analyzer's answer (from
// the verdict cache): the files of its report.
Poco::JSON::Array::Ptr filesJson(db::Database& database, const db::MessageRecord& m) {
  Poco::JSON::Array::Ptr out = new Poco::JSON::Array;
  for (const auto& f : report::buildReport(database, m, report::MessageHeaders()).files) {
    out->add(report::fileJson(f));
  }
  return out;
}

// Rows whose spool file is missing, and spool files no row names: reported, never
// deleted (an administrator decides). Returns the number of problems.
int check(db::MessageQueue& queue, const Config& cfg) {
  std::set<std::string> rows;
  for (auto& f : queue.spoolFiles()) rows.insert(f);
  std::set<std::string> files;
  struct stat st {};
  if (stat(cfg.spoolDir().c_str(), &st) == 0) {
    Spool spool(cfg.spoolDir());
    for (auto& f : spool.files()) files.insert(f);
  }
  int problems = 0;
  for (const auto& f : files) {
    if (!rows.count(f)) {
      std::cout << "orphan spool file (no row): " << cfg.spoolDir() << "/" << f << "\n";
      ++problems;
    }
  }
  for (const auto& r : rows) {
    if (!files.count(r)) {
      std::cout << "row without spool file: " << r.substr(0, r.size() - 4) << " (" << cfg.spoolDir()
                << "/" << r << ")\n";
      ++problems;
    }
  }
  std::cout << "check: " << rows.size() << " rows, " << files.size() << " spool files, " << problems
            << " problems\n";
  return problems;
}

const char* kHelp =
    "usage: bccsink queue list [--json] [--check] [--state STATE] [--limit N]\n"
    "       bccsink queue show ID [--json]\n"
    "       (both take --config FILE and --Name value, e.g. --DataDir DIR)\n\n"
    "list: one line per message (--json: one JSON object per line with id, state,\n"
    "      sender, recipients, message_id, size, sha256, received_at, ...).\n"
    "      --check compares the spool with the rows and reports files without rows and\n"
    "      rows without files (exit 1 when there are any); nothing is deleted.\n"
    "show: every field of one message, and the files found in it with their verdicts\n"
    "      (each analyzer's answer, from the verdict cache).\n";

}  // namespace

int runQueue(const std::vector<std::string>& args) {
  return withErrorsReported([&] {
    auto cl = parseCommandLine(args, {"json", "check"}, {"state", "limit"});
    if (cl.help || cl.positional.empty()) {
      std::cout << kHelp;
      return cl.help ? 0 : 2;
    }
    auto cfg = loadConfig(cl.configPath, cl.overrides);
    db::Database database(cfg.effectiveDatabaseUrl());
    database.migrate();
    db::MessageQueue queue(database);
    const auto& action = cl.positional[0];
    if (action == "list") {
      db::ListFilter filter;
      filter.state = cl.value("state");
      filter.limit = static_cast<std::size_t>(parseSize(cl.value("limit", "0")));
      for (const auto& m : queue.list(filter)) {
        if (cl.has("json")) {
          report::messageJson(m)->stringify(std::cout);
          std::cout << "\n";
        } else {
          std::string rcpt = m.recipients.empty() ? "" : m.recipients.front().address;
          if (m.recipients.size() > 1) rcpt += " +" + std::to_string(m.recipients.size() - 1);
          std::cout << m.id << "  " << std::left << std::setw(9) << m.state << " " << std::setw(10)
                    << (m.verdict.empty() ? "-" : m.verdict) << " " << std::setw(13)
                    << reportColumn(m) << " " << m.receivedAt << " " << std::right << std::setw(9)
                    << m.size << "  <" << m.sender << "> -> " << rcpt << "\n";
          // A report that is not getting through says why, under its message.
          if (!m.reportError.empty() && m.reportStatus != db::report_status::kSent) {
            std::cout << "    report: " << m.reportAttempts << " tries: " << m.reportError << "\n";
          }
        }
      }
      if (cl.has("check")) return check(queue, cfg) > 0 ? 1 : 0;
      return 0;
    }
    if (action == "show" && cl.positional.size() == 2) {
      auto m = queue.find(cl.positional[1]);
      if (!m) {
        std::cerr << "bccsink: no message " << cl.positional[1] << "\n";
        return 1;
      }
      auto o = report::messageJson(*m);
      o->set("files", filesJson(database, *m));
      if (cl.has("json")) {
        o->stringify(std::cout);
        std::cout << "\n";
      } else {
        o->stringify(std::cout, 2);
        std::cout << "\nspool: " << cfg.spoolDir() << "/" << m->spoolFile << "\n";
      }
      return 0;
    }
    std::cerr << kHelp;
    return 2;
  });
}

}  // namespace bccsink
