// Received headers as real MTAs write them, one row each: the connecting address and HELO
// must come out of every form, and hostile values must neither crash nor take long.

#include "report/spoof/ReceivedHeader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace bccsink::report {
namespace {

struct Row {
  const char* name;  // test name suffix
  const char* value;
  const char* ip;
  const char* helo;
  const char* reverse;
  const char* by;
  const char* with;
  const char* id;
  const char* forAddress;
};

const Row kRows[] = {
    {"PostfixTls",
     "from mail.example.net (mail.example.net [203.0.113.9])\r\n"
     "\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\r\n"
     "\t key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256)\r\n"
     "\t(No client certificate requested)\r\n"
     "\tby mx.example.com (Postfix) with ESMTPS id 4R1abc2xyzz9\r\n"
     "\tfor <user@example.com>; Tue,  2 May 2023 10:00:00 +0200 (CEST)",
     "203.0.113.9", "mail.example.net", "mail.example.net", "mx.example.com", "ESMTPS",
     "4R1abc2xyzz9", "user@example.com"},
    {"PostfixUnknownReverse",
     "from helo.example.org (unknown [198.51.100.23])\r\n"
     "\tby mx.example.com (Postfix) with ESMTP id 4QzXyW1abcz9sT\r\n"
     "\tfor <a@example.com>; Mon,  1 Jan 2024 12:00:00 +0000 (UTC)",
     "198.51.100.23", "helo.example.org", "unknown", "mx.example.com", "ESMTP", "4QzXyW1abcz9sT",
     "a@example.com"},
    {"PostfixIpv6",
     "from mail.example.net (mail.example.net [IPv6:2001:db8:0:0::25])\r\n"
     "\tby mx.example.com (Postfix) with ESMTPS id 4R2b3c4d5e\r\n"
     "\tfor <a@example.com>; Mon,  1 Jan 2024 12:00:00 +0000 (UTC)",
     "2001:db8::25", "mail.example.net", "mail.example.net", "mx.example.com", "ESMTPS",
     "4R2b3c4d5e", "a@example.com"},
    {"PostfixLoopback",
     "from localhost (localhost [127.0.0.1])\r\n"
     "\tby mx.example.com (Postfix) with ESMTP id 1234ABCD; Mon,  1 Jan 2024 12:00:00 +0000",
     "127.0.0.1", "localhost", "localhost", "mx.example.com", "ESMTP", "1234ABCD", ""},
    {"PostfixPickup",
     "by mx.example.com (Postfix, from userid 1000)\r\n"
     "\tid 4R0000abcd; Mon,  1 Jan 2024 12:00:00 +0000 (UTC)",
     "", "", "", "mx.example.com", "", "4R0000abcd", ""},
    {"EximReverseAndHelo",
     "from mail.example.net ([203.0.113.9] helo=smtp.example.net)\r\n"
     "\tby mx.example.com with esmtps  (TLS1.3) tls TLS_AES_256_GCM_SHA384\r\n"
     "\t(Exim 4.96)\r\n\t(envelope-from <a@example.net>)\r\n\tid 1rABCd-000123-4X\r\n"
     "\tfor u@example.com; Tue, 02 May 2023 10:00:00 +0200",
     "203.0.113.9", "smtp.example.net", "mail.example.net", "mx.example.com", "esmtps",
     "1rABCd-000123-4X", "u@example.com"},
    {"EximNoReverse",
     "from [198.51.100.7] (helo=desktop)\r\n\tby mx.example.com with esmtp (Exim 4.96)\r\n"
     "\t(envelope-from <x@example.org>)\r\n\tid 1rAB12-0004xY-2Z; Tue, 02 May 2023 10:00:00 +0200",
     "198.51.100.7", "desktop", "", "mx.example.com", "esmtp", "1rAB12-0004xY-2Z", ""},
    {"EximPort",
     "from mail.example.net ([203.0.113.9]:52344 helo=mail.example.net)\r\n"
     "\tby mx.example.com with esmtp (Exim 4.94.2)\r\n\t(envelope-from <a@example.net>)\r\n"
     "\tid 1q9Zz8-0001aB-Cd; Tue, 02 May 2023 10:00:00 +0200",
     "203.0.113.9", "mail.example.net", "mail.example.net", "mx.example.com", "esmtp",
     "1q9Zz8-0001aB-Cd", ""},
    {"EximHeloLiteral",
     "from [203.0.113.9] (port=41932 helo=[192.168.1.20])\r\n"
     "\tby mx.example.com with esmtpsa  (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\r\n"
     "\t(Exim 4.96)\r\n\t(envelope-from <a@example.com>)\r\n\tid 1rXyZ0-0002Ab-3c;\r\n"
     "\tTue, 02 May 2023 10:00:00 +0200",
     "203.0.113.9", "[192.168.1.20]", "", "mx.example.com", "esmtpsa", "1rXyZ0-0002Ab-3c", ""},
    {"EximLocal",
     "from user by host.example.com with local (Exim 4.96)\r\n"
     "\t(envelope-from <user@example.com>)\r\n\tid 1rQq00-0003Cd-EF; Tue, 02 May 2023 10:00:00 "
     "+0200",
     "", "user", "", "host.example.com", "local", "1rQq00-0003Cd-EF", ""},
    {"Sendmail",
     "from mail.example.net (mail.example.net [203.0.113.9])\r\n"
     "\tby mail.example.com (8.15.2/8.15.2) with ESMTP id 3A1B2C3D004567\r\n"
     "\tfor <user@example.com>; Mon, 1 Jan 2024 12:00:00 +0100",
     "203.0.113.9", "mail.example.net", "mail.example.net", "mail.example.com", "ESMTP",
     "3A1B2C3D004567", "user@example.com"},
    {"SendmailLocalhost",
     "from localhost (localhost [127.0.0.1])\r\n"
     "\tby mail.example.com (8.17.1/8.17.1) with ESMTP id 40A1b2c3d4567;\r\n"
     "\tMon, 1 Jan 2024 12:00:00 +0100",
     "127.0.0.1", "localhost", "localhost", "mail.example.com", "ESMTP", "40A1b2c3d4567", ""},
    {"SendmailIdent",
     "from mail.example.net (IDENT:root@mail.example.net [198.51.100.44])\r\n"
     "\tby mail.example.com (8.12.11/8.12.11) with ESMTP id i2ABCDEF012345\r\n"
     "\tfor <user@example.com>; Mon, 1 Jan 2024 12:00:00 +0100",
     "198.51.100.44", "mail.example.net", "mail.example.net", "mail.example.com", "ESMTP",
     "i2ABCDEF012345", "user@example.com"},
    {"SendmailMayBeForged",
     "from helo.example.org (ppp-203-0-113-50.example.net [203.0.113.50] (may be forged))\r\n"
     "\tby mail.example.com (8.14.4/8.14.4) with ESMTP id r1ABcdEF001234;\r\n"
     "\tMon, 1 Jan 2024 12:00:00 +0100",
     "203.0.113.50", "helo.example.org", "ppp-203-0-113-50.example.net", "mail.example.com",
     "ESMTP", "r1ABcdEF001234", ""},
    {"SendmailAuthenticated",
     "from [192.168.1.20] ([203.0.113.77])\r\n\t(authenticated bits=0)\r\n"
     "\tby mail.example.com (8.15.2/8.15.2) with ESMTPSA id 3A1B2C3D004569\r\n"
     "\t(version=TLSv1.2 cipher=ECDHE-RSA-AES256-GCM-SHA384 bits=256 verify=NO)\r\n"
     "\tfor <u@example.com>; Mon, 1 Jan 2024 12:00:00 +0100",
     "203.0.113.77", "[192.168.1.20]", "", "mail.example.com", "ESMTPSA", "3A1B2C3D004569",
     "u@example.com"},
    {"SendmailSubmit",
     "(from user@localhost)\r\n\tby mail.example.com (8.15.2/8.15.2/Submit) id 3A1B2C3D004568;\r\n"
     "\tMon, 1 Jan 2024 12:00:00 +0100",
     "", "", "", "mail.example.com", "", "3A1B2C3D004568", ""},
    {"ExchangeInternal",
     "from EX01.contoso.local (10.0.0.5) by EX02.contoso.local (10.0.0.6) with Microsoft SMTP "
     "Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384) id 15.1.2507.23; "
     "Tue, 2 May 2023 10:00:00 +0200",
     "10.0.0.5", "EX01.contoso.local", "", "EX02.contoso.local", "Microsoft SMTP Server",
     "15.1.2507.23", ""},
    {"Office365Ipv6",
     "from AM0PR04CA0012.eurprd04.prod.outlook.com (2603:10a6:208:122::25)\r\n"
     " by AM9PR04MB8555.eurprd04.prod.outlook.com (2603:10a6:20b:436::16) with\r\n"
     " Microsoft SMTP Server (version=TLS1_2,\r\n"
     " cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.6363.33; Tue, 2 May\r\n"
     " 2023 08:00:00 +0000",
     "2603:10a6:208:122::25", "AM0PR04CA0012.eurprd04.prod.outlook.com", "",
     "AM9PR04MB8555.eurprd04.prod.outlook.com", "Microsoft SMTP Server", "15.20.6363.33", ""},
    {"Office365FrontendTransport",
     "from mail.example.net (203.0.113.9) by\r\n"
     " AM6EUR05FT047.mail.protection.outlook.com (10.233.240.219) with Microsoft SMTP\r\n"
     " Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n"
     " 15.20.6387.12 via Frontend Transport; Tue, 2 May 2023 08:00:00 +0000",
     "203.0.113.9", "mail.example.net", "", "AM6EUR05FT047.mail.protection.outlook.com",
     "Microsoft SMTP Server", "15.20.6387.12", ""},
    {"ExchangeMapiZoneIndex",
     "from DM6PR12MB1234.namprd12.prod.outlook.com\r\n"
     " ([fe80::1d2e:3f4a:5b6c:7d8e%5]) by DM6PR12MB1234.namprd12.prod.outlook.com\r\n"
     " ([fe80::1d2e:3f4a:5b6c:7d8e%5]) with mapi id 15.20.6363.033; Tue, 2 May 2023\r\n"
     " 08:00:00 +0000",
     "fe80::1d2e:3f4a:5b6c:7d8e", "DM6PR12MB1234.namprd12.prod.outlook.com", "",
     "DM6PR12MB1234.namprd12.prod.outlook.com", "mapi", "15.20.6363.033", ""},
    {"GmailInbound",
     "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41])\r\n"
     "        by mx.google.com with SMTPS id x12sor1234567qkj.41.2024.01.01.12.00.00\r\n"
     "        for <user@gmail.com>\r\n        (Google Transport Security);\r\n"
     "        Mon, 01 Jan 2024 12:00:00 -0800 (PST)",
     "209.85.220.41", "mail-sor-f41.google.com", "mail-sor-f41.google.com", "mx.google.com",
     "SMTPS", "x12sor1234567qkj.41.2024.01.01.12.00.00", "user@gmail.com"},
    {"GmailInboundIpv6",
     "from mail-yw1-x1130.google.com (mail-yw1-x1130.google.com. [2607:f8b0:4864:20::1130])\r\n"
     "        by mx.example.com with ESMTPS id a1b2c3d4e5.7.2024.01.01.12.00.00\r\n"
     "        for <user@example.com>; Mon, 01 Jan 2024 12:00:00 -0800 (PST)",
     "2607:f8b0:4864:20::1130", "mail-yw1-x1130.google.com", "mail-yw1-x1130.google.com",
     "mx.example.com", "ESMTPS", "a1b2c3d4e5.7.2024.01.01.12.00.00", "user@example.com"},
    {"GmailInternal",
     "by 2002:a05:6a10:8a45:b0:4f2:1234:5678 with SMTP id h5csp1234567pxb;\r\n"
     "        Mon, 1 Jan 2024 12:00:01 -0800 (PST)",
     "", "", "", "2002:a05:6a10:8a45:b0:4f2:1234:5678", "SMTP", "h5csp1234567pxb", ""},
    {"GmailSubmission",
     "from [192.168.1.10] ([203.0.113.9])\r\n"
     "        by smtp.gmail.com with ESMTPSA id "
     "p12-20020a05600c1d8c00b0040e4a2b7c3asm1234567wms.12\r\n"
     "        for <u@example.com>\r\n"
     "        (version=TLS1_3 cipher=TLS_AES_128_GCM_SHA256 bits=128/128);\r\n"
     "        Mon, 01 Jan 2024 12:00:00 -0800 (PST)",
     "203.0.113.9", "[192.168.1.10]", "", "smtp.gmail.com", "ESMTPSA",
     "p12-20020a05600c1d8c00b0040e4a2b7c3asm1234567wms.12", "u@example.com"},
    {"Qmail",
     "from unknown (HELO mail.example.net) (203.0.113.9)\r\n"
     "  by mx.example.com with SMTP; 1 Jan 2024 12:00:00 -0000",
     "203.0.113.9", "mail.example.net", "unknown", "mx.example.com", "SMTP", "", ""},
    {"QmailRemoteInfo",
     "from unknown (HELO [10.0.0.8]) (qmailr@198.51.100.3)\r\n"
     "  by mx.example.com with SMTP; 1 Jan 2024 12:00:00 -0000",
     "198.51.100.3", "[10.0.0.8]", "unknown", "mx.example.com", "SMTP", "", ""},
    {"QmailInvokedFromNetwork", "(qmail 12345 invoked from network); 1 Jan 2024 12:00:00 -0000", "",
     "", "", "", "", "", ""},
    {"QmailInvokedByUid", "(qmail 4321 invoked by uid 89); 1 Jan 2024 12:00:00 -0000", "", "", "",
     "", "", "", ""},
    {"Courier",
     "from mail.example.net (mail.example.net [203.0.113.9])\r\n"
     "  (AUTH: LOGIN user@example.net, TLS: TLSv1/SSLv3,256bits,ECDHE-RSA-AES256-GCM-SHA384)\r\n"
     "  by mx.example.com with ESMTPSA; Mon, 01 Jan 2024 12:00:00 +0000",
     "203.0.113.9", "mail.example.net", "mail.example.net", "mx.example.com", "ESMTPSA", "", ""},
    {"Bccsink",
     "from mx.example.com (unknown [127.0.0.1])\r\n"
     "\tby sink.example.com (bccsink) with ESMTP id 01HQ3Z8Y7X6W5V4T3S2R1Q0P9N\r\n"
     "\tfor <bcc@example.com>; Mon, 01 Jan 2024 12:00:00 +0000",
     "127.0.0.1", "mx.example.com", "unknown", "sink.example.com", "ESMTP",
     "01HQ3Z8Y7X6W5V4T3S2R1Q0P9N", "bcc@example.com"},
    {"BccsinkMappedIpv4",
     "from mx.example.com (unknown [::ffff:192.0.2.10])\r\n"
     "\tby sink.example.com (bccsink) with ESMTPS id 01HQ3Z8Y7X6W5V4T3S2R1Q0P9M\r\n"
     "\tMon, 01 Jan 2024 12:00:00 +0000",
     "::ffff:192.0.2.10", "mx.example.com", "unknown", "sink.example.com", "ESMTPS",
     "01HQ3Z8Y7X6W5V4T3S2R1Q0P9M", ""},
    // A HELO with spaces is copied verbatim by lax MTAs; the MTA's own comment comes last.
    {"HeloImitatesComment",
     "from x (localhost [127.0.0.1]) by y (mail.example.net [203.0.113.66])\r\n"
     "\tby mx.example.com (Postfix) with ESMTP id 4R9zz; Mon,  1 Jan 2024 12:00:00 +0000",
     "203.0.113.66", "x", "localhost", "mx.example.com", "ESMTP", "4R9zz", ""},
    {"HeloOpensComment",
     "from (x (unknown [203.0.113.66])\r\n"
     "\tby mx.example.com (Postfix) with ESMTP id 4R9zz; Mon,  1 Jan 2024 12:00:00 +0000",
     "203.0.113.66", "", "unknown", "", "", "", ""},
    {"HeloHasQuote",
     "from \"x (unknown [203.0.113.66])\r\n"
     "\tby mx.example.com (Postfix) with ESMTP id 4R9zz; Mon,  1 Jan 2024 12:00:00 +0000",
     "203.0.113.66", "\"x", "unknown", "mx.example.com", "ESMTP", "4R9zz", ""},
    {"HeloOpensCommentAfterBy",
     "from x by ( (unknown [203.0.113.66])\r\n"
     "\tby mx.example.com (Postfix) with ESMTP id 4R9zz; Mon,  1 Jan 2024 12:00:00 +0000",
     "203.0.113.66", "x", "unknown", "", "", "", ""},
    {"HeloOpensCommentAfterSemicolon",
     "from x; ( ([203.0.113.66])\r\n"
     "\tby mx.example.com (8.15.2/8.15.2) with ESMTP id 3A1B; Mon, 1 Jan 2024 12:00:00 +0100",
     "203.0.113.66", "x", "", "", "", "", ""},
    {"HeloImitatesQmail",
     "from (HELO ([203.0.113.66])\r\n"
     "\tby mx.example.com (8.15.2/8.15.2) with ESMTP id 3A1B; Mon, 1 Jan 2024 12:00:00 +0100",
     "203.0.113.66", "", "", "", "", "", ""},
    {"Empty", "", "", "", "", "", "", "", ""},
    {"Junk", "%%% [not-an-ip] ((( by", "", "", "", "", "", "", ""},
};

class ReceivedTable : public ::testing::TestWithParam<Row> {};

TEST_P(ReceivedTable, ParsesConnectingAddressAndClauses) {
  const Row& row = GetParam();
  auto h = parseReceived(row.value);
  EXPECT_EQ(h.ip, row.ip);
  EXPECT_EQ(h.helo, row.helo);
  EXPECT_EQ(h.reverseName, row.reverse);
  EXPECT_EQ(h.by, row.by);
  EXPECT_EQ(h.with, row.with);
  EXPECT_EQ(h.id, row.id);
  EXPECT_EQ(h.forAddress, row.forAddress);
  if (!h.ip.empty()) {
    ASSERT_FALSE(h.addresses.empty());
    EXPECT_EQ(h.addresses.back(), h.ip);
  }
}

INSTANTIATE_TEST_SUITE_P(ReceivedRealWorld, ReceivedTable, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<Row>& info) {
                           return std::string(info.param.name);
                         });

TEST(ReceivedHeader, DateIsTheTextAfterTheLastSemicolonUnfolded) {
  auto h = parseReceived(
      "from a (a [192.0.2.1]) by b with ESMTP id X;\r\n\tMon,  1 Jan 2024 12:00:00 +0000 (UTC)");
  EXPECT_EQ(h.date, "Mon, 1 Jan 2024 12:00:00 +0000 (UTC)");
}

TEST(ReceivedHeader, InjectedLoopbackIsKeptAmongTheAddresses) {
  auto h = parseReceived(
      "from x (localhost [127.0.0.1]) (unknown [203.0.113.66]) by mx.example.com; date");
  EXPECT_EQ(h.addresses, (std::vector<std::string>{"127.0.0.1", "203.0.113.66"}));
  EXPECT_EQ(h.ip, "203.0.113.66");
}

TEST(ReceivedHeader, CommentLeftOpenByTheHeloStillYieldsTheClient) {
  auto h = parseReceived(
      "from (x (203.0.113.66) by EX02.contoso.local (10.0.0.6) with Microsoft SMTP Server id "
      "15.1.2507.23; Tue, 2 May 2023 10:00:00 +0200");
  // The receiving host's address is swallowed too; the check weighs every address.
  EXPECT_EQ(h.addresses, (std::vector<std::string>{"203.0.113.66", "10.0.0.6"}));
}

TEST(ReceivedHeader, AddressesOfTheByClauseAreNotTheClients) {
  auto h = parseReceived("from a.example (a.example) by b.example ([198.51.100.1]); date");
  EXPECT_TRUE(h.ip.empty());
  EXPECT_TRUE(h.addresses.empty());
}

TEST(ReceivedHeader, TenThousandNestedParenthesesFinishQuickly) {
  std::string value = "from x " + std::string(10000, '(') + "[203.0.113.5]" +
                      std::string(10000, ')') + " by y; date";
  auto start = std::chrono::steady_clock::now();
  auto h = parseReceived(value);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_EQ(h.ip, "203.0.113.5");
  EXPECT_EQ(h.by, "y");
}

TEST(ReceivedHeader, UnclosedNestingFinishesQuickly) {
  std::string value = "from x " + std::string(100000, '(') + " by y; date";
  auto start = std::chrono::steady_clock::now();
  auto h = parseReceived(value);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_TRUE(h.ip.empty());
}

TEST(ReceivedHeader, OneMegabyteOfJunkFinishesQuickly) {
  std::string chunk = "from [ by ( ; [203.0.113.5 \\( \"x ) helo=[ ";
  std::string value;
  while (value.size() < (1u << 20)) value += chunk;
  auto start = std::chrono::steady_clock::now();
  auto h = parseReceived(value);
  (void)printableHop(value);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(ReceivedHeader, PrintableHopIsOneBoundedLine) {
  EXPECT_EQ(printableHop("from a\r\n\tby b;\r\n date"), "from a by b; date");
  EXPECT_EQ(printableHop("a\x01\x7f\xc3\xa9z"), "a????z");
  std::string longValue(500, 'x');
  auto hop = printableHop(longValue, 200);
  EXPECT_EQ(hop.size(), 200u);
  EXPECT_EQ(hop.substr(197), "...");
  EXPECT_EQ(printableHop("  short  "), "short");
}

TEST(ReceivedHeaderFields, AreOnePrintableLineOfAtMost255Bytes) {
  auto longHelo = std::string(5000, 'h');
  auto r =
      parseReceived("from " + longHelo +
                    " (unknown [203.0.113.9])\r\n\tby mx.example.com (\x01x) with ESMTP id A\x7f"
                    "B; Mon, 30 Nov 2026 02:00:00 +0000");
  EXPECT_EQ(r.ip, "203.0.113.9");
  EXPECT_LE(r.helo.size(), 255u);
  EXPECT_EQ(r.helo.substr(0, 10), std::string(10, 'h'));
  EXPECT_EQ(r.id, "A?B");
  for (const auto* f : {&r.fromName, &r.helo, &r.by, &r.with, &r.id, &r.date}) {
    for (char c : *f) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << *f;
  }
}

}  // namespace
}  // namespace bccsink::report
