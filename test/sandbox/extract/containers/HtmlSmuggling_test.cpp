#include "sandbox/extract/containers/HtmlSmuggling.h"

#include <Poco/Base64Encoder.h>
#include <gtest/gtest.h>

#include <string>

#include "sandbox/extract/Evasion.h"
#include "test/sandbox/Collect.h"
#include "test/sandbox/extract/containers/Marker.h"

using bccsink::sandbox::ContainerLimits;
using bccsink::sandbox::walkHtmlSmuggling;
using bccsink::test::Collect;
using bccsink::test::containers::containerNamed;
using bccsink::test::containers::kContainerMarker;

namespace {

std::string base64(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder enc(out);
  enc.rdbuf()->setLineLength(0);
  enc << bytes;
  enc.close();
  return out.str();
}

Collect walk(const std::string& html, ContainerLimits limits = {}) {
  Collect c;
  walkHtmlSmuggling(html, containerNamed("invoice.html"), limits, c);
  return c;
}

TEST(HtmlSmuggling, AtobLiteralIsHandedOnWithItsPath) {
  auto c = walk("<html><script>var b = atob(\"" + base64(kContainerMarker) +
                "\");\nvar blob = new Blob([b]); saveAs(blob, 'invoice.zip');</script></html>");
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "smuggled-1.bin");
  EXPECT_EQ(c.files[0].where, (std::vector<std::string>{"mail.eml", "invoice.html"}));
  EXPECT_EQ(c.files[0].content, kContainerMarker);
  EXPECT_TRUE(c.errors.empty());
}

TEST(HtmlSmuggling, DataUriWithLineBreaksIsDecoded) {
  std::string b = base64(kContainerMarker);
  b.insert(40, "\r\n  ");
  auto c = walk("<a href=\"DATA:application/octet-stream;name=x;base64," + b +
                "\" download=\"a.iso\">open</a>");
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "a.iso");  // the download attribute names it
  EXPECT_EQ(c.files[0].content, kContainerMarker);
}

TEST(HtmlSmuggling, DataUriWithoutDownloadIsNumbered) {
  auto c = walk("<a download id=x href='data:;base64," + base64(kContainerMarker) + "'>x</a>");
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "smuggled-1.bin");
}

TEST(HtmlSmuggling, SplitLiteralsAreJoined) {
  std::string b = base64(kContainerMarker + kContainerMarker);
  std::string js = "var parts = ['" + b.substr(0, 40) + "',\n  '" + b.substr(40, 37) + "' + \"" +
                   b.substr(77) + "\"].join('');";
  auto c = walk("<script>" + js + "</script>");
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].content, kContainerMarker + kContainerMarker);
}

TEST(HtmlSmuggling, UnpaddedUrlSafeAndEscapedLineBreaks) {
  std::string payload = kContainerMarker + "\xfb\xff\xfe";
  std::string b = base64(payload);
  while (!b.empty() && b.back() == '=') b.pop_back();
  for (auto& ch : b) ch = ch == '+' ? '-' : ch == '/' ? '_' : ch;
  b.insert(20, "\\n\\\n");
  auto c = walk("<script>x = `" + b + "`;</script>");
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].content, payload);
}

TEST(HtmlSmuggling, ProseShortBlobsAndPlainDataUrisAreNotFiles) {
  auto c = walk(
      "<p>Don't worry, it's \"fine\"</p><img src=\"data:image/png;base64,iVBORw0KGgo=\">"
      "<a href=\"data:text/plain,hello%20world\">x</a><script>var s = \"a long sentence with "
      "spaces in it that is clearly not base64 at all, no matter how long it gets\";</script>");
  EXPECT_TRUE(c.files.empty());
  EXPECT_TRUE(c.errors.empty());
}

TEST(HtmlSmuggling, TooManyBlobsStopWithAnEvasionError) {
  std::string html;
  for (int i = 0; i < 5; ++i)
    html += "<script>atob('" + base64(kContainerMarker + char('0' + i)) + "')</script>";
  ContainerLimits limits;
  limits.maxMembers = 3;
  auto c = walk(html, limits);
  ASSERT_EQ(c.files.size(), 3u);
  EXPECT_EQ(c.files[2].name, "smuggled-3.bin");
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_TRUE(bccsink::sandbox::isEvasion(c.errors[0].substr(c.errors[0].find(": ") + 2)));
}

TEST(HtmlSmuggling, OversizedBlobIsListedUnscanned) {
  ContainerLimits limits;
  limits.maxMemberSize = 10;
  auto c = walk("<script>atob('" + base64(kContainerMarker) + "')</script>", limits);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_TRUE(c.files[0].content.empty());
  EXPECT_TRUE(bccsink::sandbox::isEvasion(c.files[0].unscanned));
}

TEST(HtmlSmuggling, UnclosedQuotesAndGarbageEndQuietly) {
  auto c = walk("'\"`data:;base64,\"" + std::string(1000, '\'') + "data:" + std::string(300, 'x'));
  EXPECT_TRUE(c.files.empty());
}

}  // namespace
