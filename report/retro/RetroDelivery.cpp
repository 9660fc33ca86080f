#include "report/retro/RetroDelivery.h"

#include <Poco/Data/DataException.h>
#include <Poco/Exception.h>
#include <Poco/Logger.h>

#include <ctime>

#include "base/Backoff.h"
#include "base/Clock.h"
#include "db/Database.h"
#include "db/Outage.h"
#include "db/RetroReports.h"
#include "report/retro/RetroMail.h"

namespace bccsink::report {
namespace {

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.report");
}

bool fromDatabase(const std::exception& e) {
  return dynamic_cast<const db::DatabaseUnavailable*>(&e) ||
         dynamic_cast<const Poco::Data::DataException*>(&e);
}

// A receiver that throws (it should not) is a transient failure.
DeliveryResult safely(const RetroDelivery::Deliver& deliver, const std::string& mail) {
  try {
    return deliver(mail);
  } catch (const Poco::Exception& e) {
    return {Outcome::TempFail, e.displayText(), {}, {}, {}};
  } catch (const std::exception& e) {
    return {Outcome::TempFail, e.what(), {}, {}, {}};
  }
}

}  // namespace

RetroDelivery::RetroDelivery(RetroDeliverySettings settings, Templates templates, Deliver deliver)
    : settings_(std::move(settings)),
      templates_(std::move(templates)),
      deliver_(std::move(deliver)) {}

std::size_t RetroDelivery::deliverDue(db::Database& db, std::int64_t nowMs) {
  db::RetroReports retro(db);
  std::size_t sent = 0;
  for (const auto& id : retro.due(settings_.owner, nowMs, settings_.batch)) {
    auto alert = retro.find(id);
    if (!alert) continue;
    std::string mail;
    try {
      mail = composeRetroMail(*alert, templates_, settings_.mail, std::time(nullptr));
    } catch (const std::exception& e) {
      if (fromDatabase(e)) throw;
      const auto why = db::Outage::textOf(e);
      retro.markUndeliverable(id, "cannot build the retro report: " + why);
      ++undeliverable_;
      log().error("retro-alert id=%s: cannot build its report: %s", id, why);
      continue;
    }
    const auto r = safely(deliver_, mail);
    switch (r.outcome) {
      case Outcome::Ok:
        retro.markSent(id, isoNow());
        ++sent_;
        ++sent;
        log().information("retro-reported id=%s (%s now %s, %z messages): %s", id, alert->sha256,
                          alert->verdict, alert->messages.size(), r.receipt);
        for (const auto& x : r.rejected)
          log().warning("retro report %s: recipient %s refused: %s", id, x.address, x.reply);
        break;
      case Outcome::TempFail: {
        const int attempts = alert->reportAttempts + 1;
        const auto next =
            nowMs + retryDelay(attempts, settings_.retryBase, settings_.retryCap).count();
        retro.markDeferred(id, r.reason, next);
        ++deferred_;
        log().warning("retro report %s deferred (try %d): %s", id, attempts, r.reason);
        return sent;  // the receiver is down: wait for it
      }
      case Outcome::PermFail:
        retro.markUndeliverable(id, r.reason);
        ++undeliverable_;
        log().error("retro report %s undeliverable: %s (bccsink report resend %s tries again)", id,
                    r.reason, id);
        break;
    }
  }
  return sent;
}

}  // namespace bccsink::report
