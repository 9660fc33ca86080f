// Address extraction from From/To/Cc values and SMTP paths (RFC 5322 section 3.4).

#include "report/spoof/AddressList.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace bccsink::report {
namespace {

using List = std::vector<std::string>;

TEST(AddressList, QuotedDisplayNameMayHoldCommasAndAngles) {
  EXPECT_EQ(extractAddresses(R"("Doe, Jane <boss@evil.example>" <jane@example.com>)"),
            List{"jane@example.com"});
  EXPECT_EQ(extractAddresses(R"("Name, Jr." <a@b.example>, c@d.example)"),
            (List{"a@b.example", "c@d.example"}));
}

TEST(AddressList, GroupsCommentsAndRoutes) {
  EXPECT_EQ(extractAddresses("team: a@example.com (Al, \"the\" (nested) one), <b@example.com>;"
                             ", <@relay.example,@r2.example:c@example.com>"),
            (List{"a@example.com", "b@example.com", "c@example.com"}));
  EXPECT_EQ(extractAddresses("undisclosed-recipients:;"), List{});
}

TEST(AddressList, CommentsNeverYieldAddresses) {
  EXPECT_EQ(extractAddresses("(x@evil.example) real@example.com (<y@evil.example>)"),
            List{"real@example.com"});
}

TEST(AddressList, UnterminatedSyntaxStillEnds) {
  EXPECT_EQ(extractAddresses("Jane <jane@example.com"), List{"jane@example.com"});
  EXPECT_EQ(extractAddresses("a@example.com (unclosed, b@example.com"), List{"a@example.com"});
  EXPECT_EQ(extractAddresses("\"unclosed, b@example.com"), List{});
}

TEST(AddressList, QuotedLocalPartAndDomainLiteral) {
  EXPECT_EQ(extractAddresses(R"("a@b, c"@example.com, x@[IPv6:2001:db8::1])"),
            (List{R"("a@b, c"@example.com)", "x@[IPv6:2001:db8::1]"}));
}

TEST(AddressList, SmtpPaths) {
  EXPECT_EQ(extractAddresses("<ceo@example.com>"), List{"ceo@example.com"});
  EXPECT_EQ(extractAddresses("ceo@example.com"), List{"ceo@example.com"});
  EXPECT_EQ(extractAddresses("<>"), List{});
  EXPECT_EQ(extractAddresses(""), List{});
  EXPECT_EQ(extractAddresses("postmaster"), List{});
}

TEST(AddressList, FoldedHeader) {
  EXPECT_EQ(extractAddresses("A <a@example.com>,\r\n\tB\r\n <b@example.com>"),
            (List{"a@example.com", "b@example.com"}));
}

TEST(AddressList, DomainIsLowerCaseWithoutTrailingDot) {
  EXPECT_EQ(domainOf("Jane@Example.COM."), "example.com");
  EXPECT_EQ(domainOf(R"("x@y"@Example.com)"), "example.com");
  EXPECT_EQ(domainOf("no-at-sign"), "");
  EXPECT_EQ(domainOf("a@"), "");
}

TEST(AddressList, HostileInputFinishesQuickly) {
  auto start = std::chrono::steady_clock::now();
  auto nested = extractAddresses(std::string(10000, '(') + "a@b" + std::string(10000, ')'));
  EXPECT_TRUE(nested.empty());
  std::string many;
  while (many.size() < (1u << 20)) many += "\"q\\\"\" <x@example.com>, (c) ";
  EXPECT_GT(extractAddresses(many).size(), 10000u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

}  // namespace
}  // namespace bccsink::report
