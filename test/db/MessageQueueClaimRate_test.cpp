// A measurement, not a test: claims per second (claimNext) on each engine, one and four
// claimers, Durable and Deferred connections (the workers' are Deferred), the claim's
// statements kept prepared (one MessageQueue per claimer, as the workers do) and prepared
// afresh for every claim (a MessageQueue per claim). Run by hand, on a durable server:
//   PG_FSYNC=on build/test/unit_tests --gtest_also_run_disabled_tests \
//       --gtest_filter='MessageQueueClaimRate.*'

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <latch>
#include <thread>

#include "db/MessageQueue.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

namespace {

double claimsPerSecond(const test::EngineStore& store, int claimers, bool kept,
                       db::Durability durability) {
  constexpr int kMessages = 4000;
  {
    auto db = store.open();
    std::vector<db::MessageRecord> rows;
    for (int i = 0; i < kMessages; ++i) {
      char id[16];
      std::snprintf(id, sizeof id, "M%06d", i);
      rows.push_back(test::sampleRecord(id));
    }
    db::MessageQueue(*db).insertPending(rows);
  }
  std::latch ready(claimers + 1);
  std::atomic<int> claimed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < claimers; ++t) {
    threads.emplace_back([&] {
      db::Database own(store.url(), durability);
      db::MessageQueue mine(own);
      ready.arrive_and_wait();
      while (true) {
        auto m = kept ? mine.claimNext("sink-a", 1, 2, "x")
                      : db::MessageQueue(own).claimNext("sink-a", 1, 2, "x");
        if (!m) break;
        ++claimed;
      }
    });
  }
  ready.arrive_and_wait();
  const auto start = std::chrono::steady_clock::now();
  for (auto& t : threads) t.join();
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(claimed.load(), kMessages);
  return kMessages / took.count();
}

void printRates(test::EngineKind kind) {
  for (auto durability : {db::Durability::Durable, db::Durability::Deferred}) {
    for (bool kept : {false, true}) {
      for (int claimers : {1, 4}) {
        test::EngineStore store(kind);
        const double rate = claimsPerSecond(store, claimers, kept, durability);
        std::printf("%-8s %-8s %-6s %d claimer(s): %6.0f claims/s\n",
                    kind == test::EngineKind::Postgres ? "Postgres" : "Sqlite",
                    durability == db::Durability::Durable ? "Durable" : "Deferred",
                    kept ? "kept" : "afresh", claimers, rate);
      }
    }
  }
}

}  // namespace

TEST(MessageQueueClaimRate, DISABLED_Sqlite) {
  printRates(test::EngineKind::Sqlite);
}

TEST(MessageQueueClaimRate, DISABLED_Postgres) {
  printRates(test::EngineKind::Postgres);
}
