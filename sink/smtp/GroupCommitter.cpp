#include "sink/smtp/GroupCommitter.h"

#include <Poco/Logger.h>

#include <chrono>
#include <vector>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "sink/smtp/Spool.h"

namespace bccsink {
namespace {

// Most rows in one transaction; more wait for the next round (bounds commit latency).
constexpr std::size_t kMaxBatch = 512;
// How often the pending count is read back from the database (workers of later
// stages and other processes change it too).
constexpr auto kRecount = std::chrono::seconds(2);

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

StoreResult GroupCommitter::commit(db::MessageRecord record) {
  Item item;
  item.record = std::move(record);
  std::unique_lock lock(mutex_);
  if (stopping_) return {Outcome::TempFail, "shutting down"};
  queue_.push_back(&item);
  wake_.notify_one();
  item.doneCv.wait(lock, [&] { return item.done; });
  return item.result;
}

void GroupCommitter::run() {
  auto& log = Poco::Logger::get("bccsink.intake");
  std::unique_ptr<db::Database> database;
  try {
    database = std::make_unique<db::Database>(url_);
    db::MessageQueue q(*database);
    pending_ = q.countBacklog();
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
  auto lastCount = std::chrono::steady_clock::now();
  std::vector<Item*> batch;
  std::vector<db::MessageRecord> rows;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, kRecount, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) break;
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    StoreResult result;
    if (!batch.empty()) {
      rows.clear();
      for (auto* item : batch) rows.push_back(item->record);
      std::string error;
      if (!spool_.syncDirectory(error)) {
        result = {Outcome::TempFail, "spool fsync failed"};
        log.error("intake: %s", error);
      } else {
        try {
          queue.insertPending(rows);
          pending_ += static_cast<std::int64_t>(rows.size());
        } catch (const Poco::Exception& e) {
          result = {Outcome::TempFail, "database error"};
          log.error("intake: commit of %z messages failed: %s", rows.size(), e.displayText());
        } catch (const std::exception& e) {
          result = {Outcome::TempFail, "database error"};
          log.error("intake: commit of %z messages failed: %s", rows.size(), std::string(e.what()));
        }
      }
      {
        std::lock_guard lock(mutex_);
        for (auto* item : batch) {
          item->result = result;
          item->done = true;
          item->doneCv.notify_one();
        }
      }
      batch.clear();
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
  std::lock_guard lock(mutex_);
  for (auto* item : queue_) {
    item->result = {Outcome::TempFail, "shutting down"};
    item->done = true;
    item->doneCv.notify_one();
  }
  queue_.clear();
}

}  // namespace bccsink
