#include "sink/hold/HoldStage.h"

#include <Poco/Logger.h>
#include <pthread.h>

#include <algorithm>
#include <set>

#include "base/Backoff.h"
#include "base/Clock.h"
#include "base/Text.h"
#include "db/Database.h"
#include "db/HoldQueue.h"
#include "db/MessageQueue.h"
#include "db/Outage.h"
#include "db/ReportQueue.h"
#include "db/SpooledMessage.h"
#include "sink/hold/HoldFindings.h"
#include "sink/hold/Tagging.h"

namespace bccsink {
namespace {

constexpr std::size_t kBatch = 100;  // messages decided or delivered per round
constexpr auto kMaintainEvery = std::chrono::minutes(1);
constexpr std::size_t kLogText = 300;  // bytes of a reason or reply in a log line
constexpr auto kKeepIdleConnection = std::chrono::seconds(2);
// How long a message may wait in `deliver` before it is rejected to the administrator
// (Postfix's maximal_queue_lifetime default).
constexpr std::chrono::milliseconds kDeliverLifetime = std::chrono::hours(24 * 5);

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.hold");
}

std::string logText(const std::string& text) {
  return printableAscii(text, kLogText);
}

// The message's envelope as its row keeps it, replayed: only the recipients at
// `positions` (the ones not delivered yet).
report::RelayEnvelope envelopeOf(const db::MessageRecord& m, const db::HeldMessage& held,
                                 const std::vector<std::size_t>& positions) {
  report::RelayEnvelope e;
  e.sender = m.sender;
  for (auto p : positions) {
    const auto& r = m.recipients[p];
    e.recipients.push_back({r.address, r.notify, r.orcpt});
  }
  e.body = m.body;
  e.ret = m.ret;
  e.envid = m.envid;
  e.smtputf8 = held.smtputf8 || m.smtputf8;
  const std::string& lines = held.xforward.empty() ? m.xforward : held.xforward;
  std::size_t start = 0;
  while (start < lines.size()) {
    auto end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    auto line = lines.substr(start, end - start);
    if (auto eq = line.find('='); eq != std::string::npos && eq > 0)
      e.xforward.emplace_back(line.substr(0, eq), line.substr(eq + 1));
    start = end + 1;
  }
  return e;
}

// The relay's answer; a client that throws (it should not) is a failure for now.
report::DeliveryResult relaySafely(const report::SmtpClient& client,
                                   const report::RelayEnvelope& envelope,
                                   const std::string& message, report::RelayChannel* channel) {
  try {
    return channel ? channel->relay(envelope, message) : client.relay(envelope, message);
  } catch (const std::exception& e) {
    report::DeliveryResult r;
    r.outcome = Outcome::TempFail;
    r.reason = db::Outage::textOf(e);
    return r;
  }
}

std::string refusedText(const std::vector<report::RejectedRecipient>& list, bool temporary) {
  std::string out;
  for (const auto& x : list) {
    if (x.temporary != temporary) continue;
    out += (out.empty() ? "<" : ", <") + x.address + "> " + x.reply;
  }
  return out;
}

}  // namespace

HoldStage::HoldStage(HoldSettings settings)
    : settings_(std::move(settings)), relay_(settings_.relay) {}

HoldStage::~HoldStage() {
  stop();
}

void HoldStage::start() {
  for (unsigned i = 0; i < std::max(1u, settings_.relayConnections); ++i)
    deliverers_.emplace_back([this] { deliveryLoop(); });
  thread_ = std::thread([this] { loop(); });
}

void HoldStage::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  deliveryCv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // A delivery under way ends (the relay answers or times out); what is still queued
  // stays `deliver` in the database and is sent after the next start.
  for (auto& t : deliverers_)
    if (t.joinable()) t.join();
  deliverers_.clear();
}

void HoldStage::deliveryLoop() {
  pthread_setname_np(pthread_self(), "relay");
  std::unique_ptr<db::Database> db;
  // The relay connection, kept while there is work (an idle one is closed, so that the
  // relay's process is free for others).
  report::RelayChannel channel(relay_);
  std::unique_lock lock(mutex_);
  while (true) {
    if (!deliveryCv_.wait_for(lock, kKeepIdleConnection,
                              [this] { return stopping_ || !queued_.empty(); })) {
      lock.unlock();
      channel.close();
      lock.lock();
      continue;
    }
    if (stopping_) break;
    auto held = std::move(queued_.front());
    queued_.pop_front();
    lock.unlock();
    try {
      if (!db) db = std::make_unique<db::Database>(settings_.databaseUrl, db::Durability::Deferred);
      // Read again: the round that handed it out may have read the row just before
      // another delivery thread recorded this message delivered (or deferred).
      auto fresh = db::HoldQueue(*db).find(held.id);
      if (fresh && fresh->state == db::hold_state::kDeliver && fresh->nextMs <= nowMs())
        deliverOne(*db, *fresh, &channel);
    } catch (const std::exception& e) {
      // The database went away between the relay's answer and its record: the message
      // stays `deliver` and is tried again (at least once, never lost).
      log().warning("hold: id=%s: delivery not recorded, tried again: %s", held.id,
                    logText(db::Outage::textOf(e)));
      db.reset();
    }
    lock.lock();
    inFlight_.erase(held.id);
    // The deciding thread hands out what is due next.
    woken_ = true;
    cv_.notify_all();
  }
  lock.unlock();  // the channel's QUIT happens outside the lock
}

void HoldStage::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void HoldStage::loop() {
  pthread_setname_np(pthread_self(), "hold");  // for top -H, perf and strace -f
  db::Outage outage(log(), "hold");
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    woken_ = false;
    lock.unlock();
    bool more = false;
    try {
      round(more);
      outage.succeeded();
    } catch (const std::exception& e) {
      // The database was busy or gone: what was not recorded happens again next round (a
      // relay's 250 not recorded means one more delivery: at least once, never lost).
      const auto backOff = outage.failed(e);
      db_.reset();
      lock.lock();
      cv_.wait_for(lock, backOff, [this] { return stopping_; });
      continue;
    }
    lock.lock();
    // A full batch: the rest at once. Otherwise until woken, or idleRound for what no
    // event announces (a retry coming due, SmtpMaxHold running out, a release).
    if (!more) cv_.wait_for(lock, settings_.idleRound, [this] { return stopping_ || woken_; });
  }
}

std::size_t HoldStage::runOnce() {
  bool more = false;
  return round(more);
}

std::size_t HoldStage::round(bool& more) {
  // Deferred: a decision or a retry lost to power loss is made again; markDelivered and
  // markRejected are Durable themselves.
  if (!db_) db_ = std::make_unique<db::Database>(settings_.databaseUrl, db::Durability::Deferred);
  const auto decided = decideRound(*db_, more);
  if (decided > 0 && onReportDue_) onReportDue_();
  const auto tries = deliverRound(*db_, more);
  maintain(*db_);
  return decided + tries;
}

std::size_t HoldStage::decideRound(db::Database& db, bool& more) {
  db::HoldQueue queue(db);
  db::MessageQueue messages(db);
  const auto now = nowMs();
  const auto& policy = settings_.policy;
  std::vector<db::HeldMessage> rows;
  if (policy.holdUnknown) {
    rows = queue.decidable(settings_.sink, kBatch);
    auto late = queue.overdue(settings_.sink, now - policy.maxHold.count(), kBatch);
    more = more || rows.size() == kBatch || late.size() == kBatch;
    std::set<std::string> seen;
    for (const auto& r : rows) seen.insert(r.id);
    for (auto& r : late) {
      if (!seen.count(r.id)) rows.push_back(std::move(r));
    }
  } else {
    rows = queue.overdue(settings_.sink, now, kBatch);  // every holding message
    more = more || rows.size() == kBatch;
  }
  std::size_t decided = 0;
  for (const auto& row : rows) {
    std::string reason;
    const bool judged = row.messageState == db::state::kChecked ||
                        row.messageState == db::state::kReported ||
                        row.messageState == db::state::kFailed;
    // A clean message has nothing to say beyond its verdict (an evasion finding makes a
    // message suspicious): the common case costs no look-up of its files.
    const bool clean = row.verdict == "clean" && row.messageState != db::state::kFailed;
    if (judged && !clean) {
      auto m = messages.find(row.id);
      const std::string errors = m ? m->errors : "";
      reason = findingsOf(db, row.id, row.verdict, errors);
      if (row.messageState == db::state::kFailed && m && !m->reason.empty())
        reason = m->reason + (reason.empty() ? "" : "; " + reason);
    }
    auto d = decideHold(policy, row.messageState, row.verdict, reason, row.heldMs, now);
    if (!d || !queue.decide(row.id, d->state, d->action, d->why, now)) continue;
    ++decided;
    counters_.countAction(d->cause, d->action);
    log().notice("hold: id=%s action=%s why=%s", row.id, d->action, logText(d->why));
  }
  return decided;
}

std::size_t HoldStage::deliverRound(db::Database& db, bool& more) {
  db::HoldQueue queue(db);
  if (deliverers_.empty()) {  // runOnce() without start(): here and now
    auto rows = queue.deliverable(settings_.sink, nowMs(), kBatch);
    more = more || rows.size() == kBatch;
    for (const auto& row : rows) deliverOne(db, row);
    return rows.size();
  }
  {
    std::lock_guard lock(mutex_);
    // Enough handed out: a delivery thread that finishes wakes this thread for more.
    if (queued_.size() >= settings_.relayConnections) return 0;
  }
  // Those being delivered are still `deliver`: ask for enough rows to find new ones.
  std::size_t busy = 0;
  {
    std::lock_guard lock(mutex_);
    busy = inFlight_.size();
  }
  auto rows = queue.deliverable(settings_.sink, nowMs(), kBatch + busy);
  std::size_t handed = 0;
  {
    std::lock_guard lock(mutex_);
    for (auto& row : rows) {
      if (!inFlight_.insert(row.id).second) continue;
      queued_.push_back(std::move(row));
      ++handed;
    }
  }
  if (handed > 0) deliveryCv_.notify_all();
  return handed;
}

void HoldStage::deliverOne(db::Database& db, const db::HeldMessage& held,
                           report::RelayChannel* channel) {
  const auto& relayName = settings_.relay.server;
  auto m = db::MessageQueue(db).find(held.id);
  std::string message;
  std::string unreadable;
  if (!m) {
    unreadable = "the message's row is gone";
  } else {
    try {
      db::SpooledMessage spooled(settings_.spoolDir, m->spoolFile);
      message = held.action == db::hold_action::kTag
                    ? tagMessage(withoutVerdictHeaders(spooled.bytes()),
                                 settings_.policy.tagSubject, held.why)
                    : withoutVerdictHeaders(spooled.bytes());
    } catch (const std::exception& e) {
      unreadable = db::Outage::textOf(e);
    }
  }
  auto reject = [&](const std::string& error, const std::vector<int>& done) {
    if (!record(db,
                [&](db::HoldQueue& q) { return q.markRejected(held.id, error, nowMs(), done); }))
      return;
    ++counters_.rejected;
    log().error("hold: id=%s rejected by %s, the administrator is told: %s", held.id, relayName,
                logText(error));
    // The administrator is told through the message's report. Not judged yet: the reporter
    // judges a rejected message's report due whatever its verdict; maintain() checks that
    // a judgement made just before the rejection did not leave it "none".
    if (!db::ReportQueue(db).requeue(held.id)) maintainNow_ = true;
    if (onReportDue_) onReportDue_();
  };
  if (!unreadable.empty()) {
    // The bytes are gone: no retry brings them back. The administrator decides.
    reject("cannot deliver: " + unreadable, held.doneRecipients);
    return;
  }

  // Recipients already delivered by an earlier try are not sent to again.
  std::vector<std::size_t> positions;
  for (std::size_t i = 0; i < m->recipients.size(); ++i) {
    if (std::find(held.doneRecipients.begin(), held.doneRecipients.end(), static_cast<int>(i)) ==
        held.doneRecipients.end())
      positions.push_back(i);
  }
  const auto now = nowMs();
  if (positions.empty()) {
    if (record(db, [&](db::HoldQueue& q) {
          return q.markDelivered(held.id, "every recipient was delivered by earlier tries", now);
        })) {
      ++counters_.delivered;
      counters_.countHeld(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now - held.heldMs)));
    }
    return;
  }

  auto result = relaySafely(relay_, envelopeOf(*m, held, positions), message, channel);
  std::vector<int> done = held.doneRecipients;
  if (result.ok()) {
    for (auto i : result.acceptedPositions) {
      if (i < positions.size()) done.push_back(static_cast<int>(positions[i]));
    }
    std::sort(done.begin(), done.end());
  }
  const auto temporary = result.ok() ? refusedText(result.rejected, true) : "";
  const auto after = nowMs();
  if (result.ok() && temporary.empty()) {
    // The relay has it: recorded durably before anything else.
    std::string reply = result.receipt;
    const auto permanent = refusedText(result.rejected, false);
    if (!permanent.empty()) reply += "; refused: " + permanent;
    const std::string refused = permanent.empty() ? "" : "refused for good: " + permanent;
    if (!record(db,
                [&](db::HoldQueue& q) { return q.markDelivered(held.id, reply, after, refused); }))
      return;
    ++counters_.delivered;
    counters_.countHeld(static_cast<std::uint64_t>(std::max<std::int64_t>(0, after - held.heldMs)));
    log().notice("hold: id=%s delivered to %s: %s", held.id, relayName, logText(reply));
    if (!permanent.empty())
      log().warning("hold: id=%s refused by %s for good for some recipients: %s", held.id,
                    relayName, logText(permanent));
    if (!permanent.empty()) {
      // A 5xx for some recipients goes to the administrator too: the report is due again
      // (or, not judged yet, the sweep makes it due once it is).
      if (!db::ReportQueue(db).requeue(held.id)) maintainNow_ = true;
      if (onReportDue_) onReportDue_();
    }
    return;
  }
  if (result.outcome == Outcome::PermFail) {
    reject(result.reason, done);
    return;
  }
  // A 4xx, a refused connection, a timeout, or some recipients deferred: again later.
  const auto delay = retryDelay(held.tries + 1, settings_.retryFirst, settings_.retryMax);
  std::string error = result.ok() ? "SMTP " + relayName + ": delivered to some recipients (" +
                                        result.receipt + "); deferred: " + temporary
                                  : result.reason;
  // Deferred for longer than a queue lifetime: the administrator decides (release tries
  // again), as Postfix bounces after maximal_queue_lifetime.
  if (held.decidedMs > 0 && after - held.decidedMs > kDeliverLifetime.count()) {
    reject("not delivered for " + secondsText(kDeliverLifetime) + ", the last try: " + error, done);
    return;
  }
  if (!record(db, [&](db::HoldQueue& q) {
        return q.markRetry(held.id, error, after + delay.count(), done);
      }))
    return;
  ++counters_.deferred;
  log().warning("hold: id=%s deferred (try %d, again in %s): %s", held.id, held.tries + 1,
                secondsText(delay), logText(error));
}

bool HoldStage::record(db::Database& db, const std::function<bool(db::HoldQueue&)>& write) {
  try {
    db::HoldQueue queue(db);
    return write(queue);
  } catch (const std::exception& e) {
    log().error("hold: the relay's answer could not be recorded, trying again: %s",
                logText(db::Outage::textOf(e)));
  }
  // The relay has acted on the message: until its answer is recorded the message must not
  // be handed out again (it would be sent again at once, and again). Tried on a new
  // session, 1 s doubling to 30 s, until it works or the stage stops (then the message is
  // sent once more after the next start).
  auto pause = std::chrono::milliseconds(1000);
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (cv_.wait_for(lock, pause, [this] { return stopping_; })) return false;
    }
    try {
      db::Database fresh(settings_.databaseUrl, db::Durability::Deferred);
      db::HoldQueue queue(fresh);
      const bool done = write(queue);
      log().notice("hold: the relay's answer is recorded now");
      return done;
    } catch (const std::exception& e) {
      log().debug("hold: still cannot record the relay's answer: %s",
                  logText(db::Outage::textOf(e)));
      pause = std::min(pause * 2, std::chrono::milliseconds(30000));
    }
  }
}

void HoldStage::maintain(db::Database& db) {
  const auto now = std::chrono::steady_clock::now();
  const bool minute = now - lastMaintained_ >= kMaintainEvery;
  // A rejection waiting for its judgement is looked at again every few rounds' time, not
  // every round.
  const bool sweep = minute || (maintainNow_ && now - lastSwept_ >= 5 * settings_.idleRound);
  if (!sweep) return;
  db::HoldQueue queue(db);
  if (minute && settings_.quarantineDays > 0) {
    const auto at = nowMs();
    const std::int64_t keep = std::int64_t{settings_.quarantineDays} * 24 * 3600 * 1000;
    if (int n = queue.expire(settings_.sink, at - keep, at); n > 0)
      log().notice(
          "hold: %d quarantined or discarded messages deleted after %u days "
          "(SmtpQuarantineDays)",
          n, settings_.quarantineDays);
  }
  if (minute) lastMaintained_ = now;
  lastSwept_ = now;
  maintainNow_ = false;
  // A message rejected (or delivered with recipients refused for good) while the reporter
  // was judging it, or before, may be left "none"; the administrator must still hear of
  // the 5xx. Still unjudged: next time.
  db::MessageQueue messages(db);
  db::ReportQueue reports(db);
  bool requeued = false;
  for (const auto& held : queue.awaitingReport(settings_.sink, kBatch)) {
    auto m = messages.find(held.id);
    if (!m) continue;
    if (m->reportStatus.empty() || m->reportStatus == db::report_status::kHeld) {
      maintainNow_ = true;
    } else if (m->reportStatus == db::report_status::kNone && reports.requeue(held.id)) {
      requeued = true;
    }
  }
  if (requeued && onReportDue_) onReportDue_();
}

}  // namespace bccsink
