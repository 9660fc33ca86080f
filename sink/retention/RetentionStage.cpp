#include "sink/retention/RetentionStage.h"

#include <Poco/Logger.h>
#include <pthread.h>
#include <sys/statvfs.h>

#include <set>
#include <vector>

#include "base/Clock.h"
#include "base/Text.h"
#include "db/Database.h"
#include "db/Health.h"
#include "db/Outage.h"
#include "db/Retention.h"
#include "sandbox/ContentStore.h"
#include "sink/smtp/SpoolExpiry.h"

namespace bccsink {
namespace {

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.retention");
}

// Paths and errors as one printable line.
std::string logText(const std::string& text) {
  return printableAscii(text, 300);
}

std::string mib(std::uint64_t bytes) {
  const auto tenths = bytes * 10 / (1024 * 1024);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " MiB";
}

}  // namespace

// One sweep's work on one database session.
class Sweeper {
 public:
  Sweeper(const RetentionSettings& s, db::Database& db, std::int64_t nowMs, RetentionSweep& out)
      : s_(s),
        db_(db),
        retention_(db),
        expiry_(s.spoolDir),
        store_(s.filesDir),
        now_(nowMs),
        out_(out) {}

  // Frees the content of `copies` and marks it expired; how many were done (0: stuck).
  std::size_t expireContent(const std::vector<db::ExpiringCopy>& copies, const char* why) {
    auto done = freeSpool(copies);
    if (done.empty()) return 0;
    {
      db::WriteTransaction tx(db_);
      retention_.markContentExpired(done, db::isoOfMs(now_));
      tx.commit();
    }
    std::set<std::string> ids(done.begin(), done.end());
    for (const auto& c : copies) {
      if (!ids.count(c.id)) continue;
      log().debug("retention: id=%s content expired (%s, %s, received %s)", c.id, std::string(why),
                  c.verdict.empty() ? std::string("no verdict") : c.verdict, c.receivedAt);
    }
    removeFiles(done);
    log().information(
        "retention: the content of %s copies expired (%s), oldest received %s,"
        " first id=%s",
        std::to_string(done.size()), std::string(why), copies.front().receivedAt,
        copies.front().id);
    return done.size();
  }

  // Deletes the rows of `copies` (their spool content freed first when still there).
  std::size_t deleteRows(const std::vector<db::ExpiringCopy>& copies) {
    std::vector<db::ExpiringCopy> kept;
    std::vector<std::string> ids;
    for (const auto& c : copies) {
      if (c.contentExpired) {
        ids.push_back(c.id);
      } else {
        kept.push_back(c);
      }
    }
    auto freed = freeSpool(kept);
    ids.insert(ids.end(), freed.begin(), freed.end());
    if (ids.empty()) return 0;
    auto files = retention_.filesOf(ids);
    std::size_t deleted = 0;
    {
      db::WriteTransaction tx(db_);
      deleted = retention_.deleteRows(ids, now_ - s_.keepRows.count() * 1000);
      tx.commit();
    }
    out_.rowsDeleted += deleted;
    removeFilesOf(files);
    log().information("retention: %s rows deleted (BccKeepRows), oldest received %s",
                      std::to_string(deleted), copies.front().receivedAt);
    return ids.size();
  }

 private:
  // Marks dead and punches (or unlinks) the spool content; the ids done.
  std::vector<std::string> freeSpool(const std::vector<db::ExpiringCopy>& copies) {
    std::vector<std::string> done;
    if (copies.empty()) return done;
    std::vector<ExpiringContent> list;
    for (const auto& c : copies) list.push_back({c.id, c.spoolFile});
    SpoolExpiryResult r;
    expiry_.expire(list, r, done);
    for (const auto& p : r.problems) log().warning("retention: %s", logText(p));
    for (const auto& seg : r.segmentsRemoved) {
      log().information("retention: spool/%s removed: no record in it is kept", seg);
    }
    out_.bytesFreed += r.bytesFreed;
    return done;
  }

  void removeFiles(const std::vector<std::string>& ids) { removeFilesOf(retention_.filesOf(ids)); }

  void removeFilesOf(const std::vector<std::string>& files) {
    if (files.empty()) return;
    auto kept =
        retention_.stillReferenced(s_.sink, files, db::isoOfMs(now_ - s_.fileGrace.count() * 1000));
    for (const auto& sha : files) {
      if (kept.count(sha)) continue;
      try {
        if (!store_.has(sha)) continue;
        // Wall-clock time, as the file system's: a file an extraction met again within the
        // grace may be about to be referred to.
        const auto freed = store_.removeIfUntouchedSince(
            sha, std::time(nullptr) - static_cast<std::time_t>(s_.fileGrace.count()));
        if (store_.has(sha)) continue;
        out_.bytesFreed += freed;
        ++out_.filesDeleted;
      } catch (const std::exception& e) {
        log().warning("retention: files/%s: %s", sha, logText(e.what()));
      }
    }
  }

  const RetentionSettings& s_;
  db::Database& db_;
  db::Retention retention_;
  SpoolExpiry expiry_;
  sandbox::ContentStore store_;
  std::int64_t now_;
  RetentionSweep& out_;
};

RetentionStage::RetentionStage(RetentionSettings settings)
    : settings_(std::move(settings)), clock_([] { return nowMs(); }) {}

RetentionStage::~RetentionStage() {
  stop();
}

void RetentionStage::start() {
  thread_ = std::thread([this] { run(); });
}

void RetentionStage::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

db::Database& RetentionStage::database() {
  // Deferred: a lost commit means a batch done again (its records are dead already).
  if (!db_) db_ = std::make_unique<db::Database>(settings_.databaseUrl, db::Durability::Deferred);
  return *db_;
}

std::uint64_t RetentionStage::freeBytes() const {
  if (freeSpace_) return freeSpace_();
  struct statvfs st {};
  if (statvfs(settings_.spoolDir.c_str(), &st) != 0) return UINT64_MAX;  // unknown: no pressure
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

bool RetentionStage::pauseBetweenBatches() {
  std::unique_lock lock(mutex_);
  return !cv_.wait_for(lock, settings_.pause, [this] { return stopping_; });
}

RetentionSweep RetentionStage::sweepOnce() {
  RetentionSweep out;
  const auto now = clock_();
  db::RetentionRules rules{settings_.sink, settings_.keepClean, settings_.keepFlagged,
                           settings_.keepRows};
  Sweeper sweeper(settings_, database(), now, out);
  db::Retention retention(database());
  // Content past its time, oldest first.
  while (true) {
    auto copies = retention.contentDue(rules, now, settings_.batch);
    if (copies.empty()) break;
    auto n = sweeper.expireContent(copies, "age");
    out.expiredAge += n;
    counters_.expiredAge += n;
    if (n == 0 || copies.size() < settings_.batch || !pauseBetweenBatches()) break;
  }
  // Rows past BccKeepRows.
  while (true) {
    auto copies = retention.rowsDue(rules, now, settings_.batch);
    if (copies.empty()) break;
    auto before = out.rowsDeleted;
    auto n = sweeper.deleteRows(copies);
    counters_.rowsDeleted += out.rowsDeleted - before;
    if (n == 0 || copies.size() < settings_.batch || !pauseBetweenBatches()) break;
  }
  relieve(sweeper, out);
  counters_.filesDeleted += out.filesDeleted;
  counters_.bytesFreed += out.bytesFreed;
  return out;
}

RetentionSweep RetentionStage::relievePressure() {
  RetentionSweep out;
  if (settings_.minFreeSpace == 0 || freeBytes() >= 2 * settings_.minFreeSpace) {
    short_ = false;
    return out;
  }
  Sweeper sweeper(settings_, database(), clock_(), out);
  relieve(sweeper, out);
  counters_.filesDeleted += out.filesDeleted;
  counters_.bytesFreed += out.bytesFreed;
  return out;
}

void RetentionStage::relieve(Sweeper& sweeper, RetentionSweep& out) {
  if (settings_.minFreeSpace == 0) return;
  const auto floor = 2 * settings_.minFreeSpace;
  const auto freeBefore = freeBytes();
  if (freeBefore >= floor) {
    short_ = false;
    return;
  }
  out.pressure = true;
  ++counters_.pressureSweeps;
  db::Retention retention(database());
  const auto freedBefore = out.bytesFreed;
  while (freeBytes() < floor) {
    auto copies = retention.oldestClean(settings_.sink, settings_.batch);
    if (copies.empty()) break;
    const auto freedBeforeBatch = out.bytesFreed;
    auto n = sweeper.expireContent(copies, "disk pressure");
    out.expiredPressure += n;
    counters_.expiredPressure += n;
    // A batch that gave nothing back (no hole punching here, or the space is taken by
    // something else: the database, logs, flagged copies) would go on to expire every
    // clean copy, the newest too, for nothing: stop, and say so below.
    if (out.bytesFreed == freedBeforeBatch) {
      log().warning(
          "retention: disk pressure: expiring %s clean copies freed nothing on "
          "the spool's file system; not expiring more for it",
          std::to_string(n));
      break;
    }
    if (n == 0 || !pauseBetweenBatches()) break;
  }
  const bool stillShort = freeBytes() < floor;
  // One line per pass that freed something; one when nothing is left to free, until
  // there is room again.
  if (out.expiredPressure > 0 || !short_) {
    log().notice(
        "retention: disk pressure: %s free on the spool's file system, under twice"
        " BccMinFreeSpace (%s): the content of %s clean copies expired early, %s freed%s",
        mib(freeBefore), mib(settings_.minFreeSpace), std::to_string(out.expiredPressure),
        mib(out.bytesFreed - freedBefore),
        stillShort ? std::string("; still short, no clean content left to free") : std::string());
  }
  short_ = stillShort;
}

void RetentionStage::run() {
  pthread_setname_np(pthread_self(), "retention");
  db::Outage outage(log(), "retention");
  using Clock = std::chrono::steady_clock;
  auto nextSweep = Clock::now();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    std::chrono::milliseconds wait{0};
    if (db::Health::process().corrupt()) {
      // Rows read through damaged pages must not decide what the spool loses: nothing is
      // expired until `bccsink db rebuild` (which needs every live record) and a restart.
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(60), [this] { return stopping_; });
      continue;
    }
    try {
      // The whole sweep every `idle`; in between, only a look at the free space (a statvfs)
      // every `pressureCheck`, so that a filling disk is met before the intake refuses.
      if (Clock::now() >= nextSweep) {
        sweepOnce();
        nextSweep = Clock::now() + settings_.idle;
      } else {
        relievePressure();
      }
      outage.succeeded();
      auto untilSweep =
          std::chrono::duration_cast<std::chrono::milliseconds>(nextSweep - Clock::now());
      wait = std::max(std::chrono::milliseconds(1), std::min(settings_.pressureCheck, untilSweep));
    } catch (const std::exception& e) {
      wait = outage.failed(e);
      db_.reset();
    }
    lock.lock();
    cv_.wait_for(lock, wait, [this] { return stopping_; });
  }
}

}  // namespace bccsink
