#pragma once
// Database sessions for the HTTP server's worker threads. A Poco Data session is not
// thread-safe, so each request borrows one for its whole life and gives it back; idle ones
// are kept (opening SQLite and setting its pragmas costs more than a small query), at most
// `keep` of them.

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/Database.h"

namespace bccsink::db {

class DatabasePool {
 public:
  DatabasePool(std::string url, std::size_t keep);

  // Returns the session to the pool when destroyed.
  class Lease {
   public:
    Lease(DatabasePool& pool, std::unique_ptr<db::Database> db)
        : pool_(&pool), db_(std::move(db)) {}
    Lease(Lease&&) = default;
    ~Lease();
    db::Database& operator*() { return *db_; }
    db::Database* operator->() { return db_.get(); }

   private:
    DatabasePool* pool_;
    std::unique_ptr<db::Database> db_;
  };

  // An idle session, or a new one; throws std::runtime_error when the database cannot be
  // opened.
  Lease acquire();
  // Sessions open now, idle ones only (for tests).
  std::size_t idle() const;

 private:
  void giveBack(std::unique_ptr<db::Database> db);

  const std::string url_;
  const std::size_t keep_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<db::Database>> idle_;
};

}  // namespace bccsink::db
