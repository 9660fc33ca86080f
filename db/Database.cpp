#include "db/Database.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Statement.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "db/Schema.h"
#include "db/WriteGate.h"

using namespace Poco::Data::Keywords;

namespace bccsink::db {
namespace {

// How long a writer waits for another (SQLite's busy_timeout, and this process's gate).
constexpr std::chrono::milliseconds kBusyTimeout{10'000};

// The log length (in pages) at which a commit checkpoints it: SQLite's default for the
// stages' connections; later for Durable ones, whose commit a 250 waits on, so that in the
// daemon the analysis workers' commits do it.
int checkpointPages(Durability d) {
  return d == Durability::Durable ? 4000 : 1000;
}

const char* synchronousFor(Durability d) {
  return d == Durability::Durable ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
}

void registerConnectors() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Data::SQLite::Connector::registerConnector(); });
}

}  // namespace

Database::Database(const std::string& url, Durability durability) : durability_(durability) {
  registerConnectors();
  std::string path = url;
  if (url.rfind("sqlite:", 0) == 0) {
    path = url.substr(7);
  } else if (url.rfind("postgresql:", 0) == 0) {
    throw std::runtime_error("DatabaseUrl " + url +
                             ": the PostgreSQL connector is not built into this version yet");
  }
  if (path.empty()) throw std::runtime_error("DatabaseUrl is empty");
  engine_ = Engine::Sqlite;
  try {
    // Poco retries a failed open for its login timeout (60 s by default); a path that
    // cannot be opened will not become openable by waiting.
    session_ = std::make_unique<Poco::Data::Session>("SQLite", path, 2);
    auto& s = *session_;
    // Poco's SQLite connector defaults to a busy timeout of 0: any concurrent writer
    // would fail at once. Wait instead, as a server must.
    s << "PRAGMA busy_timeout = " + std::to_string(kBusyTimeout.count()), now;
    std::string mode;
    s << "PRAGMA journal_mode = WAL", into(mode), now;
    // FULL: a commit is on disk when COMMIT returns; the 250 after DATA depends on it.
    // NORMAL: in the log, synced with the next FULL commit or checkpoint (Durability.h).
    s << synchronousFor(durability_), now;
    s << "PRAGMA foreign_keys = ON", now;
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot open database " + path + ": " + e.displayText());
  }
  if (path != ":memory:") {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(path, ec);
    gate_ = WriteGate::of(ec ? path : canonical.string());
  }
  // Replaces SQLite's automatic checkpoint (same rule, a later one for Durable
  // connections: the intake leaves it to the stages) and opens the gate as early as can be.
  sqlite3_wal_hook(Poco::Data::SQLite::Utility::dbHandle(*session_), &Database::afterCommit, this);
}

int Database::afterCommit(void* self, sqlite3* handle, const char* name, int pages) {
  // Called inside COMMIT once the transaction is in the log and SQLite's write lock is
  // released. A long log is checkpointed first, still inside this process's gate: a
  // writer let in during the checkpoint would append to the log, which then could not
  // start over from its beginning and would grow, every commit after retrying the
  // checkpoint (measured: 3 times the syncs). Otherwise the next writer goes in now.
  // While a Durable writer (a 250) waits at the gate, a later commit does it, unless
  // the log has grown to four times the length.
  auto& db = *static_cast<Database*>(self);
  const int due = checkpointPages(db.durability_);
  const bool intakeWaits = db.gate_ && db.gate_->durableWaiting();
  if (pages >= due && (!intakeWaits || pages >= 4 * due)) {
    // PASSIVE: copies what no reader still needs and waits for nobody.
    sqlite3_wal_checkpoint_v2(handle, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  db.leaveGate();
  return SQLITE_OK;
}

Database::~Database() {
  // Closing the session rolls back what is open; the gate must not stay shut with it.
  leaveGate();
  if (session_)
    sqlite3_wal_hook(Poco::Data::SQLite::Utility::dbHandle(*session_), nullptr, nullptr);
}

void Database::beginWrite(Durability commit) {
  if (depth_ > 0) {
    // Joins the transaction open on this connection (a repository called inside a
    // caller's unit of work).
    if (commit == Durability::Durable && !durableNow_)
      throw std::logic_error("a Durable write cannot join a Deferred transaction");
    ++depth_;
    return;
  }
  if (gate_ && !gate_->enter(commit, kBusyTimeout)) {
    throw std::runtime_error("database is locked: another thread of this process has written for " +
                             std::to_string(kBusyTimeout.count() / 1000) + " s");
  }
  writing_ = true;
  try {
    if (commit == Durability::Durable && durability_ == Durability::Deferred) {
      run(synchronousFor(Durability::Durable));
      raisedSync_ = true;
    }
    run(engine_ == Engine::Sqlite ? "BEGIN IMMEDIATE" : "BEGIN");
  } catch (...) {
    endWrite();
    throw;
  }
  depth_ = 1;
  durableNow_ = commit == Durability::Durable;
  partFailed_ = false;
}

void Database::commit() {
  if (depth_ > 1) {
    --depth_;  // the outermost commit decides
    return;
  }
  if (partFailed_) {
    rollback();
    throw std::runtime_error("transaction rolled back: a part of it failed");
  }
  // A failed COMMIT may leave the transaction open: the caller's rollback() ends it.
  run("COMMIT");
  depth_ = 0;
  endWrite();
}

void Database::rollback() {
  if (depth_ > 1) {
    --depth_;
    partFailed_ = true;  // the outermost one rolls back, whatever it does
    return;
  }
  if (depth_ == 0) return;  // nothing open (a failed commit already rolled back)
  depth_ = 0;
  try {
    run("ROLLBACK");
  } catch (...) {
    endWrite();
    throw;
  }
  endWrite();
}

void Database::run(const char* sql) {
  // SQLite's own call: these run several times per transaction, and a Poco statement
  // (objects, binding, extraction) costs more than the statement itself, inside the gate.
  char* error = nullptr;
  if (sqlite3_exec(Poco::Data::SQLite::Utility::dbHandle(*session_), sql, nullptr, nullptr,
                   &error) != SQLITE_OK) {
    std::string text = std::string(sql) + ": " + (error ? error : "failed");
    sqlite3_free(error);
    throw std::runtime_error(text);
  }
}

void Database::leaveGate() {
  if (!writing_) return;
  writing_ = false;
  if (gate_) gate_->leave();
}

void Database::endWrite() {
  leaveGate();  // unless afterCommit did
  if (raisedSync_) {
    raisedSync_ = false;
    try {
      run(synchronousFor(durability_));
    } catch (...) {
      // Left at FULL: slower, never less safe.
    }
  }
}

void Database::migrate() {
  applyMigrations(*this);
}

WriteTransaction::~WriteTransaction() {
  if (!done_) {
    try {
      db_.rollback();
    } catch (...) {
      // The connection may be gone; nothing was committed, which is what matters.
    }
  }
}

void WriteTransaction::commit() {
  db_.commit();
  done_ = true;
}

}  // namespace bccsink::db
