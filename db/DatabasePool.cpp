#include "db/DatabasePool.h"

#include <Poco/Data/Statement.h>

#include <stdexcept>

namespace bccsink::db {
namespace {

// A PostgreSQL session idle longer than this is checked before it is lent: long enough
// that a busy API pays nothing, short enough that a restart is noticed by the check.
constexpr auto kCheckAfterIdle = std::chrono::seconds(1);

}  // namespace

DatabasePool::DatabasePool(std::string url, std::size_t keep, std::size_t most,
                           std::chrono::milliseconds wait)
    : url_(std::move(url)), keep_(keep), most_(most), wait_(wait) {}

DatabasePool::Lease::~Lease() {
  if (db_) pool_->giveBack(std::move(db_), !discarded_ && std::uncaught_exceptions() <= unwinding_);
}

bool DatabasePool::alive(db::Database& db) {
  try {
    int one = 0;
    db.session() << "SELECT 1", Poco::Data::Keywords::into(one), Poco::Data::Keywords::now;
    return one == 1;
  } catch (const std::exception&) {
    return false;
  }
}

DatabasePool::Lease DatabasePool::acquire() {
  std::unique_lock lock(mutex_);
  while (true) {
    if (!idle_.empty()) {
      auto idle = std::move(idle_.back());
      idle_.pop_back();
      if (idle.db->engine() == Engine::Sqlite ||
          std::chrono::steady_clock::now() - idle.since < kCheckAfterIdle)
        return Lease(*this, std::move(idle.db));
      lock.unlock();
      if (alive(*idle.db)) return Lease(*this, std::move(idle.db));
      idle.db.reset();  // closed; the next idle one, or a new one
      lock.lock();
      --open_;
      continue;
    }
    if (most_ == 0 || open_ < most_) break;
    if (!returned_.wait_for(lock, wait_, [this] { return !idle_.empty() || open_ < most_; })) {
      throw std::runtime_error("all " + std::to_string(most_) +
                               " database sessions were busy for " + std::to_string(wait_.count()) +
                               " ms");
    }
  }
  ++open_;  // counted while it opens, so that `most` holds
  lock.unlock();
  try {
    return Lease(*this, std::make_unique<db::Database>(url_));
  } catch (...) {
    lock.lock();
    --open_;
    returned_.notify_one();
    throw;
  }
}

std::size_t DatabasePool::idle() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

std::size_t DatabasePool::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

void DatabasePool::giveBack(std::unique_ptr<db::Database> db, bool keep) {
  {
    std::lock_guard lock(mutex_);
    if (keep && idle_.size() < keep_) {
      idle_.push_back({std::move(db), std::chrono::steady_clock::now()});
    } else {
      --open_;
    }
  }
  returned_.notify_one();
  // A session not kept closes here, outside the lock (db goes out of scope).
}

}  // namespace bccsink::db
