#include "base/OriginalRecipient.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

using bccsink::decodeOriginalRecipient;
using bccsink::isAddressOrSubaddress;
using bccsink::localPartText;

TEST(OriginalRecipient, DecodesTheIssuesExample) {
  EXPECT_EQ(decodeOriginalRecipient("watch+bob=example.org@bcc.test"), "bob@example.org");
}

TEST(OriginalRecipient, SplitsAtTheFirstPlusAndTheLastEquals) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"watch+bob+news=example.org@bcc.test", "bob+news@example.org"},
      {"watch+a=b=example.org@bcc.test", "a=b@example.org"},
      {"watch+a+b=c=d.example@bcc.test", "a+b=c@d.example"},
      {"w+x=y@bcc.test", "x@y"},
      {"any-prefix.here+first.last=sub.example.co.uk@BCC.test", "first.last@sub.example.co.uk"},
      {"watch+o'brien=example.org@bcc.test", "o'brien@example.org"},
      {"watch+{x}|~=example.org@bcc.test", "{x}|~@example.org"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(decodeOriginalRecipient(in), want) << in;
}

TEST(OriginalRecipient, TheDomainIsLowerCasedAndTheLocalPartKept) {
  EXPECT_EQ(decodeOriginalRecipient("Watch+Bob.Smith=Example.ORG@bcc.test"),
            "Bob.Smith@example.org");
}

TEST(OriginalRecipient, AddressLiteralsAreDomains) {
  EXPECT_EQ(decodeOriginalRecipient("\"watch+bob=[192.0.2.1]\"@bcc.test"), "bob@[192.0.2.1]");
  EXPECT_EQ(decodeOriginalRecipient("\"watch+bob=[IPv6:2001:db8::1]\"@bcc.test"),
            "bob@[ipv6:2001:db8::1]");
  EXPECT_EQ(decodeOriginalRecipient("\"watch+bob=[]\"@bcc.test"), "");
  EXPECT_EQ(decodeOriginalRecipient("\"watch+bob=[a b]\"@bcc.test"), "");
  EXPECT_EQ(decodeOriginalRecipient("\"watch+bob=[192.0.2.1\"@bcc.test"), "");
}

TEST(OriginalRecipient, Utf8IsAllowedAsSmtputf8Sends) {
  EXPECT_EQ(decodeOriginalRecipient("watch+j\xC3\xB6rg=b\xC3\xBC"
                                    "cher.example@bcc.test"),
            "j\xC3\xB6rg@b\xC3\xBC"
            "cher.example");
  // Invalid UTF-8 is not an address.
  EXPECT_EQ(decodeOriginalRecipient("watch+j\xC3rg=example.org@bcc.test"), "");
  EXPECT_EQ(decodeOriginalRecipient("watch+bob=ex\xFF.org@bcc.test"), "");
}

TEST(OriginalRecipient, AQuotedLocalPartIsUnquotedAndLocalQuotedAgainWhenItMustBe) {
  // What Postfix sends for the original "john smith"@example.org: its pcre table maps the
  // unquoted form, and the result is quoted on the wire.
  EXPECT_EQ(decodeOriginalRecipient("\"watch+john smith=example.org\"@bcc.test"),
            "\"john smith\"@example.org");
  EXPECT_EQ(decodeOriginalRecipient("\"watch+a\\\"b=example.org\"@bcc.test"),
            "\"a\\\"b\"@example.org");
  EXPECT_EQ(decodeOriginalRecipient("\"watch+a\\\\b=example.org\"@bcc.test"),
            "\"a\\\\b\"@example.org");
  // A dot-atom LOCAL needs no quotes, even when the whole was quoted.
  EXPECT_EQ(decodeOriginalRecipient("\"watch+bob=example.org\"@bcc.test"), "bob@example.org");
  // Dots a dot-atom may not have: valid inside the encoding, quoted in the original.
  EXPECT_EQ(decodeOriginalRecipient("watch+.bob=example.org@bcc.test"), "\".bob\"@example.org");
  EXPECT_EQ(decodeOriginalRecipient("watch+bob.=example.org@bcc.test"), "\"bob.\"@example.org");
}

TEST(OriginalRecipient, MalformedQuotingIsNotDecoded) {
  for (const char* in : {
           "\"a b\"+x=y.example@bcc.test",  // a quoted string and more: not a local part
           "\"watch+bob=example.org@bcc.test",
           "watch+bob=example.org\"@bcc.test",
           "\"watch+bob=example.org\\\"@bcc.test",
           "\"wa\"tch+bob=example.org\"@bcc.test",
           "\"\"@bcc.test",
       }) {
    EXPECT_EQ(decodeOriginalRecipient(in), "") << in;
  }
}

TEST(OriginalRecipient, AnythingElseIsNoOriginalRecipient) {
  for (const char* in : {
           "",
           "@",
           "watch@bcc.test",                     // the plain BCC address
           "watch+bob@bcc.test",                 // a subaddress without '='
           "watch+=example.org@bcc.test",        // empty LOCAL
           "watch+bob=@bcc.test",                // empty DOMAIN
           "+bob=example.org@bcc.test",          // empty PREFIX
           "watch+=@bcc.test",                   //
           "watch=x+bob@bcc.test",               // '=' before '+': no '=' after it
           "bob=example.org@bcc.test",           // no '+'
           "watch+bob=example.org",              // no '@'
           "watch+bob=exa_mple.org@bcc.test",    // '_' is no domain character
           "watch+bob=example..org@bcc.test",    // empty label
           "watch+bob=.example.org@bcc.test",    //
           "watch+bob=example.org.@bcc.test",    //
           "watch+bob=-example.org@bcc.test",    // a label starting with '-'
           "watch+bob=example-.org@bcc.test",    //
           "watch+bob=exa!mple.org@bcc.test",    //
           "watch+bob=example.org+x@bcc.test",   // '+' in the domain
           "watch+bob..x=example.org@bcc.test",  // not a dot-string
           "watch+bob example=example.org@bcc.test",
           "watch+bob\t=example.org@bcc.test",
           "\"watch+bob\r\n=example.org\"@bcc.test",
           "\"watch+b\x7Fob=example.org\"@bcc.test",
       }) {
    EXPECT_EQ(decodeOriginalRecipient(in), "") << in;
  }
  using namespace std::string_literals;
  EXPECT_EQ(decodeOriginalRecipient("watch+b\0b=example.org@bcc.test"s), "");
}

TEST(OriginalRecipient, LengthLimitsOfRfc5321Hold) {
  const std::string bcc = "@bcc.test";
  // LOCAL: 64 octets at most (section 4.5.3.1.1).
  EXPECT_EQ(decodeOriginalRecipient("w+" + std::string(64, 'a') + "=example.org" + bcc),
            std::string(64, 'a') + "@example.org");
  EXPECT_EQ(decodeOriginalRecipient("w+" + std::string(65, 'a') + "=example.org" + bcc), "");
  // The quotes a LOCAL needs do not count against it (the limit is on its text).
  EXPECT_EQ(decodeOriginalRecipient("\"w+" + std::string(63, 'a') + " =x.example\"" + bcc),
            "\"" + std::string(63, 'a') + " \"@x.example");
  // A label: 63 octets at most.
  EXPECT_EQ(decodeOriginalRecipient("w+a=" + std::string(63, 'd') + ".example" + bcc),
            "a@" + std::string(63, 'd') + ".example");
  EXPECT_EQ(decodeOriginalRecipient("w+a=" + std::string(64, 'd') + ".example" + bcc), "");
  // The whole encoded address: 254 octets at most (a 256-octet path).
  std::string domain = std::string(60, 'd') + "." + std::string(60, 'e') + "." +
                       std::string(60, 'f') + ".example";  // 190 octets
  std::string encoded = "w+" + std::string(50, 'a') + "=" + domain + bcc;
  ASSERT_EQ(encoded.size(), 252u);
  EXPECT_EQ(decodeOriginalRecipient(encoded), std::string(50, 'a') + "@" + domain);
  EXPECT_EQ(decodeOriginalRecipient("w+" + std::string(53, 'a') + "=" + domain + bcc), "");
  // Hostile sizes end quickly and decode to nothing.
  EXPECT_EQ(decodeOriginalRecipient(std::string(100000, '+') + "=x@y"), "");
  EXPECT_EQ(decodeOriginalRecipient("w+" + std::string(100000, '=') + "@y"), "");
}

TEST(OriginalRecipient, LocalPartTextUnquotes) {
  EXPECT_EQ(localPartText("bob.smith"), "bob.smith");
  EXPECT_EQ(localPartText("\"bob smith\""), "bob smith");
  EXPECT_EQ(localPartText("\"a\\\\b\\\"c\""), "a\\b\"c");
  EXPECT_EQ(localPartText("\"\""), "");
  EXPECT_FALSE(localPartText(""));
  EXPECT_FALSE(localPartText("bob smith"));
  EXPECT_FALSE(localPartText("\""));
  EXPECT_FALSE(localPartText("\"a\"b\""));
  EXPECT_FALSE(localPartText(".bob"));
}

TEST(OriginalRecipient, SubaddressesOfAnAddressEntry) {
  const char* entry = "watch@bcc.example.com";
  EXPECT_TRUE(isAddressOrSubaddress("watch@bcc.example.com", entry));
  EXPECT_TRUE(isAddressOrSubaddress("Watch@BCC.example.com", entry));
  EXPECT_TRUE(isAddressOrSubaddress("watch+bob=example.org@bcc.example.com", entry));
  EXPECT_TRUE(isAddressOrSubaddress("\"watch+john smith=example.org\"@bcc.example.com", entry));
  EXPECT_TRUE(isAddressOrSubaddress("\"watch\"@bcc.example.com", entry));
  EXPECT_FALSE(isAddressOrSubaddress("watch+@bcc.example.com", entry));
  EXPECT_FALSE(isAddressOrSubaddress("watcher@bcc.example.com", entry));
  EXPECT_FALSE(isAddressOrSubaddress("watcher+x=y.z@bcc.example.com", entry));
  EXPECT_FALSE(isAddressOrSubaddress("watch-bob@bcc.example.com", entry));
  EXPECT_FALSE(isAddressOrSubaddress("watch+bob=example.org@other.example.com", entry));
  EXPECT_FALSE(isAddressOrSubaddress("watch+bob=example.org@sub.bcc.example.com", entry));
  EXPECT_FALSE(isAddressOrSubaddress("other+watch@bcc.example.com", entry));
  EXPECT_FALSE(isAddressOrSubaddress("watch", entry));
  EXPECT_FALSE(isAddressOrSubaddress("watch+x@bcc.example.com", "bcc.example.com"));
}
