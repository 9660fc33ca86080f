// `bccsink queue list|show`: the queue as the administrator sees it. The database may be
// shared by several sinks (issue 15): their rows are all listed and shown, but a message's
// bytes are read only on the sink that received it (its `sink`), whose spool holds them.

#include <Poco/JSON/Array.h>

#include <iomanip>
#include <iostream>
#include <map>

#include "base/JsonText.h"
#include "db/Database.h"
#include "db/HoldQueue.h"
#include "db/MessageQueue.h"
#include "db/RetroReports.h"
#include "db/SpooledMessage.h"
#include "report/ReportBuilder.h"
#include "report/ReportJson.h"
#include "report/Reporter.h"
#include "report/http/Quarantine.h"
#include "report/retro/RetroJson.h"
#include "sink/Commands.h"
#include "sink/Config.h"
#include "sink/SpoolCheck.h"

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

const char* kHelp =
    "usage: bccsink queue list [--json] [--check] [--state STATE] [--limit N]\n"
    "       bccsink queue show ID [--json|--raw]\n"
    "       (both take --config FILE and --Name value, e.g. --DataDir DIR)\n\n"
    "list: one line per message (--json: one JSON object per line with id, state,\n"
    "      sender, recipients, original_recipients, message_id, size, sha256,\n"
    "      received_at, ...).\n"
    "      --check reads the whole spool: every row's message must be there with the\n"
    "      row's size and SHA-256, and every record and file must have its row; it\n"
    "      reports what is not so (exit 1 when anything is); nothing is changed.\n"
    "      A message taken in SMTP mode has a `hold:` line (--json: hold_state): holding,\n"
    "      deliver (with its tries and the last error), delivered, quarantined, ...\n"
    "show: every field of one message, and the files found in it with their verdicts\n"
    "      (each analyzer's answer, from the verdict cache), and \"retro\": the\n"
    "      retro-alerts that name it (its verdict turned later); --raw: the message itself,\n"
    "      as received, on standard output (on the sink that received it: its `sink`).\n";

}  // namespace

int runQueue(const std::vector<std::string>& args) {
  return withErrorsReported([&] {
    auto cl = parseCommandLine(args, {"json", "check", "raw"}, {"state", "limit"});
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
      const auto messages = queue.list(filter);
      // SMTP mode: where each listed held message is (holding, deliver with its tries, ...).
      std::vector<std::string> ids;
      for (const auto& m : messages) ids.push_back(m.id);
      const auto holds = db::HoldQueue(database).findAll(ids);
      for (const auto& m : messages) {
        auto held = holds.find(m.id);
        if (cl.has("json")) {
          auto o = report::messageJson(m);
          if (held != holds.end()) o->set("hold_state", held->second.state);
          std::cout << jsonText(o) << "\n";
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
          // A held message (SMTP mode) says where it is, and why a re-injection failed.
          if (held != holds.end()) {
            const auto& h = held->second;
            std::cout << "    hold: " << h.state << (h.action.empty() ? "" : " (" + h.action + ")");
            if (h.state == db::hold_state::kDeliver && h.tries > 0)
              std::cout << ", " << h.tries << " tries, next " << report::heldTime(h.nextMs);
            if (!h.lastError.empty() && h.state != db::hold_state::kDelivered)
              std::cout << ": " << h.lastError;
            std::cout << "\n";
          }
        }
      }
      if (cl.has("check"))
        return checkSpool(database, cfg.spoolDir(), std::cout, cfg.sinkName) > 0 ? 1 : 0;
      return 0;
    }
    if (action == "show" && cl.positional.size() == 2) {
      auto m = queue.find(cl.positional[1]);
      if (!m) {
        std::cerr << "bccsink: no message " << cl.positional[1] << "\n";
        return 1;
      }
      const bool here = m->sink == cfg.sinkName;
      if (cl.has("raw")) {
        if (!here) {
          // Another machine's spool: a file of the same name here would be another message.
          std::cerr << "bccsink: message " << m->id << " is held by sink " << m->sink
                    << ": its content is in that sink's spool; run this command there\n";
          return 1;
        }
        if (auto gone = report::contentExpiredText(*m); !gone.empty()) {
          std::cerr << "bccsink: " << gone << "\n";  // retention deleted it
          return 1;
        }
        db::SpooledMessage message(cfg.spoolDir(), m->spoolFile);
        std::cout.write(message.bytes().data(),
                        static_cast<std::streamsize>(message.bytes().size()));
        std::cout.flush();
        return std::cout ? 0 : 1;
      }
      auto o = report::messageJson(*m);
      o->set("files", filesJson(database, *m));
      if (auto held = db::HoldQueue(database).find(m->id)) {
        auto hold = report::quarantineDetailJson(*held, std::nullopt);
        hold->remove("message");  // the object it is in
        o->set("hold", hold);
      }
      // Retro-alerts that name it: its verdict turned after it was judged (report/retro).
      o->set("retro", report::retroMentionsJson(db::RetroReports(database).ofMessage(m->id)));
      if (cl.has("json")) {
        std::cout << jsonText(o) << "\n";
      } else {
        auto gone = report::contentExpiredText(*m);
        std::cout << jsonText(o, 2) << "\nspool: "
                  << (!gone.empty() ? gone
                      : here        ? cfg.spoolDir() + "/" + m->spoolFile
                                    : m->spoolFile + " on sink " + m->sink + " (not this one)")
                  << "\n";
      }
      return 0;
    }
    std::cerr << kHelp;
    return 2;
  });
}

}  // namespace bccsink
