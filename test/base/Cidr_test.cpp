#include "base/Cidr.h"

#include <gtest/gtest.h>

#include <stdexcept>

using bccsink::Cidr;

TEST(Cidr, Ipv4NetworkContainsItsAddressesOnly) {
  auto c = Cidr::parse("192.0.2.0/24");
  EXPECT_TRUE(c.contains("192.0.2.1"));
  EXPECT_TRUE(c.contains("192.0.2.255"));
  EXPECT_FALSE(c.contains("192.0.3.1"));
  EXPECT_FALSE(c.contains("2001:db8::1"));
}

TEST(Cidr, HostBitsInTheNetworkAreIgnored) {
  EXPECT_TRUE(Cidr::parse("10.1.2.3/8").contains("10.200.0.1"));
}

TEST(Cidr, SingleAddressIsAHostRoute) {
  auto c = Cidr::parse("127.0.0.2");
  EXPECT_TRUE(c.contains("127.0.0.2"));
  EXPECT_FALSE(c.contains("127.0.0.1"));
}

TEST(Cidr, Ipv6Prefixes) {
  auto c = Cidr::parse("2001:db8::/32");
  EXPECT_TRUE(c.contains("2001:db8:ffff::1"));
  EXPECT_FALSE(c.contains("2001:db9::1"));
  EXPECT_TRUE(Cidr::parse("::1/128").contains("::1"));
  EXPECT_TRUE(Cidr::parse("2001:db8::/33").contains("2001:db8:7fff::1"));
  EXPECT_FALSE(Cidr::parse("2001:db8::/33").contains("2001:db8:8000::1"));
}

TEST(Cidr, Ipv4MappedIpv6ClientsMatchIpv4Networks) {
  EXPECT_TRUE(Cidr::parse("127.0.0.0/8").contains("::ffff:127.0.0.1"));
}

TEST(Cidr, ZeroPrefixMatchesTheWholeFamily) {
  EXPECT_TRUE(Cidr::parse("0.0.0.0/0").contains("203.0.113.9"));
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0").contains("::1"));
}

TEST(Cidr, MalformedTextIsRejected) {
  EXPECT_THROW(Cidr::parse("300.1.1.1/8"), std::invalid_argument);
  EXPECT_THROW(Cidr::parse("10.0.0.0/33"), std::invalid_argument);
  EXPECT_THROW(Cidr::parse("10.0.0.0/"), std::invalid_argument);
  EXPECT_THROW(Cidr::parse("2001:db8::/129"), std::invalid_argument);
  EXPECT_THROW(Cidr::parse("example.com"), std::invalid_argument);
  EXPECT_THROW(Cidr::parse("10.0.0.0/8x"), std::invalid_argument);
}

TEST(Cidr, GarbageClientAddressIsNotContained) {
  EXPECT_FALSE(Cidr::parse("0.0.0.0/0").contains("unknown"));
}
