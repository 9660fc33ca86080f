#pragma once
// The daemon's health as one process-wide state that every stage reads and any stage may
// set: today only "the database is corrupt" (SQLite's SQLITE_CORRUPT or SQLITE_NOTADB:
// damaged pages, a file that is not a database). That is not an outage that passes
// (db/Outage.h): every round would fail the same way, and a message taken now could not
// be queued. So the first stage that meets it sets the state and logs once, at critical,
// what happened and what to do; the intake then answers 451 4.3.0 (the MTA keeps the
// copies), the other stages wait long between rounds, and /metrics says it in the
// bccsink_health gauge. Only a restart after `bccsink db rebuild` clears it.

#include <atomic>
#include <exception>
#include <mutex>
#include <string>

namespace bccsink::db {

class Health {
 public:
  enum class State { Ok, DatabaseCorrupt };

  // The one of this process.
  static Health& process();

  // Whether `error` says the database file is damaged (as opposed to away or busy).
  static bool isCorruption(const std::exception& error);
  static bool isCorruptionText(const std::string& text);

  // A stage's database round failed with `error`: true when that is corruption (the state
  // is then DatabaseCorrupt, logged once).
  bool noteFailure(const std::exception& error);
  // Sets DatabaseCorrupt with `detail` (the first error, or integrity_check's first line).
  void setCorrupt(const std::string& detail);

  State state() const { return state_.load(); }
  bool corrupt() const { return state() == State::DatabaseCorrupt; }
  // "ok", "database_corrupt": the gauge's label.
  static const char* name(State s);
  // What the intake says in its 451, the API in an error.
  std::string reason() const;

  // What the critical line names: the SQLite file ("DataDir/bccsink.db"). Set at start.
  void setDatabaseName(std::string name);

  void resetForTest();

 private:
  std::atomic<State> state_{State::Ok};
  mutable std::mutex mutex_;
  std::string databaseName_ = "the database";
  std::string detail_;
};

}  // namespace bccsink::db
