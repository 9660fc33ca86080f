#pragma once
// The one place that knows which SQL engine is behind `DatabaseUrl`.

#include <Poco/Data/Session.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "db/Durability.h"

struct sqlite3;

namespace bccsink::db {

enum class Engine { Sqlite, Postgresql };
class WriteGate;

// The database server is gone (PostgreSQL stopped, restarting, unreachable): a stage
// backs off and tries again; the next session() opens a new connection. The intake
// answers 451 4.3.0. Other errors stay what they are (Poco's or std::runtime_error).
class DatabaseUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Database {
 public:
  // `url` is `sqlite:PATH` (or a bare path) for the embedded default, or
  // `postgresql://USER@HOST[:PORT]/DB[?...]` (db/DatabaseUrl.h). `durability` is what this
  // connection's commits promise (db/Durability.h): Durable unless the connection belongs
  // to a stage whose lost commit only means work done again. Throws
  // DatabaseUnavailable when a PostgreSQL server cannot be reached, std::runtime_error
  // with a readable message for anything else that keeps it from opening.
  explicit Database(const std::string& url, Durability durability = Durability::Durable);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // The connection. A PostgreSQL one the server dropped (a failed statement found it
  // gone) is opened again here, outside a transaction; inside one, or when the server is
  // still away, this throws DatabaseUnavailable.
  Poco::Data::Session& session();
  Engine engine() const { return engine_; }
  Durability durability() const { return durability_; }

  // Every statement's text goes through here: PostgreSQL (through Poco 1.11) takes only
  // `$1..$n`, so each `?` outside a quoted literal becomes the next `$n`; SQLite gets the
  // text as written. Build the whole text first, then pass it.
  std::string sql(std::string_view text) const;

  // Starts a transaction that takes the write lock at once (SQLite's DEFERRED default
  // would fail with SQLITE_BUSY on upgrade instead of waiting for busy_timeout), after
  // the other writers of this process (db/WriteGate.h). `commit` Durable on a Deferred
  // connection makes this one transaction Durable (a report mail sent is not forgotten).
  void beginWrite(Durability commit);
  void beginWrite() { beginWrite(durability_); }
  // What a claim's row choice appends so that many claimers each get another row:
  // " FOR UPDATE SKIP LOCKED" on PostgreSQL; nothing on SQLite, whose write transaction
  // already serialises claimers.
  const char* claimLock() const {
    return engine_ == Engine::Sqlite ? "" : " FOR UPDATE SKIP LOCKED";
  }
  // Both end the transaction (a joined one: see WriteTransaction) and let the next
  // writer of this process in, also when they throw.
  void commit();
  void rollback();

  // Brings the schema up to date; safe to call from several processes at once.
  void migrate();

  // `sql` when PostgreSQL's `?` -> `$n` rewriting is wanted without a Database (tests).
  static std::string numberedPlaceholders(std::string_view text);

 private:
  void run(const char* sql);  // a statement without parameters or results
  void runPostgres(const char* sql);
  void openPostgres(const std::string& conninfo);
  void configurePostgres();
  [[noreturn]] void throwUnavailable(const std::string& what);
  void leaveGate();
  void endWrite();
  static int afterCommit(void* self, sqlite3* handle, const char* name, int pages);

  Engine engine_;
  Durability durability_;
  std::string shown_;  // the URL, for messages
  std::unique_ptr<Poco::Data::Session> session_;
  std::shared_ptr<WriteGate> gate_;  // null for a database only this connection sees
  bool writing_ = false;             // holding the gate: from beginWrite to the commit's end
  int depth_ = 0;                    // write transactions open, the joined ones included
  bool durableNow_ = false;          // the open transaction commits Durable
  bool partFailed_ = false;          // a joined one rolled back: so does the outermost
  bool raisedSync_ = false;          // this transaction asked for Durable on a Deferred one
};

// RAII write transaction: rolls back unless commit() was called. Durable as its
// connection, or Durable when asked. Inside another one on the same connection it joins
// it (a repository's method inside a caller's unit of work): its commit waits for the
// outer one's, and its rollback makes the outer one roll back.
class WriteTransaction {
 public:
  explicit WriteTransaction(Database& db) : db_(db) { db_.beginWrite(); }
  WriteTransaction(Database& db, Durability commit) : db_(db) { db_.beginWrite(commit); }
  ~WriteTransaction();
  void commit();

 private:
  Database& db_;
  bool done_ = false;
};

}  // namespace bccsink::db
