#pragma once
// Database sessions for the HTTP server's worker threads. A Poco Data session is not
// thread-safe, so each request borrows one for its whole life and gives it back; idle ones
// are kept (opening SQLite and setting its pragmas costs more than a small query), at most
// `keep` of them.
//
// A session is never lent dead: one given back while an exception unwinds (the request
// failed, perhaps because the server went away) is closed instead of kept, and a
// PostgreSQL one idle for more than a second is asked `SELECT 1` before it is lent (a
// server restarted meanwhile closed it), closed and replaced when that fails. Waits are
// bounded: opening one by the engine's connect timeout (PostgreSQL 5 s), and with `most`
// set, a borrower finding that many open waits at most `wait` for one to come back.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "db/Database.h"

namespace bccsink::db {

class DatabasePool {
 public:
  // `most`: sessions open at once, lent and idle (0: no limit but the borrowers' number).
  DatabasePool(std::string url, std::size_t keep, std::size_t most = 0,
               std::chrono::milliseconds wait = std::chrono::seconds(5));

  // Returns the session to the pool when destroyed, unless an exception is unwinding
  // past it or discard() was called: then it is closed.
  class Lease {
   public:
    Lease(DatabasePool& pool, std::unique_ptr<db::Database> db)
        : pool_(&pool), db_(std::move(db)), unwinding_(std::uncaught_exceptions()) {}
    Lease(Lease&&) = default;
    ~Lease();
    db::Database& operator*() { return *db_; }
    db::Database* operator->() { return db_.get(); }
    // The session is not to be lent again (its borrower saw it fail).
    void discard() { discarded_ = true; }

   private:
    DatabasePool* pool_;
    std::unique_ptr<db::Database> db_;
    int unwinding_;  // exceptions in flight when it was lent
    bool discarded_ = false;
  };

  // An idle session, or a new one. Throws DatabaseUnavailable when a PostgreSQL server
  // cannot be reached, std::runtime_error when the database cannot be opened or, with
  // `most`, when no session came back within `wait`.
  Lease acquire();
  // Sessions open now, idle ones only (for tests).
  std::size_t idle() const;
  // Sessions open now, lent and idle (for tests).
  std::size_t open() const;

 private:
  struct Idle {
    std::unique_ptr<db::Database> db;
    std::chrono::steady_clock::time_point since;
  };

  void giveBack(std::unique_ptr<db::Database> db, bool keep);
  static bool alive(db::Database& db);

  const std::string url_;
  const std::size_t keep_;
  const std::size_t most_;
  const std::chrono::milliseconds wait_;
  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<Idle> idle_;
  std::size_t open_ = 0;
};

}  // namespace bccsink::db
