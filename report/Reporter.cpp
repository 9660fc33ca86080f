#include "report/Reporter.h"

#include <Poco/Data/DataException.h>
#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/SHA2Engine.h>
#include <pthread.h>

#include <algorithm>
#include <set>

#include "base/Backoff.h"
#include "base/Clock.h"
#include "db/Database.h"
#include "db/HoldQueue.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "db/Outage.h"
#include "db/ReportQueue.h"
#include "report/ReportBuilder.h"
#include "report/spoof/MessageHeaders.h"
#include "report/spoof/ReceivedHeader.h"

namespace bccsink::report {
namespace {

using std::chrono::milliseconds;

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.report");
}

std::string errorText(const std::exception& e) {
  return db::Outage::textOf(e);
}

// An error of the database itself (gone, restarting, locked, a statement refused), as
// opposed to one of the report being built: the round fails and is tried again; the
// report is not set aside for it.
bool fromDatabase(const std::exception& e) {
  return dynamic_cast<const db::DatabaseUnavailable*>(&e) ||
         dynamic_cast<const Poco::Data::DataException*>(&e);
}

// The first Received header below the ones skipped: the hop at which the site's MTA took
// the original message, i.e. where it came from.
void setOrigin(Report& r, const MessageHeaders& h, std::size_t skip) {
  auto hops = h.all("Received");
  if (hops.size() <= skip) return;
  auto hop = parseReceived(hops[skip]);
  r.originIp = hop.ip;
  r.originHelo = hop.helo;
}

// The receiver's answer; a receiver that throws (it should not) counts as a transient
// failure, so the report is tried again instead of the round being lost.
DeliveryResult safely(const Deliver& deliver, const std::string& mail) {
  try {
    return deliver(mail);
  } catch (const Poco::Exception& e) {
    return {Outcome::TempFail, e.displayText(), {}, {}, {}};
  } catch (const std::exception& e) {
    return {Outcome::TempFail, e.what(), {}, {}, {}};
  }
}

// How far a verdict is from clean, for BccReportThreshold: clean < unscanned < suspicious
// < dangerous (verdictRank puts unscanned below clean, as a file's flag does not count
// it); -1 for none.
int thresholdRank(const std::string& verdict) {
  if (verdict == "unscanned") return 1;
  if (verdict == "clean") return 0;
  int rank = verdictRank(verdict);
  return rank >= 2 ? rank : -1;
}

// SMTP mode did not deliver the message (quarantined, discarded, or refused by the relay):
// the administrator is told whatever BccReportThreshold says; a clean message quarantined
// because SmtpMaxHold ran out is one. (A message the relay refuses after it was judged has
// its report made due again by the hold stage, ReportQueue::requeue.)
bool keptFromRecipients(const std::string& holdState) {
  return holdState == db::hold_state::kQuarantined || holdState == db::hold_state::kDiscarded ||
         holdState == db::hold_state::kRejected;
}

// The group of a message whose file(s) crossed the threshold: that file's SHA-256 (so
// that an administrator finds it in the queue), or for several the SHA-256 of their sorted
// SHA-256s, one a line. '' (reported alone) when no readable file crossed it: a spoof, an
// unscanned message below the threshold, a failed one.
std::string groupKey(const std::vector<db::MessageFile>& files, int threshold) {
  std::set<std::string> flagged;
  for (const auto& f : files) {
    if (!f.sha256.empty() && thresholdRank(f.verdict) >= threshold) flagged.insert(f.sha256);
  }
  if (flagged.size() <= 1) return flagged.empty() ? "" : *flagged.begin();
  Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
  for (const auto& h : flagged) sha.update(h + "\n");
  return Poco::DigestEngine::digestToHex(sha.digest());
}

// What a group report names as its files: those of its first message that crossed the
// threshold, "NAME (SHA-256)", each digest once.
std::vector<std::string> groupFiles(const Report& r, int threshold) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& f : r.files) {
    if (f.sha256.empty() || thresholdRank(f.verdict) < threshold) continue;
    if (seen.insert(f.sha256).second) out.push_back(f.name + " (" + f.sha256 + ")");
  }
  return out;
}

}  // namespace

Reporter::Reporter(ReporterSettings settings, Templates templates, Deliver deliver)
    : settings_(std::move(settings)),
      templates_(std::move(templates)),
      deliver_(std::move(deliver)),
      retro_({settings_.owner, settings_.mail, settings_.retryBase, settings_.retryCap,
              settings_.batch},
             templates_, deliver_),
      spoof_(settings_.spoof),
      lastDigest_(std::chrono::steady_clock::now()),
      lastDigestIso_(isoNow()) {
  if (thresholdRank(settings_.threshold) < 1) {
    throw std::invalid_argument(
        "BccReportThreshold: must be unscanned, suspicious or dangerous, not '" +
        settings_.threshold + "'");
  }
}

Reporter::~Reporter() {
  stop();
}

void Reporter::start() {
  thread_ = std::thread([this] { loop(); });
}

void Reporter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Reporter::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Reporter::loop() {
  pthread_setname_np(pthread_self(), "reporter");  // for top -H, perf and strace -f
  db::Outage outage(log(), "report");
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    std::size_t judged = 0, reported = 0;
    try {
      reported = round(judged);
      outage.succeeded();
    } catch (const std::exception& e) {
      // The database was busy or gone (a PostgreSQL restart): nothing was marked that did
      // not happen. After a pause (1 s, then longer up to 5 s) the next round tries again
      // with a new connection; wakes do not cut the pause short.
      const auto backOff = outage.failed(e);
      db_.reset();
      lock.lock();
      cv_.wait_for(lock, backOff, [this] { return stopping_; });
      continue;
    }
    lock.lock();
    // Messages checked while a round that found work ran: a burst. The next round waits
    // a moment and takes what gathered together, instead of a round (two queries and a
    // transaction) per message while the intake needs the machine.
    if (woken_ && judged + reported > 0)
      cv_.wait_for(lock, settings_.gather, [this] { return stopping_; });
    cv_.wait_for(lock, settings_.sweep, [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

std::size_t Reporter::runOnce() {
  std::size_t judged = 0;
  return round(judged);
}

std::size_t Reporter::round(std::size_t& judged) {
  // Deferred: a judgement undone by power loss is made again; markSent is Durable itself.
  if (!db_) db_ = std::make_unique<db::Database>(settings_.databaseUrl, db::Durability::Deferred);
  judged = judgeNew(*db_);
  auto reported = deliverDue(*db_);
  return reported + retro_.deliverDue(*db_, nowMs());  // report/retro
}

std::string contentExpiredText(const db::MessageRecord& m) {
  if (m.contentExpiredAt.empty()) return "";
  const bool flagged = m.state == db::state::kFailed || m.spoofed ||
                       (m.verdict != "clean" && m.verdict != "unscanned");
  return "the content of " + m.id + " expired on " + m.contentExpiredAt + " (" +
         (flagged ? "BccKeepFlagged" : "BccKeepClean") + ")";
}

Report Reporter::load(db::Database& db, const db::MessageRecord& m, const std::string& spoolDir,
                      std::size_t skipTopReceived) {
  MessageHeaders h;
  std::string unreadable = contentExpiredText(m);
  // Retention deleted the spooled content: the report is the row's (no headers).
  if (unreadable.empty()) {
    try {
      h = MessageHeaders::read(spoolDir, m.spoolFile);
    } catch (const std::exception& e) {
      unreadable = errorText(e);
    }
  }
  auto r = buildReport(db, m, h);
  setOrigin(r, h, skipTopReceived);
  if (!unreadable.empty()) r.errors.push_back(unreadable);
  return r;
}

std::size_t Reporter::judgeNew(db::Database& db) {
  db::MessageQueue queue(db);
  db::ReportQueue reports(db);
  const int threshold = thresholdRank(settings_.threshold);
  std::vector<db::Judgement> judged;
  const auto ids = reports.unjudged(settings_.owner, settings_.batch);
  // SMTP mode: a message is judged once its action is decided (HoldQueue::decide).
  const auto holdStates = reports.holdStates(ids);
  // BccReportGroupWindow (not in digest mode, which batches already): the flagging files
  // of each message, for its group.
  const bool grouping = settings_.groupWindow.count() > 0 && settings_.digestInterval.count() == 0;
  std::map<std::string, std::vector<db::MessageFile>> files;
  if (grouping && !ids.empty()) files = db::MessageFiles(db).listAll(ids);
  const auto holdUntil =
      clockMs() + std::chrono::duration_cast<milliseconds>(settings_.groupWindow).count();
  for (const auto& m : queue.findAll(ids)) {
    SpoofFinding finding;
    // For the statistics: the host that connected to the site's MTA (the origin hop), or
    // the client that sent the copy when there is no hop below bccsink's own.
    std::string originIp = m.clientIp;
    try {
      auto h = MessageHeaders::read(settings_.spoolDir, m.spoolFile);
      SpoofInput in;
      in.envelopeSender = m.sender;
      // Not the copy's envelope recipients (the BCC address) but the original's, when the
      // copy's recipients encode them (recipient_bcc_maps; none with always_bcc).
      in.envelopeRecipients = originalRecipients(m);
      in.from = h.all("From");
      in.to = h.all("To");
      in.cc = h.all("Cc");
      in.received = h.all("Received");
      finding = spoof_.check(in);
      if (in.received.size() > settings_.spoof.skipTopReceived) {
        auto hop = parseReceived(in.received[settings_.spoof.skipTopReceived]);
        if (!hop.ip.empty()) originIp = hop.ip;
      }
    } catch (const std::exception& e) {
      // No spool file (an administrator removed it): judged on its verdict alone.
      log().warning("report id=%s: no spoof check: %s", m.id, errorText(e));
    }
    bool failed = m.state == db::state::kFailed;
    auto hold = holdStates.find(m.id);
    bool kept = hold != holdStates.end() && keptFromRecipients(hold->second);
    bool due = failed || kept || finding.spoofed || thresholdRank(m.verdict) >= threshold;
    // A failed message is reported alone: what failed is its own analysis, and each is
    // looked at (and resent) on its own.
    std::string group;
    if (grouping && due && !failed) group = groupKey(files[m.id], threshold);
    judged.push_back({m.id, finding.spoofed, finding.reason, due, originIp, group,
                      group.empty() ? 0 : holdUntil});
  }
  // The round's judgements in one transaction (the files were read before, outside it).
  reports.judge(judged);
  for (const auto& j : judged) {
    if (j.spoofed) log().notice("spoofed id=%s: %s", j.id, j.spoofReason);
  }
  return judged.size();
}

std::size_t Reporter::deliverDue(db::Database& db) {
  db::MessageQueue queue(db);
  db::ReportQueue reports(db);
  auto now = std::chrono::steady_clock::now();
  if (settings_.digestInterval.count() > 0 && now - lastDigest_ < settings_.digestInterval) {
    return 0;  // the digest is not due yet
  }
  auto ids = reports.due(settings_.owner, clockMs(), settings_.batch);
  if (ids.empty()) return 0;
  std::size_t sent = 0;
  if (settings_.digestInterval.count() > 0) {
    std::vector<Report> list;
    for (const auto& id : ids) {
      if (auto m = queue.find(id)) {
        list.push_back(load(db, *m, settings_.spoolDir, settings_.spoof.skipTopReceived));
      }
    }
    auto until = isoNow();
    auto mail = composeDigestMail(list, lastDigestIso_, until, templates_, settings_.mail,
                                  std::time(nullptr));
    auto result = safely(deliver_, mail);
    record(db, ids, result);
    if (result.ok()) {
      lastDigest_ = now;
      lastDigestIso_ = until;
      sent = ids.size();
    }
    return sent;
  }
  // A message of a group: due once the window of the group's first message is over (its
  // report_next_at); the whole group goes with it, once per round.
  const auto groups = reports.groupsOf(ids);
  std::set<std::string> done;
  for (const auto& id : ids) {
    if (auto g = groups.find(id); g != groups.end()) {
      if (!done.insert(g->second).second) continue;
      if (!deliverGroup(db, g->second, sent)) break;  // the receiver is down: wait for it
      continue;
    }
    auto m = queue.find(id);
    if (!m) continue;
    std::string mail;
    try {
      auto r = load(db, *m, settings_.spoolDir, settings_.spoof.skipTopReceived);
      mail = composeReportMail(r, templates_, settings_.mail, std::time(nullptr));
    } catch (const std::exception& e) {
      // One report that cannot be built (a template error, say) must not hold up the
      // others: it is set aside with the reason; `report resend` tries it again. Not
      // when the database failed while it was read: that is the round's failure.
      if (fromDatabase(e)) throw;
      reports.markUndeliverable({id}, "cannot build the report: " + errorText(e));
      ++undeliverable_;
      log().error("report id=%s: cannot build it: %s", id, errorText(e));
      continue;
    }
    auto result = safely(deliver_, mail);
    record(db, {id}, result);
    if (result.ok()) ++sent;
    if (result.outcome == Outcome::TempFail) break;  // the receiver is down: wait for it
  }
  return sent;
}

bool Reporter::deliverGroup(db::Database& db, const std::string& group, std::size_t& sent) {
  db::MessageQueue queue(db);
  db::ReportQueue reports(db);
  std::vector<std::string> ids;
  std::vector<Report> list;
  // The group's rows in a few statements (findAll), not one or two per member.
  for (const auto& m :
       queue.findAll(reports.groupDue(settings_.owner, group, clockMs(), settings_.groupLimit))) {
    const auto& id = m.id;
    try {
      list.push_back(load(db, m, settings_.spoolDir, settings_.spoof.skipTopReceived));
      ids.push_back(id);
    } catch (const std::exception& e) {
      if (fromDatabase(e)) throw;
      reports.markUndeliverable({id}, "cannot build the report: " + errorText(e));
      ++undeliverable_;
      log().error("report id=%s: cannot build it: %s", id, errorText(e));
    }
  }
  if (ids.empty()) return true;
  const auto previous = reports.lastBatch(settings_.owner, group);
  std::string mail;
  try {
    if (ids.size() == 1 && !previous) {
      // One message in its window: today's report, with every detail.
      mail = composeReportMail(list.front(), templates_, settings_.mail, std::time(nullptr));
    } else {
      GroupInfo info;
      info.batch = ids.front();
      info.files = groupFiles(list.front(), thresholdRank(settings_.threshold));
      if (previous) {
        info.follows = previous->batch;
        info.followsAt = previous->reportedAt;
        info.followsCount = previous->count;
        info.earlier = previous->total;
      }
      mail = composeGroupMail(list, info, templates_, settings_.mail, std::time(nullptr));
    }
  } catch (const std::exception& e) {
    reports.markUndeliverable(ids, "cannot build the report: " + errorText(e));
    undeliverable_ += ids.size();
    log().error("report group %s: cannot build it: %s", group, errorText(e));
    return true;
  }
  auto result = safely(deliver_, mail);
  record(db, ids, result, ids.front());
  if (result.ok()) {
    sent += ids.size();
    log().information("report %s: %z messages of group %s%s", ids.front(), ids.size(), group,
                      previous ? ", follows " + previous->batch : std::string());
  }
  return result.outcome != Outcome::TempFail;
}

std::int64_t Reporter::clockMs() const {
  return settings_.clock ? settings_.clock() : nowMs();
}

void Reporter::record(db::Database& db, const std::vector<std::string>& ids,
                      const DeliveryResult& r, const std::string& batch) {
  db::ReportQueue reports(db);
  const std::string list = ids.size() == 1 ? ids[0] : std::to_string(ids.size()) + " messages";
  switch (r.outcome) {
    case Outcome::Ok:
      reports.markSent(ids, isoNow(), batch);
      sent_ += ids.size();
      for (const auto& id : ids) log().information("reported id=%s: %s", id, r.receipt);
      for (const auto& x : r.rejected) {
        log().warning("report %s: recipient %s refused: %s", list, x.address, x.reply);
      }
      break;
    case Outcome::TempFail: {
      // Every message of the batch waits as long as the one tried most often.
      int attempts = 1;
      db::MessageQueue queue(db);
      if (auto m = queue.find(ids.front())) attempts = m->reportAttempts + 1;
      auto next = clockMs() + retryDelay(attempts, settings_.retryBase, settings_.retryCap).count();
      reports.markDeferred(ids, r.reason, next);
      deferred_ += ids.size();
      log().warning("report %s deferred (try %d): %s", list, attempts, r.reason);
      break;
    }
    case Outcome::PermFail:
      reports.markUndeliverable(ids, r.reason);
      undeliverable_ += ids.size();
      log().error("report %s undeliverable: %s (bccsink report resend ID tries again)", list,
                  r.reason);
      break;
  }
}

}  // namespace bccsink::report
