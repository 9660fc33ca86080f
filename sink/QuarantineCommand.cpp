// `bccsink quarantine list|show|release|delete`: SMTP mode's held messages as the
// administrator sees them (report/http/Quarantine, shared with /api/quarantine). A release
// or a delete is a row change in the database, so it may be made from any sink: the hold
// stage of the sink that received the message (its spool holds the bytes) delivers it.

#include <Poco/JSON/Object.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iomanip>
#include <iostream>

#include "base/Clock.h"
#include "base/JsonText.h"
#include "db/Database.h"
#include "db/HoldQueue.h"
#include "db/MessageQueue.h"
#include "report/http/Quarantine.h"
#include "sink/Commands.h"
#include "sink/Config.h"

namespace bccsink {
namespace {

const char* kHelp =
    "usage: bccsink quarantine list [--json] [--sink NAME] [--state STATE] [--limit N]\n"
    "       bccsink quarantine show ID [--json]\n"
    "       bccsink quarantine release ID\n"
    "       bccsink quarantine delete ID\n"
    "       (all take --config FILE and --Name value, e.g. --DataDir DIR)\n\n"
    "SMTP mode's held messages (every sink's, when several share the database).\n"
    "list:    what needs attention, newest decision first: quarantined and discarded\n"
    "         messages (kept, not delivered) and rejected ones (the relay refused them\n"
    "         for good). --state STATE lists one state instead (holding, deliver,\n"
    "         delivered, quarantined, discarded, rejected, deleted); --sink one sink's;\n"
    "         --limit N at most N (0, the default: all). Columns: id, sink, state,\n"
    "         verdict, since (when the action was decided), sender -> recipients,\n"
    "         Message-ID, and why. --json: one JSON object per line.\n"
    "show:    everything about one held message: its held row (action, why, tries, last\n"
    "         error, delivery, released by and when) and its envelope.\n"
    "release: delivers a quarantined, discarded or rejected message through\n"
    "         SmtpSenderRelay: the hold stage of the sink that received it sends it.\n"
    "delete:  a quarantined, discarded or rejected message is never delivered; its row\n"
    "         stays as `deleted`. Both are recorded with who (cli:USER) and when.\n"
    "Exit 1 when the message is not in the hold queue or not in a state that allows it.\n";

// "cli:alice", or "cli:root (sudo alice)" when run through sudo: who released or deleted.
std::string invokingUser() {
  std::string user;
  if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_name != nullptr) {
    user = pw->pw_name;
  } else {
    user = "uid " + std::to_string(::getuid());
  }
  std::string who = "cli:" + user;
  if (const char* sudo = std::getenv("SUDO_USER"); sudo != nullptr && *sudo != '\0') {
    who += std::string(" (sudo ") + sudo + ")";
  }
  return who;
}

std::string orDash(const std::string& s) {
  return s.empty() ? "-" : s;
}

void printRow(const report::QuarantineEntry& e) {
  const auto& h = e.held;
  std::string rcpt = e.recipients.empty() ? "" : e.recipients.front().address;
  if (e.recipients.size() > 1) rcpt += " +" + std::to_string(e.recipients.size() - 1);
  std::cout << h.id << "  " << std::left << std::setw(10) << h.sink << " " << std::setw(11)
            << h.state << " " << std::setw(10) << orDash(h.verdict) << " " << std::setw(24)
            << orDash(report::heldTime(h.decidedMs != 0 ? h.decidedMs : h.heldMs)) << " <"
            << h.sender << "> -> " << rcpt << "  " << orDash(h.headerMessageId) << "\n"
            << std::right << "    why: " << orDash(h.why) << "\n";
  if (!h.lastError.empty())
    std::cout << "    last error (" << h.tries << " tries): " << h.lastError << "\n";
}

int list(db::Database& database, const CommandLine& cl) {
  const auto state = cl.value("state");
  if (!state.empty() && report::holdStates().count(state) == 0) {
    std::cerr << "bccsink: --state " << state
              << ": not a hold state (holding, deliver, delivered, quarantined, discarded,"
                 " rejected, deleted)\n";
    return 2;
  }
  auto limit = static_cast<std::size_t>(parseSize(cl.value("limit", "0")));
  auto rows = report::listQuarantine(
      database, state.empty() ? std::vector<std::string>{} : std::vector<std::string>{state},
      cl.value("sink"), limit);
  for (const auto& e : rows) {
    if (cl.has("json")) {
      std::cout << jsonText(report::quarantineJson(e)) << "\n";
    } else {
      printRow(e);
    }
  }
  if (rows.empty() && !cl.has("json")) {
    std::cout << (state.empty() ? "nothing quarantined, discarded or rejected"
                                : "no held message is " + state)
              << (cl.value("sink").empty() ? "" : " on sink " + cl.value("sink")) << "\n";
  }
  return 0;
}

int show(db::Database& database, const std::string& id, bool json) {
  auto h = db::HoldQueue(database).find(id);
  if (!h) {
    std::cerr << "bccsink: no such message in the hold queue: " << id << "\n";
    return 1;
  }
  auto o = report::quarantineDetailJson(*h, db::MessageQueue(database).find(id));
  std::cout << jsonText(o, json ? 0 : 2) << "\n";
  return 0;
}

int change(db::Database& database, const Config& cfg, const std::string& action,
           const std::string& id) {
  const auto by = invokingUser();
  auto c = action == "release" ? report::releaseHeld(database, id, by, nowMs())
                               : report::deleteHeld(database, id, by, nowMs());
  if (c.result != report::QuarantineChange::Done) {
    std::cerr << "bccsink: " << c.error << "\n";
    return 1;
  }
  const auto at = report::heldTime(c.held.releasedMs);
  if (action == "release") {
    std::cout << "message " << id << " released by " << by << " at " << at << ": sink "
              << c.held.sink << (c.held.sink == cfg.sinkName ? " (this one)" : " (not this one)")
              << " delivers it through SmtpSenderRelay\n";
  } else {
    std::cout << "message " << id << " deleted by " << by << " at " << at
              << ": it will not be delivered\n";
  }
  return 0;
}

}  // namespace

int runQuarantine(const std::vector<std::string>& args) {
  return withErrorsReported([&] {
    auto cl = parseCommandLine(args, {"json"}, {"sink", "state", "limit"});
    const auto& p = cl.positional;
    const bool withId = p.size() == 2 && (p[0] == "show" || p[0] == "release" || p[0] == "delete");
    if (cl.help || !((p.size() == 1 && p[0] == "list") || withId)) {
      (cl.help ? std::cout : std::cerr) << kHelp;
      return cl.help ? 0 : 2;
    }
    auto cfg = loadConfig(cl.configPath, cl.overrides);
    db::Database database(cfg.effectiveDatabaseUrl());
    database.migrate();
    if (p[0] == "list") return list(database, cl);
    if (p[0] == "show") return show(database, p[1], cl.has("json"));
    return change(database, cfg, p[0], p[1]);
  });
}

}  // namespace bccsink
