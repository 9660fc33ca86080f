#include "db/WriteGate.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace bccsink;
using namespace std::chrono_literals;

namespace {

// Until `n` connections wait at the gate (they block in enter(), which no event reports).
bool waitForWaiters(db::WriteGate& gate, int n) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (gate.waitingForTest() != n) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::yield();
  }
  return true;
}

}  // namespace

TEST(WriteGate, OneGatePerFileShared) {
  auto a = db::WriteGate::of("/data/a.db");
  EXPECT_EQ(db::WriteGate::of("/data/a.db"), a);
  EXPECT_NE(db::WriteGate::of("/data/b.db"), a);
}

TEST(WriteGate, OneWriterAtATimeAndAWaiterGivesUpAfterItsTimeout) {
  auto gate = db::WriteGate::of("/data/timeout.db");
  ASSERT_TRUE(gate->enter(db::Durability::Deferred, 0ms));
  EXPECT_FALSE(gate->enter(db::Durability::Durable, 20ms));
  EXPECT_FALSE(gate->enter(db::Durability::Deferred, 0ms));
  gate->leave();
  EXPECT_TRUE(gate->enter(db::Durability::Deferred, 0ms));
  gate->leave();
}

TEST(WriteGate, DurableWritersGoAheadOfDeferredOnesThatWaitedLonger) {
  auto gate = db::WriteGate::of("/data/order.db");
  ASSERT_TRUE(gate->enter(db::Durability::Deferred, 0ms));
  std::mutex mutex;
  std::vector<std::string> order;
  auto writer = [&](db::Durability who, std::string name) {
    return std::thread([&, who, name] {
      ASSERT_TRUE(gate->enter(who, 10s));
      {
        std::lock_guard lock(mutex);
        order.push_back(name);
      }
      gate->leave();
    });
  };
  auto analysis = writer(db::Durability::Deferred, "analysis");
  ASSERT_TRUE(waitForWaiters(*gate, 1));
  auto intake = writer(db::Durability::Durable, "intake");
  ASSERT_TRUE(waitForWaiters(*gate, 2));
  gate->leave();
  analysis.join();
  intake.join();
  EXPECT_EQ(order, (std::vector<std::string>{"intake", "analysis"}));
}

TEST(WriteGate, ADurableWriterThatGaveUpHoldsNobodyBack) {
  auto gate = db::WriteGate::of("/data/giveup.db");
  ASSERT_TRUE(gate->enter(db::Durability::Deferred, 0ms));
  bool entered = false;
  std::thread analysis([&] {
    entered = gate->enter(db::Durability::Deferred, 10s);
    if (entered) gate->leave();
  });
  ASSERT_TRUE(waitForWaiters(*gate, 1));
  EXPECT_FALSE(gate->enter(db::Durability::Durable, 20ms));
  gate->leave();
  analysis.join();
  EXPECT_TRUE(entered);
}
