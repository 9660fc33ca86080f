// The listener's connection slots from strings: the per-address key (an IPv6 client by
// its /64), the per-address cap, the total, the slots reserved for allowed clients, and
// slots given back by their holders, from two threads at once as the loops do.

#include "sink/smtp/ConnectionLimiter.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace bccsink {
namespace {

using Refused = ConnectionLimiter::Refused;

TEST(ConnectionLimiter, AnIpv6ClientIsCountedByItsSlash64AndAMappedIpv4ByItsAddress) {
  EXPECT_EQ(clientKey("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(clientKey("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(clientKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(clientKey("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64");
  EXPECT_NE(clientKey("2001:db8:1:3::1"), clientKey("2001:db8:1:2::1"));
  EXPECT_EQ(clientKey("::1"), "::/64");
  EXPECT_EQ(clientKey("unknown"), "unknown");
}

TEST(ConnectionLimiter, TheTwentyFirstConnectionFromOneAddressIsRefusedAndOthersGoOn) {
  ConnectionLimiter limiter({100, 20, 0});
  std::vector<ConnectionLimiter::Slot> held;
  for (int i = 0; i < 20; ++i) {
    auto a = limiter.admit("127.0.0.2", true);
    ASSERT_EQ(a.refused, Refused::None) << "connection " << i;
    held.push_back(std::move(a.slot));
  }
  auto over = limiter.admit("127.0.0.2", true);
  EXPECT_EQ(over.refused, Refused::PerClient);
  EXPECT_FALSE(over.slot.held());
  EXPECT_EQ(limiter.admit("127.0.0.1", true).refused, Refused::None);
  EXPECT_EQ(limiter.activeFor("127.0.0.2"), 20u);
  held.pop_back();  // a connection closes: its slot comes back
  EXPECT_EQ(limiter.activeFor("127.0.0.2"), 19u);
  EXPECT_EQ(limiter.admit("127.0.0.2", true).refused, Refused::None);
}

TEST(ConnectionLimiter, OneIpv6HostCannotEscapeTheCapByChangingItsInterfaceId) {
  ConnectionLimiter limiter({100, 2, 0});
  auto a = limiter.admit(clientKey("2001:db8::1"), true);
  auto b = limiter.admit(clientKey("2001:db8::2"), true);
  EXPECT_EQ(limiter.admit(clientKey("2001:db8::3"), true).refused, Refused::PerClient);
  EXPECT_EQ(limiter.admit(clientKey("2001:db8:0:1::3"), true).refused, Refused::None);
}

TEST(ConnectionLimiter, TheTotalIsCappedAndTheLastSlotsAreKeptForAllowedClients) {
  ConnectionLimiter limiter({10, 0, 3});
  std::vector<ConnectionLimiter::Slot> held;
  for (int i = 0; i < 7; ++i) held.push_back(limiter.admit("198.51.100.1", false).slot);
  EXPECT_EQ(limiter.active(), 7u);
  EXPECT_EQ(limiter.admit("198.51.100.2", false).refused, Refused::Reserved);
  for (int i = 0; i < 3; ++i) {
    auto a = limiter.admit("192.0.2.25", true);
    ASSERT_EQ(a.refused, Refused::None);
    held.push_back(std::move(a.slot));
  }
  EXPECT_EQ(limiter.admit("192.0.2.25", true).refused, Refused::Full);
  EXPECT_EQ(limiter.admit("198.51.100.2", false).refused, Refused::Full);
  held.clear();
  EXPECT_EQ(limiter.active(), 0u);
}

TEST(ConnectionLimiter, AReservationOfEverySlotStillLeavesOneForOutsiders) {
  ConnectionLimiter limiter({2, 0, 5});
  auto a = limiter.admit("198.51.100.1", false);
  EXPECT_EQ(a.refused, Refused::None);
  EXPECT_EQ(limiter.admit("198.51.100.1", false).refused, Refused::Reserved);
}

TEST(ConnectionLimiter, ClientsWithoutAKeyAreCountedInAllOnly) {
  ConnectionLimiter limiter({3, 1, 0});
  auto a = limiter.admit("", true);
  auto b = limiter.admit("", true);
  EXPECT_EQ(limiter.admit("", true).refused, Refused::None);
  EXPECT_EQ(limiter.admit("", true).refused, Refused::None) << "the third slot came back";
}

TEST(ConnectionLimiter, AMovedSlotIsGivenBackOnce) {
  ConnectionLimiter limiter({1, 1, 0});
  auto a = limiter.admit("192.0.2.1", true);
  ConnectionLimiter::Slot moved = std::move(a.slot);
  ConnectionLimiter::Slot again;
  again = std::move(moved);
  EXPECT_EQ(limiter.active(), 1u);
  again = ConnectionLimiter::Slot();
  EXPECT_EQ(limiter.active(), 0u);
  EXPECT_EQ(limiter.activeFor("192.0.2.1"), 0u);
}

TEST(ConnectionLimiter, TwoLoopsTakingAndGivingBackLeaveNothingHeld) {
  ConnectionLimiter limiter({50, 20, 5});
  auto churn = [&](const std::string& key, bool allowed) {
    for (int i = 0; i < 20000; ++i) {
      auto a = limiter.admit(key, allowed);
      auto b = limiter.admit(key, allowed);
    }
  };
  std::thread one(churn, "192.0.2.1", true);
  std::thread two(churn, "198.51.100.1", false);
  churn("192.0.2.1", true);
  one.join();
  two.join();
  EXPECT_EQ(limiter.active(), 0u);
  EXPECT_EQ(limiter.activeFor("192.0.2.1"), 0u);
}

}  // namespace
}  // namespace bccsink
