// Which addresses count as internal for the spoof check, and how address literals found
// in Received headers are normalised.

#include "report/spoof/AddressClass.h"

#include <gtest/gtest.h>

namespace bccsink::report {
namespace {

struct Case {
  const char* address;
  AddressClass expected;
};

class AddressClassTable : public ::testing::TestWithParam<Case> {};

TEST_P(AddressClassTable, Classifies) {
  EXPECT_EQ(classifyAddress(GetParam().address), GetParam().expected)
      << GetParam().address << " is " << className(classifyAddress(GetParam().address));
}

INSTANTIATE_TEST_SUITE_P(
    AddressClassRanges, AddressClassTable,
    ::testing::Values(
        Case{"10.0.0.1", AddressClass::Private}, Case{"10.255.255.255", AddressClass::Private},
        Case{"172.16.0.1", AddressClass::Private}, Case{"172.31.255.255", AddressClass::Private},
        Case{"172.15.255.255", AddressClass::Global}, Case{"172.32.0.0", AddressClass::Global},
        Case{"192.168.1.1", AddressClass::Private}, Case{"192.169.0.1", AddressClass::Global},
        Case{"127.0.0.1", AddressClass::Loopback}, Case{"127.255.0.9", AddressClass::Loopback},
        Case{"169.254.10.1", AddressClass::LinkLocal},
        Case{"100.64.0.1", AddressClass::SharedCgnat},
        Case{"100.127.255.255", AddressClass::SharedCgnat},
        Case{"100.63.255.255", AddressClass::Global}, Case{"100.128.0.0", AddressClass::Global},
        Case{"0.0.0.0", AddressClass::Unspecified}, Case{"224.0.0.1", AddressClass::Multicast},
        Case{"255.255.255.255", AddressClass::Reserved}, Case{"203.0.113.9", AddressClass::Global},
        Case{"209.85.220.41", AddressClass::Global}, Case{"::1", AddressClass::Loopback},
        Case{"::", AddressClass::Unspecified}, Case{"fe80::1", AddressClass::LinkLocal},
        Case{"febf::1", AddressClass::LinkLocal}, Case{"fec0::1", AddressClass::UniqueLocal},
        Case{"fc00::1", AddressClass::UniqueLocal},
        Case{"fd12:3456:789a::1", AddressClass::UniqueLocal},
        Case{"ff02::1", AddressClass::Multicast}, Case{"2001:db8::1", AddressClass::Global},
        Case{"2603:10a6:208:122::25", AddressClass::Global},
        // IPv4-mapped: judged by the IPv4 address inside, as a dual-stack socket means it.
        Case{"::ffff:10.1.2.3", AddressClass::Private},
        Case{"::ffff:127.0.0.1", AddressClass::Loopback},
        Case{"::ffff:203.0.113.9", AddressClass::Global},
        // Spellings from Received headers.
        Case{"[192.168.0.1]", AddressClass::Private}, Case{"[IPv6:::1]", AddressClass::Loopback},
        Case{"[IPv6:2001:DB8::1]", AddressClass::Global},
        Case{"fe80::1%eth0", AddressClass::LinkLocal},
        Case{"[fe80::1d2e:3f4a:5b6c:7d8e%5]", AddressClass::LinkLocal},
        // Not addresses.
        Case{"", AddressClass::Invalid}, Case{"unknown", AddressClass::Invalid},
        Case{"192.0.2.256", AddressClass::Invalid}, Case{"192.0.2", AddressClass::Invalid},
        Case{"IPv6:192.0.2.1", AddressClass::Invalid}, Case{"[]", AddressClass::Invalid},
        Case{"1:2:3:4:5:6:7:8:9", AddressClass::Invalid}));

TEST(AddressClass, OnlyGlobalAddressesAreGlobal) {
  EXPECT_TRUE(isGlobalAddress("198.51.100.1"));
  EXPECT_FALSE(isGlobalAddress("192.168.0.1"));
  EXPECT_FALSE(isGlobalAddress("not an address"));
}

TEST(AddressClass, NormalizesToInetNtopText) {
  EXPECT_EQ(normalizeAddress("[IPv6:2001:DB8:0:0:0:0:0:25]"), "2001:db8::25");
  EXPECT_EQ(normalizeAddress(" 192.0.2.1 "), "192.0.2.1");
  EXPECT_EQ(normalizeAddress("ipv6:::1"), "::1");
  EXPECT_EQ(normalizeAddress("fe80::1%5"), "fe80::1");
  EXPECT_EQ(normalizeAddress("::FFFF:192.0.2.1"), "::ffff:192.0.2.1");
  EXPECT_FALSE(normalizeAddress("example.com"));
  EXPECT_FALSE(normalizeAddress(std::string(1000, '1')));
}

}  // namespace
}  // namespace bccsink::report
