#pragma once
// The reporter's step for retro-alerts (report/Reporter's round): this sink's alerts whose
// report is due go out through the same Deliver as message reports, one mail per alert,
// with the same rules: the receiver took it -> sent; a temporary failure -> tried again
// after a back-off (base/Backoff, the reporter's retryBase doubling to retryCap) and the
// step stops (the receiver is down: wait for it); a permanent one, or an alert whose
// report cannot be built -> undeliverable until `bccsink report resend ID`. The detector
// that writes the alerts wakes the reporter (Reporter::wake); the reporter's sweep finds
// the rest. Digest mode does not gather them: a verdict that turned is news of its own.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "report/ReportMail.h"
#include "report/Templates.h"
#include "report/delivery/DeliveryResult.h"

namespace bccsink::db {
class Database;
}

namespace bccsink::report {

struct RetroDeliverySettings {
  std::string owner;  // this sink: it reports the alerts it found
  MailSettings mail;
  std::chrono::milliseconds retryBase{std::chrono::seconds(30)};
  std::chrono::milliseconds retryCap{std::chrono::hours(1)};
  std::size_t batch = 200;
};

// Retro reports handed over since start (/metrics: bccsink_retro_reports_total{result}).
struct RetroCounts {
  std::uint64_t sent = 0;
  std::uint64_t deferred = 0;
  std::uint64_t undeliverable = 0;
};

class RetroDelivery {
 public:
  using Deliver = std::function<DeliveryResult(const std::string& mail)>;

  RetroDelivery(RetroDeliverySettings settings, Templates templates, Deliver deliver);

  // Delivers this sink's due alerts; returns how many the receiver took. A database error
  // is thrown (the round fails and is tried again); nothing is marked that did not happen.
  std::size_t deliverDue(db::Database& db, std::int64_t nowMs);
  // Thread-safe.
  RetroCounts counts() const { return {sent_.load(), deferred_.load(), undeliverable_.load()}; }

 private:
  RetroDeliverySettings settings_;
  Templates templates_;
  Deliver deliver_;
  std::atomic<std::uint64_t> sent_{0}, deferred_{0}, undeliverable_{0};
};

}  // namespace bccsink::report
