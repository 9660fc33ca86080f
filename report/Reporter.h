#pragma once
// The daemon's report stage (DESIGN.md, "Data flow": checked -> reported). One thread
// takes the sink's checked (and failed) messages from the queue, judges each once (the
// spoof check on its Received chain; whether its verdict reaches BccReportThreshold, or
// SMTP mode kept it from its recipients: quarantined, discarded, refused by the relay; an
// SMTP-mode message is judged only once its action is decided, db/HoldQueue), and
// delivers the reports that are due: one mail per message, or one digest per
// BccReportDigestInterval listing every message since the last, or (BccReportGroupWindow)
// one report per group of messages that the same file(s) flagged: a due message of a group
// waits until its group's window is over (report_next_at), then every due message of the
// group goes out in one report, a later one in a follow-up (ReportQueue::groupDue,
// lastBatch). The state is the queue's rows, so a restart keeps the groups; then this sink's due
// retro-alerts, one mail each (report/retro/RetroDelivery). A message is `reported`
// only once the receiver took the mail; a temporary failure is retried with back-off (the
// queue shows the error), a permanent one leaves the report `undeliverable` until
// `bccsink report resend`. A database that is away fails the round: the thread pauses
// (1 s, longer up to 5 s), reconnects and goes on; the outage is logged once as it starts
// and once as it ends (db/Outage.h). A report whose mail went out just before the
// database went away is not marked sent, and goes out again once it is back.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "report/Report.h"
#include "report/ReportMail.h"
#include "report/Templates.h"
#include "report/delivery/DeliveryResult.h"
#include "report/retro/RetroDelivery.h"
#include "report/spoof/SpoofCheck.h"

namespace bccsink::db {
class Database;
struct MessageRecord;
}  // namespace bccsink::db

namespace bccsink::report {

struct ReporterSettings {
  std::string databaseUrl;
  std::string spoolDir;
  std::string owner;                       // this sink: it reports the messages it received
  std::string threshold = "suspicious";    // BccReportThreshold: unscanned, suspicious, dangerous
  std::chrono::seconds digestInterval{0};  // BccReportDigestInterval; 0 = a mail per message
  // BccReportGroupWindow: messages flagged by the same file(s) within it make one report;
  // 0 = a mail per message. Without effect in digest mode (the digest batches already).
  std::chrono::seconds groupWindow{0};
  std::size_t groupLimit = 1000;  // messages one group report lists; the rest follow
  // The time (ms since the epoch) the report queue is judged and delivered by: windows and
  // back-off. Unset: the wall clock (tests set their own).
  std::function<std::int64_t()> clock;
  SpoofSettings spoof;  // skipTopReceived: bccsink's own Received header
  MailSettings mail;
  std::chrono::milliseconds retryBase{std::chrono::seconds(30)};  // then doubling
  std::chrono::milliseconds retryCap{std::chrono::hours(1)};
  // Between wake()s (the pipeline announces each checked message; the API a resend), a
  // round runs this often for what no event announces: a deferred report coming due, the
  // digest, a resend asked for by `bccsink report resend` in another process.
  std::chrono::milliseconds sweep{std::chrono::seconds(5)};
  // While messages keep being checked (a wake during a round that found work), the next
  // round waits this long and takes them together.
  std::chrono::milliseconds gather{50};
  std::size_t batch = 200;  // messages judged or delivered per round
};

// Reports handed over since start, counted per message (/metrics).
struct ReporterCounts {
  std::uint64_t sent = 0;           // the receiver took it
  std::uint64_t deferred = 0;       // a temporary failure: tried again later
  std::uint64_t undeliverable = 0;  // refused for good, or the report could not be built
};

// Hands one finished mail to the administrator's receiver (SmtpClient or Maildir).
using Deliver = std::function<DeliveryResult(const std::string& mail)>;

// "the content of ID expired on DATE (BccKeepClean)": what a report, `report resend` and
// the API say of a copy whose spooled content retention deleted; '' while it is kept.
std::string contentExpiredText(const db::MessageRecord& message);

class Reporter {
 public:
  Reporter(ReporterSettings settings, Templates templates, Deliver deliver);
  ~Reporter();  // stop()
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  void start();
  void stop();
  // Something may be due now (a message was checked, a resend was asked for).
  void wake();
  // One round on the caller's thread (tests, and the thread's own loop): judges what is
  // new, delivers what is due. Returns the number of messages reported.
  std::size_t runOnce();
  // Thread-safe.
  ReporterCounts counts() const { return {sent_.load(), deferred_.load(), undeliverable_.load()}; }
  // Retro reports (report/retro), counted apart. Thread-safe.
  RetroCounts retroCounts() const { return retro_.counts(); }

  // A message's report as the database and its spool file give it (spoof finding from
  // the queue, origin from the Received chain). A copy whose content expired (retention)
  // is built from its row alone, with contentExpiredText() among its errors.
  static Report load(db::Database& db, const db::MessageRecord& message,
                     const std::string& spoolDir, std::size_t skipTopReceived);

 private:
  void loop();
  // judgeNew then deliverDue; returns the messages reported, `judged` the ones judged.
  std::size_t round(std::size_t& judged);
  std::size_t judgeNew(db::Database& db);
  std::size_t deliverDue(db::Database& db);
  // The group's due messages in one report; false when the receiver is down.
  bool deliverGroup(db::Database& db, const std::string& group, std::size_t& sent);
  std::int64_t clockMs() const;
  void record(db::Database& db, const std::vector<std::string>& ids, const DeliveryResult& r,
              const std::string& batch = "");

  ReporterSettings settings_;
  Templates templates_;
  Deliver deliver_;
  RetroDelivery retro_;  // this sink's due retro-alerts, after the message reports
  SpoofCheck spoof_;
  std::unique_ptr<db::Database> db_;  // the thread's own session (runOnce opens it)
  std::chrono::steady_clock::time_point lastDigest_;
  std::string lastDigestIso_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
  std::atomic<std::uint64_t> sent_{0}, deferred_{0}, undeliverable_{0};
};

}  // namespace bccsink::report
