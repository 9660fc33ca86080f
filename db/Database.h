#pragma once
// The one place that knows which SQL engine is behind `DatabaseUrl`.

#include <Poco/Data/Session.h>

#include <memory>
#include <string>

namespace bccsink::db {

enum class Engine { Sqlite, Postgresql };

class Database {
 public:
  // `url` is `sqlite:PATH` (or a bare path) for the embedded default.
  // Throws std::runtime_error with a readable message when it cannot open.
  explicit Database(const std::string& url);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Poco::Data::Session& session() { return *session_; }
  Engine engine() const { return engine_; }

  // Starts a transaction that takes the write lock at once (SQLite's DEFERRED default
  // would fail with SQLITE_BUSY on upgrade instead of waiting for busy_timeout).
  void beginWrite();
  // What a claim's row choice appends so that many claimers each get another row:
  // " FOR UPDATE SKIP LOCKED" on PostgreSQL; nothing on SQLite, whose write transaction
  // already serialises claimers.
  const char* claimLock() const {
    return engine_ == Engine::Sqlite ? "" : " FOR UPDATE SKIP LOCKED";
  }
  void commit();
  void rollback();

  // Brings the schema up to date; safe to call from several processes at once.
  void migrate();

 private:
  Engine engine_;
  std::unique_ptr<Poco::Data::Session> session_;
};

// RAII write transaction: rolls back unless commit() was called.
class WriteTransaction {
 public:
  explicit WriteTransaction(Database& db) : db_(db) { db_.beginWrite(); }
  ~WriteTransaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace bccsink::db
