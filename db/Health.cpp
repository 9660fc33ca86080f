#include "db/Health.h"

#include <Poco/Data/SQLite/SQLiteException.h>
#include <Poco/Logger.h>

#include <string_view>

#include "base/Text.h"

namespace bccsink::db {
namespace {

// SQLite's own words for SQLITE_CORRUPT and SQLITE_NOTADB (sqlite3_errstr), and Poco's
// name for the exception it throws for the first ("Corrupt image"): a message that went
// through another layer (a std::runtime_error of a repository) is still recognised.
constexpr const char* kCorruptionTexts[] = {"database disk image is malformed",
                                            "file is not a database", "Corrupt image",
                                            "malformed database schema"};

}  // namespace

Health& Health::process() {
  static Health health;
  return health;
}

bool Health::isCorruptionText(const std::string& text) {
  for (const char* t : kCorruptionTexts) {
    if (text.find(t) != std::string::npos) return true;
  }
  return false;
}

bool Health::isCorruption(const std::exception& error) {
  if (dynamic_cast<const Poco::Data::SQLite::CorruptImageException*>(&error)) return true;
  // Only SQLite's own errors, and Database's open that wraps one ("cannot open database
  // PATH: ..."), are read: the text of any other error may carry a file name, a threat
  // name or a reply from the network, and "file is not a database" in one must not stop
  // the intake.
  if (auto p = dynamic_cast<const Poco::Data::SQLite::SQLiteException*>(&error)) {
    return isCorruptionText(p->displayText());
  }
  if (std::string_view(error.what()).rfind("cannot open database ", 0) == 0 &&
      !dynamic_cast<const Poco::Exception*>(&error)) {
    return isCorruptionText(error.what());
  }
  return false;
}

bool Health::noteFailure(const std::exception& error) {
  if (!isCorruption(error)) return false;
  auto p = dynamic_cast<const Poco::Exception*>(&error);
  setCorrupt(p ? p->displayText() : std::string(error.what()));
  return true;
}

void Health::setCorrupt(const std::string& detail) {
  std::string name;
  {
    std::lock_guard lock(mutex_);
    if (state_.load() == State::DatabaseCorrupt) return;
    detail_ = oneLineUtf8(detail, 300);
    name = databaseName_;
    state_ = State::DatabaseCorrupt;
  }
  // Once per process: every stage meets the same damage, and none of them can mend it.
  Poco::Logger::get("bccsink").critical(
      "the database %s is corrupt (%s): no mail is taken (451 4.3.0, the MTA keeps the "
      "copies) and no message is analysed or reported until it is rebuilt. Stop bccsink, "
      "run `bccsink db check`, then `bccsink db rebuild` (a new database from the spool, "
      "which holds every copy), and start it again",
      name, detail_);
}

const char* Health::name(State s) {
  switch (s) {
    case State::Ok:
      return "ok";
    case State::DatabaseCorrupt:
      return "database_corrupt";
  }
  return "ok";
}

std::string Health::reason() const {
  if (!corrupt()) return "";
  return "the database is corrupt (see the daemon's log)";
}

void Health::setDatabaseName(std::string name) {
  std::lock_guard lock(mutex_);
  databaseName_ = std::move(name);
}

void Health::resetForTest() {
  std::lock_guard lock(mutex_);
  state_ = State::Ok;
  detail_.clear();
}

}  // namespace bccsink::db
