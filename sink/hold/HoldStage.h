#pragma once
// SMTP mode's hold stage: one thread per sink that acts on the messages of the hold queue
// (db/HoldQueue) that its own listener took on SmtpSocket.
//
// Each round:
//   1. decide: a holding message whose message has a verdict gets the action its verdict
//      maps to (HoldPolicy: SmtpActionClean ... SmtpActionUnscanned; a failed message and
//      an evasion finding count as suspicious); one held since SmtpMaxHold gets
//      SmtpHoldTimeoutAction; with SmtpHoldUnknown=no every message is passed at once. The
//      decision hands the message's report to the reporter (report_status held -> NULL).
//   2. deliver: each `deliver` message is read from the spool, tagged when its action is
//      tag (sink/hold/Tagging), and re-injected into SmtpSenderRelay with its
//      original envelope (report::SmtpClient::relay). The relay's 250 is recorded durably
//      before anything else; a 4xx, a refused connection or a timeout is tried again with
//      back-off (5 s doubling up to SmtpRelayRetryMax), the error in the queue; a 5xx makes
//      the message `rejected` and its report due again (the administrator is told).
//   3. expire: quarantined and discarded messages older than SmtpQuarantineDays -> deleted,
//      at most once a minute; in the same pass (and a few rounds after a 5xx), a rejected
//      message whose report was judged "none" (the reporter read its hold state just
//      before the rejection) is made due.
// A round runs when woken (a message was checked, one was taken) and at least every second.
// A database that is away fails the round: the thread backs off (1 s, up to 5 s) and
// reconnects, the outage logged once as it starts and once as it ends (db/Outage.h). The
// relay's 250 that the database could not record is delivered again: at least once.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "report/delivery/SmtpClient.h"
#include "sink/hold/HoldCounters.h"
#include "sink/hold/HoldPolicy.h"

namespace bccsink::db {
class Database;
struct HeldMessage;
class HoldQueue;
}  // namespace bccsink::db

namespace bccsink {

struct HoldSettings {
  std::string databaseUrl;
  std::string spoolDir;
  std::string sink;  // SinkName: only this sink's rows
  HoldPolicy policy;
  report::SmtpSettings relay;  // SmtpSenderRelay, no AUTH, no TLS over loopback
  std::chrono::milliseconds retryFirst{5000};
  std::chrono::milliseconds retryMax{std::chrono::minutes(10)};  // SmtpRelayRetryMax
  unsigned quarantineDays = 30;                                  // 0 = never expires
  std::chrono::milliseconds idleRound{1000};                     // the longest sleep
  // SmtpRelayConnections: deliveries at once, each on a thread with its own connection to
  // the relay and its own database session. The relay (Postfix's smtpd) syncs each message
  // it queues, so one connection at a time would cap SMTP mode at one sync after another;
  // and a relay that hangs on one message holds up that connection only.
  unsigned relayConnections = 8;
};

class HoldStage {
 public:
  explicit HoldStage(HoldSettings settings);
  ~HoldStage();  // stop()
  HoldStage(const HoldStage&) = delete;
  HoldStage& operator=(const HoldStage&) = delete;

  // The deciding thread and relayConnections delivery threads. Without start(), runOnce()
  // delivers on the caller's thread.
  void start();
  void stop();
  // Something may be decidable now (a message was checked or taken).
  void wake();
  // One round on the caller's thread (tests, and the thread's loop): returns how many
  // messages were decided plus how many delivery tries were made.
  std::size_t runOnce();
  // Called when a message's report may be due: after decisions (the report waited for
  // the action) and after a 5xx from the relay (the administrator must be told). The serve
  // command wakes the reporter. Set before start().
  void onReportDue(std::function<void()> f) { onReportDue_ = std::move(f); }

  const HoldCounters& counters() const { return counters_; }

 private:
  void loop();
  std::size_t decideRound(db::Database& db, bool& more);
  std::size_t deliverRound(db::Database& db, bool& more);
  // `channel`: a delivery thread's kept connection (null: one of its own).
  void deliverOne(db::Database& db, const db::HeldMessage& held,
                  report::RelayChannel* channel = nullptr);
  void maintain(db::Database& db);  // expire, and the reports of rejected messages
  // Writes what the relay answered (`write` on a HoldQueue); a failed write is tried again
  // until it works (false: the stage stopped first, or `write` found nothing to change).
  bool record(db::Database& db, const std::function<bool(db::HoldQueue&)>& write);
  std::size_t round(bool& more);
  void deliveryLoop();  // one delivery thread: takes from queued_ until stopped

  HoldSettings settings_;
  report::SmtpClient relay_;
  HoldCounters counters_;
  std::function<void()> onReportDue_;
  std::unique_ptr<db::Database> db_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::chrono::steady_clock::time_point lastMaintained_{}, lastSwept_{};
  std::atomic<bool> maintainNow_{true};  // a rejection whose report could not be made due yet
  std::thread thread_;
  // Deliveries handed to the delivery threads: waiting in queued_, or being delivered;
  // inFlight_ names both, so a round does not hand out a message twice. Under mutex_.
  std::vector<std::thread> deliverers_;
  std::deque<db::HeldMessage> queued_;
  std::set<std::string> inFlight_;
  std::condition_variable deliveryCv_;
};

}  // namespace bccsink
