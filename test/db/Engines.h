#pragma once
// Every repository's tests run on both engines: a value-parameterised fixture whose test
// names end in /Sqlite or /Postgres. The Postgres ones require ctest's `postgres` fixture
// (test/CMakeLists.txt selects tests by "Postgres" in the name) and each gets a database of
// its own on that server; the Sqlite ones a file in a fresh folder.
//
//   class MessageQueueTest : public test::EngineTest {};
//   TEST_P(MessageQueueTest, Claims) { db::MessageQueue q(database()); ... }
//   BCCSINK_ON_BOTH_ENGINES(MessageQueueTest);

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "db/Database.h"
#include "test/PostgresServer.h"
#include "test/TempDir.h"

namespace bccsink::test {

enum class EngineKind { Sqlite, Postgres };

inline std::string engineName(const ::testing::TestParamInfo<EngineKind>& info) {
  return info.param == EngineKind::Sqlite ? "Sqlite" : "Postgres";
}

// An empty database of one engine: its URL, and connections to it (migrated).
class EngineStore {
 public:
  explicit EngineStore(EngineKind kind) : kind_(kind) {
    if (kind == EngineKind::Sqlite) {
      dir_.emplace();
      url_ = "sqlite:" + (*dir_ / "bccsink.db");
    } else {
      pg_.emplace();
      url_ = PostgresServer::shared().url(pg_->name());
    }
  }
  EngineKind kind() const { return kind_; }
  const std::string& url() const { return url_; }
  // A new connection, the schema brought up to date.
  std::unique_ptr<db::Database> open(db::Durability d = db::Durability::Durable) const {
    auto database = std::make_unique<db::Database>(url_, d);
    database->migrate();
    return database;
  }

 private:
  EngineKind kind_;
  std::optional<TempDir> dir_;
  std::optional<TestDatabase> pg_;
  std::string url_;
};

class EngineTest : public ::testing::TestWithParam<EngineKind> {
 protected:
  EngineStore store_{GetParam()};
  std::unique_ptr<db::Database> db_ = store_.open();

  db::Database& database() { return *db_; }
  bool postgres() const { return GetParam() == EngineKind::Postgres; }
};

}  // namespace bccsink::test

#define BCCSINK_ON_BOTH_ENGINES(Suite)                                               \
  INSTANTIATE_TEST_SUITE_P(Engines, Suite,                                           \
                           ::testing::Values(::bccsink::test::EngineKind::Sqlite,    \
                                             ::bccsink::test::EngineKind::Postgres), \
                           ::bccsink::test::engineName)
