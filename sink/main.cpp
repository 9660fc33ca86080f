// bccsink: the daemon and the administrator's commands. This file only dispatches.

#include <signal.h>
#include <sys/stat.h>

#include <iostream>
#include <string>
#include <vector>

#include "sink/Commands.h"

namespace {

const char* kUsage =
    "usage: bccsink COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  serve          run the SMTP listener (foreground)\n"
    "  check-config   print the effective configuration, or the error\n"
    "  queue list     list queued messages (--json, --check, --state S, --limit N)\n"
    "  queue show ID  show one message\n"
    "  scan FILE.eml  extract and analyse one message offline (--json)\n"
    "  report show ID    print a message's report (--json, --mail)\n"
    "  report resend ID  deliver a message's report again, now\n"
    "  stats          statistics per interval (--since TIME|DURATION, --json)\n"
    "  db copy        copy a sink's SQLite database into PostgreSQL (--from, --to, --merge)\n"
    "  quarantine list         SMTP mode: quarantined, discarded and rejected messages\n"
    "                          (--json, --sink NAME, --state S, --limit N)\n"
    "  quarantine show ID      one held message: its hold row and envelope (--json)\n"
    "  quarantine release ID   deliver it through SmtpSenderRelay (recorded: who, when)\n"
    "  quarantine delete ID    never deliver it (recorded: who, when)\n"
    "\n"
    "Every command takes --config FILE and --help; every configuration option can be\n"
    "given as --Name value (see `bccsink serve --help`).\n";

}  // namespace

int main(int argc, char** argv) {
  // A peer that closes a socket (clamd, vxCube, an SMTP client) is an error to handle
  // where it happens, not a signal that ends the process.
  signal(SIGPIPE, SIG_IGN);
  // Everything bccsink creates holds mail or secrets: the data folder, the database and its
  // WAL, the spool, extracted files, reports. Only the owner reads them, whatever umask the
  // shell or the service manager passed on (022 makes them readable by all).
  umask(077);
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "serve") return bccsink::runServe(args);
  if (command == "check-config") return bccsink::runCheckConfig(args);
  if (command == "queue") return bccsink::runQueue(args);
  if (command == "scan") return bccsink::runScan(args);
  if (command == "report") return bccsink::runReport(args);
  if (command == "stats") return bccsink::runStats(args);
  if (command == "db") return bccsink::runDb(args);
  if (command == "quarantine") return bccsink::runQuarantine(args);
  std::cerr << "bccsink: unknown command '" << command << "'\n\n" << kUsage;
  return 2;
}
