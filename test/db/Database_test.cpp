#include "db/Database.h"

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "db/WriteGate.h"
#include "test/TempDir.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;
using namespace std::chrono_literals;

namespace {

int synchronous(db::Database& d) {
  int level = -1;
  d.session() << "PRAGMA synchronous", into(level), now;
  return level;
}

std::shared_ptr<db::WriteGate> gateOf(const std::string& path) {
  return db::WriteGate::of(std::filesystem::canonical(path).string());
}

}  // namespace

TEST(Database, TheIntakesConnectionSyncsEveryCommitTheStagesOnlyTheLog) {
  test::TempDir dir;
  const auto url = "sqlite:" + (dir / "q.db");
  db::Database intake(url);
  db::Database analysis(url, db::Durability::Deferred);
  EXPECT_EQ(intake.durability(), db::Durability::Durable);
  EXPECT_EQ(synchronous(intake), 2);    // FULL
  EXPECT_EQ(synchronous(analysis), 1);  // NORMAL
}

TEST(Database, ADurableTransactionOnADeferredConnectionSyncsLikeTheIntakes) {
  test::TempDir dir;
  db::Database d("sqlite:" + (dir / "q.db"), db::Durability::Deferred);
  d.session() << "CREATE TABLE t (x INTEGER)", now;
  {
    db::WriteTransaction tx(d, db::Durability::Durable);
    EXPECT_EQ(synchronous(d), 2);
    d.session() << "INSERT INTO t VALUES (1)", now;
    tx.commit();
  }
  EXPECT_EQ(synchronous(d), 1);
  {
    db::WriteTransaction tx(d, db::Durability::Durable);
    // rolled back: back to NORMAL all the same
  }
  EXPECT_EQ(synchronous(d), 1);
}

TEST(Database, AWriteTransactionHoldsThisProcesssGateUntilItEnds) {
  test::TempDir dir;
  const auto path = dir / "q.db";
  db::Database d("sqlite:" + path, db::Durability::Deferred);
  d.session() << "CREATE TABLE t (x INTEGER PRIMARY KEY)", now;
  auto gate = gateOf(path);
  {
    db::WriteTransaction tx(d);
    EXPECT_FALSE(gate->enter(db::Durability::Durable, 0ms));
    d.session() << "INSERT INTO t VALUES (1)", now;
    tx.commit();
  }
  ASSERT_TRUE(gate->enter(db::Durability::Durable, 0ms));
  gate->leave();
  // A statement that fails inside: the rollback opens the gate.
  try {
    db::WriteTransaction tx(d);
    d.session() << "INSERT INTO t VALUES (1)", now;
    FAIL() << "a duplicate key was taken";
  } catch (const Poco::Exception&) {
  }
  ASSERT_TRUE(gate->enter(db::Durability::Durable, 0ms));
  gate->leave();
  // A commit that writes nothing opens it too (SQLite reports no log write for it).
  {
    db::WriteTransaction tx(d);
    d.session() << "DELETE FROM t WHERE x = 42", now;
    tx.commit();
  }
  ASSERT_TRUE(gate->enter(db::Durability::Durable, 0ms));
  gate->leave();
}

TEST(Database, AnotherThreadsWriterWaitsAtTheGateAndGoesOnWhenTheFirstCommits) {
  test::TempDir dir;
  const auto path = dir / "q.db";
  db::Database first("sqlite:" + path, db::Durability::Deferred);
  first.session() << "CREATE TABLE t (x INTEGER)", now;
  db::WriteTransaction tx(first);
  first.session() << "INSERT INTO t VALUES (1)", now;
  std::thread intake([&] {
    db::Database own("sqlite:" + path);
    db::WriteTransaction mine(own);
    own.session() << "INSERT INTO t VALUES (2)", now;
    mine.commit();
  });
  auto gate = gateOf(path);
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (gate->waitingForTest() != 1 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  EXPECT_EQ(gate->waitingForTest(), 1);
  tx.commit();
  intake.join();
  int rows = 0;
  first.session() << "SELECT COUNT(*) FROM t", into(rows), now;
  EXPECT_EQ(rows, 2);
}

TEST(Database, TheStagesCheckpointTheLogTheIntakeLeavesItToThem) {
  test::TempDir dir;
  const auto path = dir / "q.db";
  db::Database intake("sqlite:" + path);
  db::Database analysis("sqlite:" + path, db::Durability::Deferred);
  intake.session() << "CREATE TABLE t (x BLOB)", now;
  // About 1,500 pages in the log: past the stages' 1,000, short of the intake's 4,000.
  // Only a checkpoint copies pages into the database file, so its size tells.
  const std::string blob(3 * 4096, 'x');
  for (int i = 0; i < 500; ++i) {
    db::WriteTransaction tx(intake);
    intake.session() << "INSERT INTO t VALUES (?)", useRef(blob), now;
    tx.commit();
  }
  EXPECT_LT(std::filesystem::file_size(path), 100'000u);
  {
    db::WriteTransaction tx(analysis);
    analysis.session() << "INSERT INTO t VALUES (x'00')", now;
    tx.commit();
  }
  EXPECT_GT(std::filesystem::file_size(path), 500u * blob.size());
}

TEST(Database, ATransactionInsideAnotherJoinsItAndItsFailureRollsBackTheWhole) {
  test::TempDir dir;
  const auto path = dir / "q.db";
  db::Database d("sqlite:" + path, db::Durability::Deferred);
  d.session() << "CREATE TABLE t (x INTEGER PRIMARY KEY)", now;
  auto rows = [&] {
    int n = 0;
    d.session() << "SELECT COUNT(*) FROM t", into(n), now;
    return n;
  };
  {
    db::WriteTransaction outer(d);
    {
      db::WriteTransaction inner(d);
      d.session() << "INSERT INTO t VALUES (1)", now;
      inner.commit();
    }
    d.session() << "INSERT INTO t VALUES (2)", now;
    outer.commit();
  }
  EXPECT_EQ(rows(), 2);
  {
    db::WriteTransaction outer(d);
    d.session() << "INSERT INTO t VALUES (3)", now;
    {
      db::WriteTransaction inner(d);  // gives up without committing
    }
    EXPECT_THROW(outer.commit(), std::runtime_error);
  }
  EXPECT_EQ(rows(), 2);
  {
    db::WriteTransaction outer(d);
    EXPECT_THROW(db::WriteTransaction(d, db::Durability::Durable), std::logic_error);
  }
  // Every one ended: the gate is open, the connection writes again.
  ASSERT_TRUE(gateOf(path)->enter(db::Durability::Durable, 0ms));
  gateOf(path)->leave();
  db::WriteTransaction again(d);
  d.session() << "INSERT INTO t VALUES (4)", now;
  again.commit();
  EXPECT_EQ(rows(), 3);
}

TEST(Database, AStagesCommitLeavesTheCheckpointToALaterOneWhileTheIntakeWaits) {
  test::TempDir dir;
  const auto path = dir / "q.db";
  db::Database intake("sqlite:" + path);
  db::Database analysis("sqlite:" + path, db::Durability::Deferred);
  intake.session() << "CREATE TABLE t (x BLOB)", now;
  const std::string blob(3 * 4096, 'x');
  for (int i = 0; i < 500; ++i) {  // about 1,500 pages in the log, none checkpointed
    db::WriteTransaction tx(intake);
    intake.session() << "INSERT INTO t VALUES (?)", useRef(blob), now;
    tx.commit();
  }
  auto gate = gateOf(path);
  {
    db::WriteTransaction tx(analysis);
    analysis.session() << "INSERT INTO t VALUES (x'00')", now;
    std::thread waiting([&] {
      ASSERT_TRUE(gate->enter(db::Durability::Durable, 10s));
      gate->leave();
    });
    const auto until = std::chrono::steady_clock::now() + 10s;
    while (!gate->durableWaiting() && std::chrono::steady_clock::now() < until)
      std::this_thread::yield();
    tx.commit();
    waiting.join();
  }
  EXPECT_LT(std::filesystem::file_size(path), 100'000u);  // not checkpointed
  {
    db::WriteTransaction tx(analysis);
    analysis.session() << "INSERT INTO t VALUES (x'01')", now;
    tx.commit();
  }
  EXPECT_GT(std::filesystem::file_size(path), 500u * blob.size());
}
