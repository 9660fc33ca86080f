#include "db/Database.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Statement.h>

#include <mutex>
#include <stdexcept>

#include "db/Schema.h"

using namespace Poco::Data::Keywords;

namespace bccsink::db {
namespace {

void registerConnectors() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Data::SQLite::Connector::registerConnector(); });
}

}  // namespace

Database::Database(const std::string& url) {
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
    s << "PRAGMA busy_timeout = 10000", now;
    std::string mode;
    s << "PRAGMA journal_mode = WAL", into(mode), now;
    // FULL: a commit is on disk when COMMIT returns; the 250 after DATA depends on it.
    s << "PRAGMA synchronous = FULL", now;
    s << "PRAGMA foreign_keys = ON", now;
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("cannot open database " + path + ": " + e.displayText());
  }
}

Database::~Database() = default;

void Database::beginWrite() {
  *session_ << (engine_ == Engine::Sqlite ? "BEGIN IMMEDIATE" : "BEGIN"), now;
}

void Database::commit() {
  *session_ << "COMMIT", now;
}

void Database::rollback() {
  *session_ << "ROLLBACK", now;
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
