// db::DatabasePool's fault rules: a session whose borrower failed is closed, not lent
// again; with a limit, a borrower waits a bounded time; after a PostgreSQL restart the
// idle sessions (closed by the server) are not lent dead.

#include "db/DatabasePool.h"

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "test/PostgresServer.h"
#include "test/TempDir.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;

TEST(DatabasePool, ASessionGivenBackWhileAnExceptionUnwindsIsClosedNotKept) {
  test::TempDir dir;
  db::DatabasePool pool("sqlite:" + (dir / "p.db"), 2);
  db::Database* failed = nullptr;
  try {
    auto lease = pool.acquire();
    failed = &*lease;
    throw std::runtime_error("the request failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(pool.idle(), 0u);
  EXPECT_EQ(pool.open(), 0u);
  {
    auto lease = pool.acquire();
    lease.discard();
  }
  EXPECT_EQ(pool.idle(), 0u);
  {
    // One that did its work is kept; moved leases give back once.
    auto lease = pool.acquire();
    auto moved = std::move(lease);
    failed = &*moved;
  }
  EXPECT_EQ(pool.idle(), 1u);
  EXPECT_EQ(&*pool.acquire(), failed);
}

TEST(DatabasePool, WithALimitABorrowerWaitsABoundedTimeThenFails) {
  test::TempDir dir;
  db::DatabasePool pool("sqlite:" + (dir / "p.db"), 1, 1, std::chrono::milliseconds(200));
  auto held = pool.acquire();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(pool.acquire(), std::runtime_error);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_LT(waited, std::chrono::seconds(2));
  // Given back meanwhile: the waiting borrower takes it.
  db::Database* first = &*held;
  std::thread giveBack([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto gone = std::move(held);
  });
  auto next = pool.acquire();
  giveBack.join();
  EXPECT_EQ(&*next, first);
  EXPECT_EQ(pool.open(), 1u);
}

TEST(DatabasePool, PostgresRestartedWhileSessionsWereIdleLendsWorkingOnes) {
  auto server = test::PostgresServer::startPrivate();
  server->session("postgres") << "CREATE DATABASE pool", now;
  db::DatabasePool pool(server->url("pool"), 2);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
  }
  ASSERT_EQ(pool.idle(), 2u);
  server->ctl("restart -m fast");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // idle long enough to be checked
  for (int i = 0; i < 3; ++i) {
    auto lease = pool.acquire();
    int one = 0;
    lease->session() << "SELECT 1", into(one), now;
    EXPECT_EQ(one, 1);
  }
  // While it is stopped, borrowing fails at once with the engine's error; after, it works.
  server->ctl("stop -m fast");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_THROW(pool.acquire(), db::DatabaseUnavailable);
  server->ctl("start");
  auto lease = pool.acquire();
  int one = 0;
  lease->session() << "SELECT 1", into(one), now;
  EXPECT_EQ(one, 1);
}
