#include "db/Database.h"

#include <Poco/Data/DataException.h>
#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/PostgreSQL/SessionImpl.h>
#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/SQLite/Utility.h>
#include <Poco/Data/Statement.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <system_error>

#include "db/DatabaseUrl.h"
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
  std::call_once(once, [] {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::PostgreSQL::Connector::registerConnector();
  });
}

// How long opening a PostgreSQL connection may take (libpq's connect_timeout, set by Poco
// from the session's login timeout), in seconds.
constexpr std::size_t kConnectTimeout = 5;

// Added to every PostgreSQL connection: a server that vanished (not a clean restart, which
// closes the socket) fails the statement within about 30 s instead of hanging it.
const char* kKeepalives =
    " keepalives=1 keepalives_idle=10 keepalives_interval=5 keepalives_count=3"
    " tcp_user_timeout=30000";

PGconn* connection(Poco::Data::Session& session) {
  auto* impl = static_cast<Poco::Data::PostgreSQL::SessionImpl*>(session.impl());
  return static_cast<PGconn*>(impl->handle());
}

}  // namespace

std::string Database::numberedPlaceholders(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  int n = 0;
  char quote = 0;  // inside '...' or "..."
  for (char c : text) {
    if (quote) {
      if (c == quote) quote = 0;  // '' inside a literal closes and reopens: same result
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

std::string Database::sql(std::string_view text) const {
  if (engine_ == Engine::Sqlite) return std::string(text);
  return numberedPlaceholders(text);
}

Database::Database(const std::string& url, Durability durability) : durability_(durability) {
  registerConnectors();
  DatabaseUrl parsed;
  try {
    parsed = DatabaseUrl::parse(url);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(e.what());
  }
  shown_ = parsed.shown;
  if (parsed.postgresql) {
    engine_ = Engine::Postgresql;
    openPostgres(parsed.conninfo);
    return;
  }
  const std::string path = parsed.sqlitePath;
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
  if (session_ && engine_ == Engine::Sqlite)
    sqlite3_wal_hook(Poco::Data::SQLite::Utility::dbHandle(*session_), nullptr, nullptr);
}

void Database::openPostgres(const std::string& conninfo) {
  const std::string full =
      conninfo +
      (conninfo.find("application_name=") == std::string::npos ? " application_name=bccsink" : "") +
      kKeepalives;
  try {
    session_ = std::make_unique<Poco::Data::Session>("postgresql", full, kConnectTimeout);
  } catch (const Poco::Exception& e) {
    throwUnavailable("cannot connect: " + e.displayText());
  }
  configurePostgres();
}

void Database::configurePostgres() {
  // lock_timeout: a writer waits for a row lock as SQLite's busy_timeout lets it wait.
  // idle_in_transaction: a transaction this process forgot does not hold back vacuum (and
  // every SKIP LOCKED claim) for long. synchronous_commit: Deferred is the engine's own
  // form of SQLite's NORMAL (a commit may be lost with the server, never half-applied).
  runPostgres(("SET lock_timeout = '" + std::to_string(kBusyTimeout.count()) + "ms'").c_str());
  runPostgres("SET idle_in_transaction_session_timeout = '60s'");
  runPostgres("SET client_encoding = 'UTF8'");
  // libpq prints a server's NOTICE (CREATE TABLE IF NOT EXISTS that exists) on stderr.
  runPostgres("SET client_min_messages = warning");
  runPostgres(durability_ == Durability::Durable ? "SET synchronous_commit = on"
                                                 : "SET synchronous_commit = off");
}

Poco::Data::Session& Database::session() {
  if (engine_ == Engine::Postgresql && !session_->isConnected()) {
    if (depth_ > 0) throwUnavailable("the connection was lost inside a transaction");
    try {
      session_->reconnect();
    } catch (const Poco::Exception& e) {
      throwUnavailable("cannot reconnect: " + e.displayText());
    }
    configurePostgres();
  }
  return *session_;
}

void Database::throwUnavailable(const std::string& what) {
  throw DatabaseUnavailable("database " + shown_ + " is unavailable: " + what);
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
    if (engine_ == Engine::Postgresql) {
      session();  // a dropped connection is opened again before the transaction
      run("BEGIN");
      // For this transaction only: ends with it.
      if (commit == Durability::Durable && durability_ == Durability::Deferred)
        run("SET LOCAL synchronous_commit = on");
    } else {
      if (commit == Durability::Durable && durability_ == Durability::Deferred) {
        run(synchronousFor(Durability::Durable));
        raisedSync_ = true;
      }
      run("BEGIN IMMEDIATE");
    }
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
  if (engine_ == Engine::Postgresql) return runPostgres(sql);
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

void Database::runPostgres(const char* sql) {
  // libpq's own call: one round trip, where a Poco statement takes four (prepare,
  // describe, execute, deallocate).
  PGconn* conn = connection(*session_);
  PGresult* result = conn ? PQexec(conn, sql) : nullptr;
  const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
    PQclear(result);
    return;
  }
  std::string error = conn ? PQerrorMessage(conn) : "no connection";
  while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
  if (result) PQclear(result);
  if (!conn || PQstatus(conn) != CONNECTION_OK) throwUnavailable(std::string(sql) + ": " + error);
  throw std::runtime_error(std::string(sql) + ": " + error);
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
