#include "db/DatabasePool.h"

namespace bccsink::db {

DatabasePool::DatabasePool(std::string url, std::size_t keep) : url_(std::move(url)), keep_(keep) {}

DatabasePool::Lease::~Lease() {
  if (db_) pool_->giveBack(std::move(db_));
}

DatabasePool::Lease DatabasePool::acquire() {
  {
    std::lock_guard lock(mutex_);
    if (!idle_.empty()) {
      auto db = std::move(idle_.back());
      idle_.pop_back();
      return Lease(*this, std::move(db));
    }
  }
  return Lease(*this, std::make_unique<db::Database>(url_));
}

std::size_t DatabasePool::idle() const {
  std::lock_guard lock(mutex_);
  return idle_.size();
}

void DatabasePool::giveBack(std::unique_ptr<db::Database> db) {
  std::lock_guard lock(mutex_);
  if (idle_.size() < keep_) idle_.push_back(std::move(db));
}

}  // namespace bccsink::db
