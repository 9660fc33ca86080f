// `bccsink report show|resend ID`: one message's report as the administrator gets it, and
// sending it again. `resend` delivers at once from this process, so the administrator
// sees the receiver's answer; the daemon's reporter is not involved. Both read the
// message's headers from the spool, so both run on the sink that received it. An ID that
// is a retro-alert's shows or sends its retro report (report/retro), from any sink.

#include <Poco/Net/SSLManager.h>

#include <ctime>
#include <iostream>

#include "base/Clock.h"
#include "base/JsonText.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "db/RetroReports.h"
#include "report/ReportJson.h"
#include "report/ReportMail.h"
#include "report/ReportView.h"
#include "report/Reporter.h"
#include "report/retro/RetroJson.h"
#include "report/retro/RetroMail.h"
#include "report/retro/RetroView.h"
#include "sink/Commands.h"
#include "sink/Config.h"
#include "sink/ReportSetup.h"

namespace bccsink {
namespace {

const char* kHelp =
    "usage: bccsink report show ID [--json] [--mail]\n"
    "       bccsink report resend ID\n"
    "       (both take --config FILE and --Name value, e.g. --DataDir DIR)\n\n"
    "show:   the report of one message as text (--json: as JSON; --mail: the whole mail\n"
    "        as it would be sent, MIME and all).\n"
    "resend: builds the report again and delivers it now to BccReportRecipientAddress\n"
    "        (BccSmtpServer, or BccReportMaildir); prints the receiver's answer. Exit 0\n"
    "        when it was taken, 1 when not (the message's report stays as it was).\n"
    "ID may also be a retro-alert's (bccsink's API /api/retro): its report, the file whose\n"
    "verdict turned and every message that carried it, shown or delivered again.\n";

// `report show|resend ALERT`: a retro-alert's report (report/retro). It needs no spool:
// any sink sharing the database can show or send it.
int retroReport(const std::string& action, bool json, bool asMail, ReportSetup& setup,
                db::Database& database, const db::RetroAlert& alert) {
  const auto mail = setup.reporterSettings().mail;
  if (action == "show") {
    if (json) {
      std::cout << jsonText(report::retroAlertJson(alert, true), 2) << "\n";
    } else if (asMail) {
      std::cout << report::composeRetroMail(alert, setup.templates(), mail, std::time(nullptr));
    } else {
      std::cout
          << report::renderRetroReport(report::buildRetroReport(alert), setup.templates()).text;
    }
    return 0;
  }
  auto result = setup.deliverer()(
      report::composeRetroMail(alert, setup.templates(), mail, std::time(nullptr)));
  if (!result.ok()) {
    std::cerr << "bccsink: retro report " << alert.id << " not delivered ("
              << toString(result.outcome) << ") via " << setup.receiverName() << ": "
              << result.reason << "\n";
    return 1;
  }
  db::RetroReports(database).markSent(alert.id, isoNow());
  std::cout << "retro report " << alert.id << " delivered via " << setup.receiverName() << ": "
            << result.receipt << "\n";
  return 0;
}

}  // namespace

int runReport(const std::vector<std::string>& args) {
  return withErrorsReported([&] {
    auto cl = parseCommandLine(args, {"json", "mail"}, {});
    if (cl.help || cl.positional.size() != 2 ||
        (cl.positional[0] != "show" && cl.positional[0] != "resend")) {
      std::cout << kHelp;
      return cl.help ? 0 : 2;
    }
    auto cfg = loadConfig(cl.configPath, cl.overrides);
    Poco::Net::initializeSSL();
    ReportSetup setup(cfg);
    db::Database database(cfg.effectiveDatabaseUrl());
    database.migrate();
    db::MessageQueue queue(database);
    const auto& id = cl.positional[1];
    auto m = queue.find(id);
    if (!m) {
      if (auto alert = db::RetroReports(database).find(id))
        return retroReport(cl.positional[0], cl.has("json"), cl.has("mail"), setup, database,
                           *alert);
      std::cerr << "bccsink: no message " << id << "\n";
      return 1;
    }
    if (m->state == db::state::kPending || m->state == db::state::kAnalyzing) {
      std::cerr << "bccsink: message " << id << " is " << m->state
                << ": its report exists once it is checked\n";
      return 1;
    }
    if (m->sink != cfg.sinkName) {
      // Its headers are in another machine's spool (a file of the same name here is not it).
      std::cerr << "bccsink: message " << id << " is held by sink " << m->sink
                << ": its report is built from that sink's spool; run this command there\n";
      return 1;
    }
    if (auto gone = report::contentExpiredText(*m); !gone.empty()) {
      // Retention deleted its spooled copy: the report is its row's, without the headers.
      std::cerr << "bccsink: " << gone << "; the report is built from its row alone\n";
    }
    auto settings = setup.reporterSettings();
    auto r =
        report::Reporter::load(database, *m, settings.spoolDir, settings.spoof.skipTopReceived);
    if (cl.positional[0] == "show") {
      if (cl.has("json")) {
        std::cout << report::toJsonText(r) << "\n";
      } else if (cl.has("mail")) {
        std::cout << report::composeReportMail(r, setup.templates(), settings.mail,
                                               std::time(nullptr));
      } else {
        std::cout << report::renderReport(r, setup.templates()).text;
      }
      return 0;
    }
    auto mail = report::composeReportMail(r, setup.templates(), settings.mail, std::time(nullptr));
    auto result = setup.deliverer()(mail);
    if (!result.ok()) {
      std::cerr << "bccsink: report " << id << " not delivered (" << toString(result.outcome)
                << ") via " << setup.receiverName() << ": " << result.reason << "\n";
      return 1;
    }
    db::ReportQueue(database).markSent({id}, isoNow());
    std::cout << "report " << id << " delivered via " << setup.receiverName() << ": "
              << result.receipt << "\n";
    for (const auto& x : result.rejected) {
      std::cout << "  refused by the server: " << x.address << ": " << x.reply << "\n";
    }
    return 0;
  });
}

}  // namespace bccsink
