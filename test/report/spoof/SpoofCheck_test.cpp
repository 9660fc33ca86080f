// The spoofed-internal rule (DESIGN.md): same internal domain on both sides, and a hop
// from a global address that is not a trusted relay.

#include "report/spoof/SpoofCheck.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>

#include "test/TempDir.h"

namespace bccsink::report {
namespace {

// What bccsink's own listener writes on top, from the site's MTA over loopback.
const std::string kSinkHop =
    "from mx.example.com (unknown [127.0.0.1])\r\n"
    "\tby sink.example.com (bccsink) with ESMTP id 01HQ3Z8Y7X6W5V4T3S2R1Q0P9N\r\n"
    "\tfor <bcc@sink.example.com>; Mon, 01 Jan 2024 12:00:00 +0000";

std::string postfixHop(const std::string& literal) {
  return "from mail.attacker.example (mail.attacker.example [" + literal +
         "])\r\n\tby mx.example.com (Postfix) with ESMTP id 4R1abc2xyz\r\n"
         "\tfor <staff@example.com>; Mon,  1 Jan 2024 12:00:00 +0000 (UTC)";
}

SpoofSettings settings() {
  SpoofSettings s;
  s.internalDomains = {"example.com", "sales.example.com"};
  s.skipTopReceived = 1;
  return s;
}

SpoofInput message(const std::string& hop) {
  SpoofInput m;
  m.envelopeSender = "<ceo@example.com>";
  m.envelopeRecipients = {"<bcc@sink.example.com>"};
  m.from = {"\"The CEO\" <ceo@example.com>"};
  m.to = {"Staff <staff@example.com>"};
  m.received = {kSinkHop, hop,
                "from laptop (laptop [192.168.1.20])\r\n\tby mail.attacker.example with ESMTP"};
  return m;
}

TEST(SpoofCheck, InternalSenderFromAnUntrustedGlobalHopIsFlagged) {
  auto f = SpoofCheck(settings()).check(message(postfixHop("203.0.113.9")));
  ASSERT_TRUE(f.spoofed);
  EXPECT_EQ(f.domain, "example.com");
  EXPECT_EQ(f.hopIndex, 2u);
  EXPECT_EQ(f.ip, "203.0.113.9");
  EXPECT_EQ(f.reason,
            "sender domain example.com is internal and hop 2 came from 203.0.113.9, "
            "not a trusted relay");
  EXPECT_EQ(f.rawHop.find('\r'), std::string::npos);
  EXPECT_EQ(f.rawHop.find('\n'), std::string::npos);
  EXPECT_EQ(f.rawHop.rfind("from mail.attacker.example (mail.attacker.example [203.0.113.9])", 0),
            0u);
}

TEST(SpoofCheck, TrustedRelayIsNotFlagged) {
  auto s = settings();
  s.trustedRelays = {Cidr::parse("203.0.113.0/24")};
  EXPECT_FALSE(SpoofCheck(s).check(message(postfixHop("203.0.113.9"))).spoofed);
}

TEST(SpoofCheck, PrivateAndLoopbackHopsAreNeverCounted) {
  for (const char* literal :
       {"10.1.2.3", "172.20.0.5", "192.168.0.9", "127.0.0.1", "100.64.1.1", "169.254.3.4",
        "IPv6:fd00::25", "IPv6:fe80::1", "IPv6:::1", "IPv6:::ffff:10.0.0.1"}) {
    auto f = SpoofCheck(settings()).check(message(postfixHop(literal)));
    EXPECT_FALSE(f.spoofed) << literal << ": " << f.reason;
  }
}

TEST(SpoofCheck, MappedGlobalAddressCountsAsItsIpv4Address) {
  auto f = SpoofCheck(settings()).check(message(postfixHop("IPv6:::ffff:203.0.113.9")));
  EXPECT_TRUE(f.spoofed);
  auto s = settings();
  s.trustedRelays = {Cidr::parse("203.0.113.9")};
  EXPECT_FALSE(SpoofCheck(s).check(message(postfixHop("IPv6:::ffff:203.0.113.9"))).spoofed);
}

TEST(SpoofCheck, SubdomainIsAnotherDomain) {
  auto m = message(postfixHop("203.0.113.9"));
  m.to = {"team@sales.example.com"};
  EXPECT_FALSE(SpoofCheck(settings()).check(m).spoofed);
}

TEST(SpoofCheck, ExternalSenderIsNotFlagged) {
  auto m = message(postfixHop("203.0.113.9"));
  m.envelopeSender = "<news@example.net>";
  m.from = {"News <news@example.net>"};
  EXPECT_FALSE(SpoofCheck(settings()).check(m).spoofed);
}

TEST(SpoofCheck, SameDomainThatIsNotInternalIsNotFlagged) {
  auto m = message(postfixHop("203.0.113.9"));
  m.envelopeSender = "<a@example.org>";
  m.from = {"a@example.org"};
  m.to = {"b@example.org"};
  EXPECT_FALSE(SpoofCheck(settings()).check(m).spoofed);
}

TEST(SpoofCheck, NoInternalDomainsTurnsTheCheckOff) {
  auto s = settings();
  s.internalDomains.clear();
  EXPECT_FALSE(SpoofCheck(s).check(message(postfixHop("203.0.113.9"))).spoofed);
}

TEST(SpoofCheck, Ipv6TrustedCidr) {
  auto s = settings();
  s.trustedRelays = {Cidr::parse("2001:db8:1::/48")};
  EXPECT_FALSE(SpoofCheck(s).check(message(postfixHop("IPv6:2001:db8:1:ff::25"))).spoofed);
  auto f = SpoofCheck(s).check(message(postfixHop("IPv6:2001:db8:2::25")));
  EXPECT_TRUE(f.spoofed);
  EXPECT_EQ(f.ip, "2001:db8:2::25");
}

TEST(SpoofCheck, FromHeaderAloneMakesTheSenderInternal) {
  auto m = message(postfixHop("203.0.113.9"));
  m.envelopeSender = "<bounce+srs=x@lists.example.net>";
  EXPECT_TRUE(SpoofCheck(settings()).check(m).spoofed);
}

TEST(SpoofCheck, EnvelopeSenderAloneMakesTheSenderInternal) {
  auto m = message(postfixHop("203.0.113.9"));
  m.from = {"Someone <someone@example.net>"};
  EXPECT_TRUE(SpoofCheck(settings()).check(m).spoofed);
}

TEST(SpoofCheck, RecipientMayComeFromCcOrTheEnvelope) {
  auto m = message(postfixHop("203.0.113.9"));
  m.to = {"partner@example.net"};
  EXPECT_FALSE(SpoofCheck(settings()).check(m).spoofed);
  m.cc = {"undisclosed:;", "\"Smith, Ann\" <ann@example.com>"};
  EXPECT_TRUE(SpoofCheck(settings()).check(m).spoofed);
  m.cc.clear();
  m.envelopeRecipients = {"<ann@example.com>"};
  EXPECT_TRUE(SpoofCheck(settings()).check(m).spoofed);
}

TEST(SpoofCheck, DomainsCompareCaseInsensitively) {
  auto s = settings();
  s.internalDomains = {" Example.COM "};
  auto m = message(postfixHop("203.0.113.9"));
  m.envelopeSender = "<CEO@EXAMPLE.com>";
  m.from = {"CEO@EXAMPLE.com"};
  m.to = {"staff@example.Com."};
  auto f = SpoofCheck(s).check(m);
  EXPECT_TRUE(f.spoofed);
  EXPECT_EQ(f.domain, "example.com");
}

TEST(SpoofCheck, SkippedTopHeadersAreNotCountedButKeepTheirNumbers) {
  auto m = message(postfixHop("192.168.0.1"));
  m.received[0] = postfixHop("198.51.100.1");
  EXPECT_FALSE(SpoofCheck(settings()).check(m).spoofed);
  auto s = settings();
  s.skipTopReceived = 0;
  auto f = SpoofCheck(s).check(m);
  EXPECT_TRUE(f.spoofed);
  EXPECT_EQ(f.hopIndex, 1u);
  EXPECT_EQ(f.ip, "198.51.100.1");
}

TEST(SpoofCheck, ReportsTheTopmostUntrustedHop) {
  auto m = message(postfixHop("203.0.113.9"));
  m.received.push_back(postfixHop("198.51.100.7"));
  auto f = SpoofCheck(settings()).check(m);
  EXPECT_EQ(f.hopIndex, 2u);
  EXPECT_EQ(f.ip, "203.0.113.9");
}

TEST(SpoofCheck, HeloImitatingALoopbackCommentDoesNotHideTheClient) {
  auto m = message(
      "from x (localhost [127.0.0.1]) (mail.attacker.example [203.0.113.66])\r\n"
      "\tby mx.example.com (Postfix) with ESMTP id 4R9zz; Mon,  1 Jan 2024 12:00:00 +0000");
  auto f = SpoofCheck(settings()).check(m);
  EXPECT_TRUE(f.spoofed);
  EXPECT_EQ(f.ip, "203.0.113.66");
}

TEST(SpoofCheck, LoadsTrustedRelaysFile) {
  test::TempDir dir;
  std::ofstream(dir / "trusted") << "# partner relays\n"
                                    "203.0.113.0/24   # partner A\r\n"
                                    "\n"
                                    "   198.51.100.7\n"
                                    "2001:db8:1::/48\n"
                                    "[2001:db8:9::25]\n";
  auto relays = loadTrustedRelays(dir / "trusted");
  ASSERT_EQ(relays.size(), 4u);
  auto s = settings();
  s.trustedRelays = relays;
  EXPECT_FALSE(SpoofCheck(s).check(message(postfixHop("203.0.113.200"))).spoofed);
  EXPECT_FALSE(SpoofCheck(s).check(message(postfixHop("198.51.100.7"))).spoofed);
  EXPECT_FALSE(SpoofCheck(s).check(message(postfixHop("IPv6:2001:db8:9::25"))).spoofed);
  EXPECT_TRUE(SpoofCheck(s).check(message(postfixHop("198.51.100.8"))).spoofed);
}

TEST(SpoofCheck, BadTrustedRelayLineNamesFileAndLine) {
  test::TempDir dir;
  std::ofstream(dir / "trusted") << "203.0.113.0/24\n# fine\n198.51.100.0/33\n";
  try {
    loadTrustedRelays(dir / "trusted");
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(dir / "trusted" + ":3:"), std::string::npos) << e.what();
  }
  EXPECT_THROW(loadTrustedRelays(dir / "missing"), std::runtime_error);
}

TEST(SpoofCheck, TrustedRelaysFileHasNoSizeCap) {
  test::TempDir dir;
  {
    std::ofstream out(dir / "trusted");
    for (int i = 0; i < 5000; ++i) {
      out << "198.51." << (i / 256) % 256 << '.' << i % 256 << "\n";
    }
  }
  EXPECT_EQ(loadTrustedRelays(dir / "trusted").size(), 5000u);
}

TEST(SpoofCheck, HostileHeadersFinishQuickly) {
  auto start = std::chrono::steady_clock::now();
  auto m = message(postfixHop("192.168.0.1"));
  m.from = {std::string(10000, '(') + "ceo@example.com" + std::string(10000, ')')};
  m.received.push_back("from x " + std::string(10000, '(') + "[10.0.0.1]" +
                       std::string(10000, ')') + " by y; date");
  std::string huge;
  while (huge.size() < (1u << 20)) huge += "from (x [192.168.7.7]) by ( \"; helo=[ ";
  m.received.push_back(huge);
  std::string to;
  while (to.size() < (1u << 20)) to += "\"a, b\" <staff@example.com>, (c) ";
  m.to = {to};
  for (int i = 0; i < 5000; ++i) m.received.push_back(postfixHop("10.9.8.7"));
  auto f = SpoofCheck(settings()).check(m);
  EXPECT_FALSE(f.spoofed) << f.reason;
  m.received.push_back(huge + postfixHop("203.0.113.9"));
  f = SpoofCheck(settings()).check(m);
  EXPECT_TRUE(f.spoofed);
  EXPECT_LE(f.rawHop.size(), 200u);
  // Linear work; a backtracking or quadratic scanner would take minutes here.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace bccsink::report
