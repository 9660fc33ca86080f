#include "sink/smtp/GroupCommitter.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "sink/smtp/Spool.h"

namespace bccsink {

namespace {

// Most messages in one round; more wait for the next (bounds a round's latency and the
// iovecs of its pwritev).
constexpr std::size_t kMaxBatch = 512;
// How often the pending count is read back from the database (workers of later stages
// and other processes change it too).
constexpr auto kRecount = std::chrono::seconds(2);

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.intake");
}

std::uint64_t recordBytes(const CommitItem& item) {
  return item.file ? 0 : db::kRecordHeaderSize + item.bytes.size();
}

}  // namespace

GroupCommitter::GroupCommitter(std::string databaseUrl, Spool& spool)
    : url_(std::move(databaseUrl)), spool_(spool) {
  thread_ = std::thread([this] { run(); });
  std::unique_lock lock(mutex_);
  startedCv_.wait(lock, [this] { return started_; });
  if (startError_) {
    lock.unlock();
    thread_.join();
    std::rethrow_exception(startError_);
  }
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
  if (thread_.joinable()) thread_.join();
}

void GroupCommitter::submit(CommitItem item, MessageWriter::Done done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back({std::move(item), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done({Outcome::TempFail, "shutting down"});
}

BatchStats GroupCommitter::stats() const {
  return {batches_.load(), messages_.load(), maxBatch_.load(), syncs_.load()};
}

void GroupCommitter::run() {
  std::unique_ptr<db::Database> database;
  try {
    database = std::make_unique<db::Database>(url_);
    pending_ = db::MessageQueue(*database).countBacklog();
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
  // A round's records go into one segment: never more bytes than a segment holds (a
  // single larger message still goes alone).
  const std::uint64_t maxBytes = spool_.segmentSize();
  auto lastCount = std::chrono::steady_clock::now();
  std::deque<Queued> round;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, kRecount, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) break;
      std::uint64_t bytes = 0;
      while (!queue_.empty() && round.size() < kMaxBatch) {
        auto next = recordBytes(queue_.front().item);
        if (!round.empty() && bytes + next > maxBytes) break;
        bytes += next;
        round.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    if (!round.empty()) {
      commitRound(round, queue);
      round.clear();
    }
    if (std::chrono::steady_clock::now() - lastCount >= kRecount) {
      lastCount = std::chrono::steady_clock::now();
      try {
        pending_ = queue.countBacklog();
      } catch (...) {
        // Keep the last count; the next commit will report the database's trouble.
      }
    }
  }
  // Whatever arrived after the stop request fails softly: the MTA retries.
  std::deque<Queued> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(queue_);
  }
  for (auto& q : left) q.done({Outcome::TempFail, "shutting down"});
}

void GroupCommitter::commitRound(std::deque<Queued>& round, db::MessageQueue& queue) {
  const std::size_t n = round.size();
  std::vector<StoreResult> results(n);
  std::vector<std::string> locators(n);
  std::uint64_t syncs = 0;

  // 1. The small messages: one pwritev and one fdatasync of the current segment.
  std::vector<RecordInput> records;
  std::vector<std::size_t> recordAt;
  for (std::size_t i = 0; i < n; ++i) {
    auto& item = round[i].item;
    if (item.file) continue;
    records.push_back({item.record.id, item.bytes, item.sha256});
    recordAt.push_back(i);
  }
  if (!records.empty()) {
    std::vector<std::string> written;
    std::string error;
    ++syncs;
    if (spool_.append(records, written, error)) {
      for (std::size_t k = 0; k < recordAt.size(); ++k) locators[recordAt[k]] = written[k];
    } else {
      log().error("intake: %s", error);
      for (auto i : recordAt) results[i] = {Outcome::TempFail, "cannot write the spool"};
    }
  }

  // 2. The large ones: each file fdatasync'd and renamed, then the folder fsync'd once.
  bool renamed = false;
  for (std::size_t i = 0; i < n; ++i) {
    auto& file = round[i].item.file;
    if (!file) continue;
    ++syncs;
    if (file->finish()) {
      locators[i] = file->fileName();
      renamed = true;
    } else {
      log().error("intake: %s", file->error());
      results[i] = {Outcome::TempFail, "cannot write the spool"};
    }
  }
  if (renamed) {
    std::string error;
    ++syncs;
    if (!spool_.syncDirectory(error)) {
      log().error("intake: %s", error);
      for (std::size_t i = 0; i < n; ++i) {
        if (round[i].item.file) results[i] = {Outcome::TempFail, "spool fsync failed"};
      }
    }
  }

  // 3. Every row of what is on disk, in one transaction.
  std::vector<db::MessageRecord> rows;
  std::vector<std::size_t> rowAt;
  for (std::size_t i = 0; i < n; ++i) {
    if (results[i].outcome != Outcome::Ok) continue;
    round[i].item.record.spoolFile = locators[i];
    rows.push_back(round[i].item.record);
    rowAt.push_back(i);
  }
  if (!rows.empty()) {
    std::string failure;
    try {
      queue.insertPending(rows);
      pending_ += static_cast<std::int64_t>(rows.size());
    } catch (const Poco::Exception& e) {
      failure = e.displayText();
    } catch (const std::exception& e) {
      failure = e.what();
    }
    if (!failure.empty()) {
      log().error("intake: commit of %z messages failed: %s", rows.size(), failure);
      for (auto i : rowAt) results[i] = {Outcome::TempFail, "database error"};
    }
  }

  // 4. What is on disk without a row is never acknowledged: records are marked dead,
  // files removed (the MTA sends the message again).
  std::vector<std::string> dead;
  for (std::size_t i = 0; i < n; ++i) {
    if (results[i].outcome == Outcome::Ok || locators[i].empty()) continue;
    if (round[i].item.file) {
      round[i].item.file->discard();
    } else {
      dead.push_back(locators[i]);
    }
  }
  if (!dead.empty()) {
    std::string error;
    ++syncs;
    if (!spool_.markDead(dead, error)) {
      log().error("intake: %s (recovery marks them at the next start)", error);
    }
  }

  batches_ += 1;
  messages_ += n;
  syncs_ += syncs;
  auto max = maxBatch_.load();
  while (n > max && !maxBatch_.compare_exchange_weak(max, n)) {
  }
  for (std::size_t i = 0; i < n; ++i) round[i].done(std::move(results[i]));
}

}  // namespace bccsink
