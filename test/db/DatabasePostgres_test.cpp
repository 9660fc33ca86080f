// db::Database on a real PostgreSQL 15: opening from a URL, the session settings, the
// migrations of two sinks at once, and a server that goes away and comes back.

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <future>
#include <string>

#include "db/Database.h"
#include "db/Schema.h"
#include "test/PostgresServer.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;

TEST(DatabasePostgres, OpensFromAUrlAndMigratesToTheLatestSchema) {
  test::TestDatabase tdb;
  db::Database database(test::PostgresServer::shared().url(tdb.name()));
  EXPECT_EQ(database.engine(), db::Engine::Postgresql);
  database.migrate();
  int version = 0;
  database.session() << "SELECT MAX(version) FROM schema_migrations", into(version), now;
  EXPECT_EQ(version, db::latestSchemaVersion());
  std::string timeout;
  database.session() << "SHOW lock_timeout", into(timeout), now;
  EXPECT_EQ(timeout, "10s");
  // Again: nothing to do, nothing fails.
  database.migrate();
}

TEST(DatabasePostgres, TwoSinksMigratingAtOnceBothSucceed) {
  test::TestDatabase tdb;
  const auto url = test::PostgresServer::shared().url(tdb.name());
  auto one = std::async(std::launch::async, [&] { db::Database(url).migrate(); });
  auto two = std::async(std::launch::async, [&] { db::Database(url).migrate(); });
  EXPECT_NO_THROW(one.get());
  EXPECT_NO_THROW(two.get());
  db::Database database(url);
  int rows = 0;
  database.session() << "SELECT COUNT(*) FROM schema_migrations", into(rows), now;
  EXPECT_EQ(rows, db::latestSchemaVersion());
}

TEST(DatabasePostgres, AWriteTransactionCommitsAndRollsBack) {
  test::TestDatabase tdb;
  db::Database database(test::PostgresServer::shared().url(tdb.name()), db::Durability::Deferred);
  auto& s = database.session();
  s << "CREATE TABLE t (k TEXT PRIMARY KEY, v BIGINT)", now;
  {
    db::WriteTransaction tx(database);
    std::string k = "a";
    Poco::Int64 v = 1;
    s << database.sql("INSERT INTO t (k, v) VALUES (?, ?)"), use(k), use(v), now;
    tx.commit();
  }
  {
    db::WriteTransaction tx(database, db::Durability::Durable);
    s << "INSERT INTO t (k, v) VALUES ('b', 2)", now;
  }  // rolled back
  int n = 0;
  s << "SELECT COUNT(*) FROM t", into(n), now;
  EXPECT_EQ(n, 1);
}

TEST(DatabasePostgres, AStoppedServerIsUnavailableAndTheSessionRecoversAfterItsRestart) {
  auto server = test::PostgresServer::startPrivate();
  Poco::Data::Session admin = server->session("postgres");
  admin << "CREATE DATABASE r", now;
  db::Database database(server->url("r"));
  database.migrate();
  server->ctl("stop -m fast");
  // The first use finds the connection gone; the next ones cannot open a new one.
  EXPECT_ANY_THROW((database.session() << "SELECT 1", now));
  EXPECT_THROW(db::WriteTransaction tx(database), db::DatabaseUnavailable);
  EXPECT_THROW(db::Database{server->url("r")}, db::DatabaseUnavailable);
  server->ctl("start");
  int one = 0;
  database.session() << "SELECT 1", into(one), now;
  EXPECT_EQ(one, 1);
  std::string timeout;
  database.session() << "SHOW lock_timeout", into(timeout), now;
  EXPECT_EQ(timeout, "10s") << "settings are applied again on the new connection";
}
