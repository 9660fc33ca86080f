#include "sink/smtp/SmtpCommand.h"

#include <gtest/gtest.h>

#include <string>

namespace smtp = bccsink::smtp;

namespace {

// parsePath with a throw-away error string, for the cases that must succeed.
std::optional<smtp::PathArgs> parse(std::string_view text, bool allowEmpty = false) {
  std::string error;
  return smtp::parsePath(text, allowEmpty, error);
}

// The error of a parse that must fail; "<parsed>" when it did not fail.
std::string parseError(std::string_view text, bool allowEmpty = false) {
  std::string error;
  auto path = smtp::parsePath(text, allowEmpty, error);
  return path ? "<parsed>" : error;
}

}  // namespace

// --- parsePath: the address -------------------------------------------------------------

TEST(SmtpParsePath, BracketedAddressWithoutParameters) {
  auto path = parse("<watch@bcc.test>");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->address, "watch@bcc.test");
  EXPECT_TRUE(path->params.empty());
}

TEST(SmtpParsePath, LeadingSpacesBeforeThePathAreSkipped) {
  auto path = parse("   <watch@bcc.test>");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->address, "watch@bcc.test");
}

TEST(SmtpParsePath, AddressWithoutBracketsEndsAtTheFirstSpace) {
  auto path = parse("watch@bcc.test SIZE=12");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->address, "watch@bcc.test");
  ASSERT_EQ(path->params.size(), 1u);
  EXPECT_EQ(path->params.at("SIZE"), "12");

  auto bare = parse("watch@bcc.test");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->address, "watch@bcc.test");
  EXPECT_TRUE(bare->params.empty());
}

TEST(SmtpParsePath, MissingClosingBracketIsAnError) {
  EXPECT_EQ(parseError("<watch@bcc.test"), "missing '>'");
  EXPECT_EQ(parseError("<watch@bcc.test SIZE=1"), "missing '>'");
}

TEST(SmtpParsePath, SourceRouteIsDropped) {
  auto path = parse("<@a.test,@b.test:user@x.test>");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->address, "user@x.test");

  auto single = parse("<@relay.test:user@x.test> SIZE=5");
  ASSERT_TRUE(single);
  EXPECT_EQ(single->address, "user@x.test");
  EXPECT_EQ(single->params.at("SIZE"), "5");
}

TEST(SmtpParsePath, SourceRouteWithoutColonIsAnError) {
  EXPECT_EQ(parseError("<@a.test,@b.test>"), "bad source route");
}

TEST(SmtpParsePath, QuotedLocalPartMayHoldBracketAndSpace) {
  auto gt = parse("<\"odd>name\"@x.test>");
  ASSERT_TRUE(gt);
  EXPECT_EQ(gt->address, "\"odd>name\"@x.test");
  EXPECT_TRUE(gt->params.empty());

  auto space = parse("<\"first last\"@x.test> SIZE=7");
  ASSERT_TRUE(space);
  EXPECT_EQ(space->address, "\"first last\"@x.test");
  EXPECT_EQ(space->params.at("SIZE"), "7");
}

TEST(SmtpParsePath, BackslashEscapesAreKeptAndDoNotEndThePath) {
  auto path = parse("<\"a\\\"b>c\"@x.test>");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->address, "\"a\\\"b>c\"@x.test");

  auto outside = parse("<a\\>b@x.test>");
  ASSERT_TRUE(outside);
  EXPECT_EQ(outside->address, "a\\>b@x.test");
}

TEST(SmtpParsePath, AddressNeedsLocalPartAndDomain) {
  EXPECT_EQ(parseError("<user>"), "address must be local-part@domain");
  EXPECT_EQ(parseError("<user@>"), "address must be local-part@domain");
  EXPECT_EQ(parseError("<@x.test:@>"), "address must be local-part@domain");
  EXPECT_EQ(parseError("<user>", true), "address must be local-part@domain");
}

TEST(SmtpParsePath, EmptyPathOnlyWhenAllowed) {
  auto mailFrom = parse("<>", true);
  ASSERT_TRUE(mailFrom);
  EXPECT_EQ(mailFrom->address, "");
  EXPECT_TRUE(mailFrom->params.empty());

  auto withParams = parse("<> SIZE=10 BODY=8BITMIME", true);
  ASSERT_TRUE(withParams);
  EXPECT_EQ(withParams->address, "");
  EXPECT_EQ(withParams->params.size(), 2u);

  EXPECT_EQ(parseError("<>", false), "empty address");
}

TEST(SmtpParsePath, PostmasterWithoutDomainIsAValidRecipientOnly) {
  auto lower = parse("<postmaster>");
  ASSERT_TRUE(lower);
  EXPECT_EQ(lower->address, "postmaster");

  auto mixed = parse("<PostMaster> NOTIFY=NEVER");
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->address, "PostMaster");
  EXPECT_EQ(mixed->params.at("NOTIFY"), "NEVER");

  // As a sender (allowEmpty, i.e. MAIL FROM) a bare "postmaster" has no domain.
  EXPECT_EQ(parseError("<postmaster>", true), "address must be local-part@domain");
  EXPECT_EQ(parseError("<postmasterx>"), "address must be local-part@domain");
}

TEST(SmtpParsePath, PathOfAtMost256OctetsIncludingBrackets) {
  std::string domain = "@x.test";
  std::string fits = std::string(254 - domain.size(), 'a') + domain;  // 254 + "<>" = 256
  ASSERT_EQ(fits.size() + 2, 256u);
  auto ok = parse("<" + fits + ">");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->address, fits);

  std::string tooLong = "b" + fits;
  EXPECT_EQ(parseError("<" + tooLong + ">"), "path too long");
  // Without brackets the same limit applies, as if they were there.
  EXPECT_EQ(parseError(tooLong), "path too long");
  EXPECT_TRUE(parse(fits));
}

TEST(SmtpParsePath, SourceRouteCountsTowardsThePathLength) {
  std::string address = std::string(200, 'a') + "@x.test";
  std::string route = "@" + std::string(60, 'r') + ".test:";
  EXPECT_TRUE(parse("<" + address + ">"));
  EXPECT_EQ(parseError("<" + route + address + ">"), "path too long");
}

TEST(SmtpParsePath, ControlCharactersInTheAddressAreRejected) {
  EXPECT_EQ(parseError(std::string("<a\x01") + "b@x.test>"), "control character in address");
  EXPECT_EQ(parseError("<a\tb@x.test>"), "control character in address");
  EXPECT_EQ(parseError("<a\rb@x.test>"), "control character in address");
  EXPECT_EQ(parseError("<ab@x.test\x7f>"), "control character in address");
  EXPECT_EQ(parseError(std::string("<a\0b@x.test>", 12)), "control character in address");
  EXPECT_EQ(parseError("<\"a\nb\"@x.test>"), "control character in address");
}

TEST(SmtpParsePath, EightBitAddressesPass) {
  auto path = parse(
      "<j\xc3\xb6rg@b\xc3\xbc"
      "cher.test> SMTPUTF8");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->address,
            "j\xc3\xb6rg@b\xc3\xbc"
            "cher.test");
  EXPECT_EQ(path->params.count("SMTPUTF8"), 1u);
}

// --- parsePath: the ESMTP parameters ----------------------------------------------------

TEST(SmtpParsePath, ParameterNamesAreUpperCasedAndValuesKept) {
  auto path = parse("<a@x.test> body=8bitmime Envid=AbC+2Bd ret=hdrs smtputf8");
  ASSERT_TRUE(path);
  std::map<std::string, std::string> expected{
      {"BODY", "8bitmime"}, {"ENVID", "AbC+2Bd"}, {"RET", "hdrs"}, {"SMTPUTF8", ""}};
  EXPECT_EQ(path->params, expected);
}

TEST(SmtpParsePath, ValueKeepsEverythingAfterTheFirstEqualsSign) {
  auto path = parse("<a@x.test> ORCPT=rfc822;a=b@x.test NOTIFY=");
  ASSERT_TRUE(path);
  EXPECT_EQ(path->params.at("ORCPT"), "rfc822;a=b@x.test");
  EXPECT_EQ(path->params.at("NOTIFY"), "");
}

TEST(SmtpParsePath, ExtraSpacesBetweenAndAfterParametersAreIgnored) {
  auto path = parse("<a@x.test>   SIZE=1    BODY=7BIT   ");
  ASSERT_TRUE(path);
  std::map<std::string, std::string> expected{{"SIZE", "1"}, {"BODY", "7BIT"}};
  EXPECT_EQ(path->params, expected);
}

TEST(SmtpParsePath, DuplicateParametersAreRejectedIgnoringCase) {
  EXPECT_EQ(parseError("<a@x.test> SIZE=1 SIZE=2"), "duplicate parameter SIZE");
  EXPECT_EQ(parseError("<a@x.test> size=1 SIZE=1"), "duplicate parameter SIZE");
  EXPECT_EQ(parseError("<a@x.test> SMTPUTF8 smtputf8"), "duplicate parameter SMTPUTF8");
}

TEST(SmtpParsePath, MalformedParameterNamesAreRejected) {
  EXPECT_EQ(parseError("<a@x.test> =5"), "bad parameter");
  EXPECT_EQ(parseError("<a@x.test> SI_ZE=5"), "bad parameter name");
  EXPECT_EQ(parseError("<a@x.test> SIZE:5"), "bad parameter name");
  EXPECT_EQ(parseError("<a@x.test> X\x01=5"), "bad parameter name");
  auto dash = parse("<a@x.test> X-VENDOR-1=yes");
  ASSERT_TRUE(dash);
  EXPECT_EQ(dash->params.at("X-VENDOR-1"), "yes");
}

// --- splitVerb ----------------------------------------------------------------------------

TEST(SmtpSplitVerb, VerbIsUpperCasedAndRestKept) {
  auto [verb, rest] = smtp::splitVerb("mail FROM:<a@x.test> SIZE=1");
  EXPECT_EQ(verb, "MAIL");
  EXPECT_EQ(rest, "FROM:<a@x.test> SIZE=1");
}

TEST(SmtpSplitVerb, VerbAloneHasAnEmptyRest) {
  auto [verb, rest] = smtp::splitVerb("noop");
  EXPECT_EQ(verb, "NOOP");
  EXPECT_EQ(rest, "");
}

TEST(SmtpSplitVerb, SpacesAroundTheArgumentAreTrimmed) {
  auto [verb, rest] = smtp::splitVerb("EHLO    client.test \t ");
  EXPECT_EQ(verb, "EHLO");
  EXPECT_EQ(rest, "client.test");

  auto [verb2, rest2] = smtp::splitVerb("DATA   ");
  EXPECT_EQ(verb2, "DATA");
  EXPECT_EQ(rest2, "");
}

TEST(SmtpSplitVerb, EmptyLineGivesEmptyVerb) {
  auto [verb, rest] = smtp::splitVerb("");
  EXPECT_EQ(verb, "");
  EXPECT_EQ(rest, "");
}

// --- isXtext ------------------------------------------------------------------------------

TEST(SmtpIsXtext, AcceptsPlainPrintableAscii) {
  EXPECT_TRUE(smtp::isXtext("watch@bcc.test"));
  EXPECT_TRUE(smtp::isXtext("QQ314159!~"));
  EXPECT_TRUE(smtp::isXtext(""));
}

TEST(SmtpIsXtext, AcceptsHexEscapes) {
  EXPECT_TRUE(smtp::isXtext("rfc822+3Bx"));
  EXPECT_TRUE(smtp::isXtext("+2B"));
  EXPECT_TRUE(smtp::isXtext("a+3Db+20c"));
}

TEST(SmtpIsXtext, RejectsEqualsSpaceControlAndEightBit) {
  EXPECT_FALSE(smtp::isXtext("a=b"));
  EXPECT_FALSE(smtp::isXtext("a b"));
  EXPECT_FALSE(smtp::isXtext("a\tb"));
  EXPECT_FALSE(smtp::isXtext("a\x7f"));
  EXPECT_FALSE(smtp::isXtext("\xc3\xa4"));
}

TEST(SmtpIsXtext, RejectsBadOrTruncatedEscapes) {
  EXPECT_FALSE(smtp::isXtext("+"));
  EXPECT_FALSE(smtp::isXtext("a+"));
  EXPECT_FALSE(smtp::isXtext("a+3"));
  EXPECT_FALSE(smtp::isXtext("+ZZ"));
  EXPECT_FALSE(smtp::isXtext("+3G"));
  EXPECT_FALSE(smtp::isXtext("+G3"));
  EXPECT_FALSE(smtp::isXtext("x++2B"));
}
