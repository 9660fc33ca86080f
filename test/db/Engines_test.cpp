// The engine fixture itself: each engine's database is empty, migrated and its own.

#include "test/db/Engines.h"

#include <Poco/Data/Statement.h>

#include "db/Schema.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;

class EnginesTest : public test::EngineTest {};

TEST_P(EnginesTest, EachTestHasAFreshMigratedDatabaseOfItsEngine) {
  EXPECT_EQ(database().engine(), postgres() ? db::Engine::Postgresql : db::Engine::Sqlite);
  int version = 0, rows = -1;
  database().session() << "SELECT MAX(version) FROM schema_migrations", into(version), now;
  database().session() << "SELECT COUNT(*) FROM messages", into(rows), now;
  EXPECT_EQ(version, db::latestSchemaVersion());
  EXPECT_EQ(rows, 0);
}

BCCSINK_ON_BOTH_ENGINES(EnginesTest);
