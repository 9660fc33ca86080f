#include "Schema.h"

#include <Poco/Data/Statement.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "Database.h"

using namespace Poco::Data::Keywords;

namespace bccsink::db {
namespace {

// Each entry is one schema version. Never edit a released entry: append a new one.
// Types and syntax are the common ground of SQLite and PostgreSQL.
const std::vector<std::vector<std::string>>& migrations() {
  static const std::vector<std::vector<std::string>> list = {
      {
          // 1: the intake queue.
          "CREATE TABLE messages ("
          " id TEXT PRIMARY KEY,"  // ULID, unique across sinks
          " sink TEXT NOT NULL,"   // the instance that received and spooled it
          " state TEXT NOT NULL,"  // pending, analyzing, checked, reported, failed
          " reason TEXT,"          // why it failed, or what went wrong
          " attempts INTEGER NOT NULL DEFAULT 0,"
          " lease_owner TEXT,"
          " lease_until BIGINT,"         // ms since the epoch
          " received_at TEXT NOT NULL,"  // ISO 8601 UTC with ms
          " updated_at TEXT NOT NULL,"
          " sender TEXT NOT NULL,"  // envelope MAIL FROM, '' for <>
          " client_ip TEXT NOT NULL,"
          " helo TEXT NOT NULL,"
          " tls INTEGER NOT NULL,"
          " header_message_id TEXT,"
          " size BIGINT NOT NULL,"
          " sha256 TEXT NOT NULL,"
          " spool_file TEXT NOT NULL,"  // file name inside DataDir/spool
          " envid TEXT,"
          " ret TEXT,"
          " body TEXT)",
          "CREATE INDEX messages_state ON messages (state, received_at)",
          "CREATE TABLE message_recipients ("
          " msg_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,"
          " position INTEGER NOT NULL,"
          " address TEXT NOT NULL,"
          " orcpt TEXT,"
          " notify TEXT,"
          " PRIMARY KEY (msg_id, position))",
      },
  };
  return list;
}

}  // namespace

int latestSchemaVersion() {
  return static_cast<int>(migrations().size());
}

void applyMigrations(Database& db) {
  auto& s = db.session();
  WriteTransaction tx(db);
  s << "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)", now;
  int current = 0;
  s << "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", into(current), now;
  if (current > latestSchemaVersion()) {
    throw std::runtime_error("database schema version " + std::to_string(current) +
                             " is newer than this build knows (" +
                             std::to_string(latestSchemaVersion()) + ")");
  }
  for (int v = current + 1; v <= latestSchemaVersion(); ++v) {
    for (const auto& sql : migrations()[v - 1]) s << sql, now;
    s << "INSERT INTO schema_migrations (version) VALUES (?)", use(v), now;
  }
  tx.commit();
}

}  // namespace bccsink::db
