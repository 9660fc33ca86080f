#pragma once
// Versioned schema migrations, applied in order inside one write transaction.

namespace bccsink::db {

class Database;

// Applies every migration newer than the database's recorded version.
void applyMigrations(Database& db);

// The newest schema version this build knows.
int latestSchemaVersion();

}  // namespace bccsink::db
