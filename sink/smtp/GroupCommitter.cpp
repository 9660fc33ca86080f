#include "sink/smtp/GroupCommitter.h"

#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <sqlite3.h>

#include <chrono>

#include "db/Database.h"
#include "db/Health.h"
#include "db/MessageQueue.h"
#include "db/Outage.h"
#include "sink/smtp/Spool.h"

namespace bccsink {
namespace {

// Most messages in one flush round; more wait for the next (bounds a round's latency and
// the iovecs of its pwritev).
constexpr std::size_t kMaxBatch = 512;
// How often the pending count is read back from the database (workers of later stages
// and other processes change it too).
constexpr auto kRecount = std::chrono::seconds(2);

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.intake");
}

std::uint64_t recordBytes(const CommitItem& item) {
  return item.file ? 0 : db::kRecordHeaderSize + item.envelope.size() + item.bytes.size();
}

// How much SQLite waits for the disk at a commit of this connection (WAL mode: NORMAL does
// not fsync the WAL at each commit, FULL does, and so makes every earlier commit durable
// too). Other engines are left as they are.
void setSynchronous(db::Database& database, const char* level) {
  if (database.engine() != db::Engine::Sqlite) return;
  database.session() << std::string("PRAGMA synchronous = ") + level, Poco::Data::Keywords::now;
}

// While a worker's transaction holds SQLite's write lock (through its own fsync), the
// committer polls every 100 us for up to 10 s, instead of the default busy handler's
// sleeps of 1, 2, 5, 10... ms: each of those would hold up a whole batch of 250s.
int pollWhileBusy(void*, int attempts) {
  if (attempts >= 100000) return 0;
  std::this_thread::sleep_for(std::chrono::microseconds(100));
  return 1;
}

// The rows recovery found missing, committed durably before any new message.
void restoreRows(Spool& spool, db::Database& database) {
  auto rows = spool.takeRestorable();
  if (rows.empty()) return;
  setSynchronous(database, "FULL");
  db::MessageQueue(database).insertPending(rows);
  for (const auto& r : rows) {
    log().information("recovery: restored the row of %s from spool/%s", r.id, r.spoolFile);
  }
  log().notice("recovery: %z rows restored from the spool (committed rows lost with the machine)",
               rows.size());
}

void raiseTo(std::atomic<std::uint64_t>& max, std::uint64_t n) {
  auto seen = max.load();
  while (n > seen && !max.compare_exchange_weak(seen, n)) {
  }
}

}  // namespace

GroupCommitter::GroupCommitter(std::string databaseUrl, Spool& spool)
    : url_(std::move(databaseUrl)), spool_(spool) {
  committer_ = std::thread([this] { commitLoop(); });
  std::unique_lock lock(mutex_);
  startedCv_.wait(lock, [this] { return started_; });
  if (startError_) {
    lock.unlock();
    committer_.join();
    std::rethrow_exception(startError_);
  }
  flusher_ = std::thread([this] { flushLoop(); });
}

GroupCommitter::~GroupCommitter() {
  stop();
}

void GroupCommitter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  // The flusher writes what is queued and ends; the committer then commits every round.
  if (flusher_.joinable()) flusher_.join();
  if (committer_.joinable()) committer_.join();
}

void GroupCommitter::submit(CommitItem item, MessageWriter::Done done) {
  // On the session's thread, not the flusher's.
  if (!item.file && item.envelope.empty()) item.envelope = db::encodeEnvelope(item.record);
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back({std::move(item), std::move(done), {}, {}});
      wake_.notify_one();
      return;
    }
  }
  done({Outcome::TempFail, "shutting down"});
}

BatchStats GroupCommitter::stats() const {
  return {messages_.load(), batches_.load(), maxBatch_.load(), flushes_.load(), syncs_.load()};
}

void GroupCommitter::flushLoop() {
  // A round's records go into one segment: never more bytes than a segment holds (a
  // single larger message still goes alone).
  const std::uint64_t maxBytes = spool_.segmentSize();
  while (true) {
    Round round;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything flushed
      std::uint64_t bytes = 0;
      while (!queue_.empty() && round.size() < kMaxBatch) {
        auto next = recordBytes(queue_.front().item);
        if (!round.empty() && bytes + next > maxBytes) break;
        bytes += next;
        round.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    flush(round);
    {
      std::lock_guard lock(mutex_);
      rounds_.push_back(std::move(round));
    }
    flushed_.notify_one();
  }
  {
    std::lock_guard lock(mutex_);
    flushEnded_ = true;
  }
  flushed_.notify_one();
}

void GroupCommitter::flush(Round& round) {
  std::uint64_t syncs = 0;
  // The small messages: one pwritev and one fdatasync of the current segment.
  std::vector<RecordInput> records;
  std::vector<Queued*> recorded;
  for (auto& q : round) {
    if (q.item.file) continue;
    records.push_back({q.item.record.id, q.item.bytes, q.item.sha256, q.item.envelope});
    recorded.push_back(&q);
  }
  if (!records.empty()) {
    std::vector<std::string> locators;
    std::string error;
    ++syncs;
    bool ok = spool_.append(records, locators, error);
    // On failure too: what may have reached the segment is marked dead by the commit stage.
    for (std::size_t k = 0; k < locators.size(); ++k) recorded[k]->locator = locators[k];
    if (!ok) {
      log().error("intake: %s", error);
      for (auto* q : recorded) q->result = {Outcome::TempFail, "cannot write the spool"};
    }
  }
  // The large ones: each file fdatasync'd and renamed, then the folder fsync'd once.
  bool renamed = false;
  for (auto& q : round) {
    if (!q.item.file) continue;
    ++syncs;
    if (q.item.file->finish()) {
      q.locator = q.item.file->fileName();
      renamed = true;
    } else {
      log().error("intake: %s", q.item.file->error());
      q.result = {Outcome::TempFail, "cannot write the spool"};
    }
  }
  if (renamed) {
    std::string error;
    ++syncs;
    if (!spool_.syncDirectory(error)) {
      log().error("intake: %s", error);
      for (auto& q : round) {
        if (q.item.file) q.result = {Outcome::TempFail, "spool fsync failed"};
      }
    }
  }
  flushes_ += 1;
  syncs_ += syncs;
}

void GroupCommitter::commitLoop() {
  std::unique_ptr<db::Database> database;
  try {
    database = std::make_unique<db::Database>(url_);
    restoreRows(spool_, *database);
    setSynchronous(*database, "NORMAL");
    if (database->engine() == db::Engine::Sqlite) {
      sqlite3_busy_handler(Poco::Data::SQLite::Utility::dbHandle(database->session()),
                           pollWhileBusy, nullptr);
    }
    try {
      pending_ = db::MessageQueue(*database).countBacklog();
    } catch (const std::exception& e) {
      // A corrupt database does not stop the start: the intake answers 451 (db/Health.h).
      if (!db::Health::process().noteFailure(e)) throw;
    }
  } catch (...) {
    std::lock_guard lock(mutex_);
    startError_ = std::current_exception();
    started_ = true;
    startedCv_.notify_all();
    return;
  }
  {
    std::lock_guard lock(mutex_);
    started_ = true;
  }
  startedCv_.notify_all();
  db::MessageQueue queue(*database);
  db::Outage outage(log(), "intake");
  auto lastCount = std::chrono::steady_clock::now();
  while (true) {
    std::deque<Round> rounds;
    {
      std::unique_lock lock(mutex_);
      flushed_.wait_for(lock, kRecount, [this] { return flushEnded_ || !rounds_.empty(); });
      if (rounds_.empty() && flushEnded_) break;
      rounds.swap(rounds_);  // every round flushed meanwhile: one transaction
    }
    if (!rounds.empty()) commit(rounds, *database, outage);
    if (std::chrono::steady_clock::now() - lastCount >= kRecount) {
      lastCount = std::chrono::steady_clock::now();
      // Also the probe that notices the database is back while no message comes in.
      try {
        pending_ = queue.countBacklog();
        outage.succeeded();
      } catch (const std::exception& e) {
        outage.failed(e);  // the last count stays
      }
    }
  }
}

void GroupCommitter::commit(std::deque<Round>& rounds, db::Database& database, db::Outage& outage) {
  db::MessageQueue queue(database);
  std::vector<db::MessageRecord> rows;
  std::vector<Queued*> rowOf;
  std::size_t n = 0;
  bool standalone = false;  // a row whose message has no record to restore it from
  for (auto& round : rounds) {
    n += round.size();
    for (auto& q : round) {
      if (q.result.outcome != Outcome::Ok) continue;
      q.item.record.spoolFile = q.locator;
      rows.push_back(q.item.record);
      rowOf.push_back(&q);
      standalone = standalone || q.item.file != nullptr;
    }
  }
  if (!rows.empty()) {
    // No back-off here: each batch is one try, its senders waiting for the answer, so the
    // first batch after the database is back gets its 250s. One try at a time, bounded by
    // the engine's timeouts (PostgreSQL: connect_timeout 5 s, lock_timeout 10 s, TCP user
    // timeout 30 s for a server that vanished mid-statement).
    bool failed = false;
    try {
      if (standalone) setSynchronous(database, "FULL");
      queue.insertPending(rows);
      if (standalone) setSynchronous(database, "NORMAL");
      pending_ += static_cast<std::int64_t>(rows.size());
      outage.succeeded();
    } catch (const db::DatabaseUnavailable& e) {
      failed = true;
      outage.failed(e);
      for (auto* q : rowOf) q->result = {Outcome::TempFail, "database unavailable"};
    } catch (const std::exception& e) {
      failed = true;
      outage.failed(e);
      for (auto* q : rowOf) q->result = {Outcome::TempFail, "database error"};
    }
    if (failed) {
      // The outage is logged once (db/Outage.h); its 451s are counted in /metrics.
      log().debug("intake: commit of %z messages failed: each answered 451 4.3.0", rows.size());
      if (standalone) {
        try {
          setSynchronous(database, "NORMAL");
        } catch (...) {
          // FULL stays: slower, never less safe.
        }
      }
    }
  }
  // What is on disk without a row is never acknowledged: records are marked dead, files
  // removed (the MTA sends the message again).
  std::vector<std::string> dead;
  for (auto& round : rounds) {
    for (auto& q : round) {
      if (q.result.outcome == Outcome::Ok || q.locator.empty()) continue;
      if (q.item.file) {
        q.item.file->discard();
      } else {
        dead.push_back(q.locator);
      }
    }
  }
  if (!dead.empty()) {
    // Marked and synced before the 451: a live record without a row is restored at the
    // next start, and this message's sender will send it again.
    std::string error;
    syncs_ += 1;
    if (!spool_.markDead(dead, error)) {
      log().error(
          "intake: %s (a record not marked is restored at the next start: the "
          "message may then be there twice)",
          error);
    }
  }
  batches_ += 1;
  messages_ += n;
  raiseTo(maxBatch_, n);
  for (auto& round : rounds) {
    for (auto& q : round) q.done(std::move(q.result));
  }
}

}  // namespace bccsink
