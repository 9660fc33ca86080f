#include "sandbox/extract/MimeWalker.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "test/sandbox/Collect.h"

using bccsink::sandbox::MimeLimits;
using bccsink::sandbox::MimeWalker;
using bccsink::test::Collect;
using bccsink::test::kClamavTestfiles;
using bccsink::test::readFile;

namespace {

std::string clamExe() {
  return readFile(std::string(kClamavTestfiles) + "/clam.exe");
}

Collect walk(const std::string& message, MimeLimits limits = {}) {
  Collect c;
  MimeWalker(limits).walk(message, {"outer.eml"}, c);
  return c;
}

}  // namespace

TEST(MimeWalker, ClamMailYieldsClamExeByteForByteAndNotTheBodyText) {
  auto c = walk(readFile(std::string(kClamavTestfiles) + "/clam.mail"));
  ASSERT_EQ(c.files.size(), 1u) << (c.files.empty() ? "" : c.files[0].name);
  EXPECT_EQ(c.files[0].name, "clam.exe");
  EXPECT_EQ(c.files[0].content, clamExe());
  EXPECT_EQ(c.files[0].declaredType, "application/x-ms-dos-executable");
  EXPECT_EQ(c.files[0].where, std::vector<std::string>{"outer.eml"});
  EXPECT_TRUE(c.errors.empty());
}

TEST(MimeWalker, MboxBase64SinglePartMessage) {
  auto c = walk(readFile(std::string(kClamavTestfiles) + "/clam.exe.mbox.base64"));
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "clam.exe");
  EXPECT_EQ(c.files[0].content, clamExe());
}

TEST(MimeWalker, MboxUuencodedPartIsDecodedAndItsMissingEndReported) {
  auto c = walk(readFile(std::string(kClamavTestfiles) + "/clam.exe.mbox.uu"));
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "clam.exe");
  EXPECT_EQ(c.files[0].content, clamExe());
  // The testfile ends with "e" where "end" belongs.
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_NE(c.errors[0].find("ends before 'end'"), std::string::npos);
}

TEST(MimeWalker, MultipartWithoutBoundaryAndHeaderSoupDoNotCrash) {
  for (std::string msg : {
           std::string("Content-Type: multipart/mixed\r\n\r\n--\r\nbody\r\n----\r\n"),
           std::string("Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\nx\r\n"),
           std::string(": no name\r\nX\r\nbad header line\r\n\tcontinued\r\n\r\n"),
           std::string("Content-Type: ;;;=;\"\r\nContent-Disposition: =\"\r\n\r\nbody"),
           std::string("\r\n\r\n\r\n"),
           std::string(""),
           std::string("-"),
           std::string("Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n--a\r\n--a"),
       }) {
    Collect c;
    MimeWalker().walk(msg, {}, c);
    SUCCEED();
  }
}

TEST(MimeWalker, NestingBeyondTheLimitIsReportedAndEarlierFilesKept) {
  std::string msg;
  for (int i = 0; i < 30; ++i) {
    msg += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
           std::to_string(i) + "\r\n";
    if (i == 2) {
      msg += "Content-Type: application/octet-stream; name=early.bin\r\n\r\nE\r\n--b2\r\n";
    }
  }
  msg += "Content-Type: application/octet-stream; name=deep.bin\r\n\r\nD\r\n";
  auto c = walk(msg, MimeLimits{20, 10000});
  EXPECT_NE(c.named("early.bin"), nullptr);
  EXPECT_EQ(c.named("deep.bin"), nullptr);
  ASSERT_FALSE(c.errors.empty());
  EXPECT_NE(c.errors[0].find("nesting deeper than 20"), std::string::npos);
}

TEST(MimeWalker, AMillionNestedAttachedMessagesAreHandedOnOneLevelAtATime) {
  // The walker reads one level and hands the attached message on (the Extractor limits
  // how deep it goes): no recursion, however deep the nesting.
  std::string msg;
  msg.reserve(40 << 20);
  for (int i = 0; i < 1000000; ++i) msg += "Content-Type: message/rfc822\n\n";
  msg += "body";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_TRUE(c.files[0].attachedMessage);
  EXPECT_EQ(c.files[0].content.size(), msg.size() - 30);
  EXPECT_TRUE(c.errors.empty());
}

TEST(MimeWalker, TooManyPartsStopsWithAnError) {
  std::string msg = "Content-Type: multipart/mixed; boundary=p\r\n\r\n";
  for (int i = 0; i < 50; ++i)
    msg += "--p\r\nContent-Type: application/x-a; name=f.bin\r\n\r\nx\r\n";
  msg += "--p--\r\n";
  auto c = walk(msg, MimeLimits{20, 10});
  EXPECT_LT(c.files.size(), 50u);
  ASSERT_FALSE(c.errors.empty());
  EXPECT_NE(c.errors[0].find("more than 10 MIME parts"), std::string::npos);
}

TEST(MimeWalker, EveryCpythonRegressionMessageWalksWithoutCrashing) {
  const std::string dir = "/usr/lib/python3.11/test/test_email/data";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << "libpython3.11-testsuite is not installed";
  int messages = 0;
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("msg_", 0) != 0) continue;
    Collect c;
    files += MimeWalker().walk(readFile(entry.path().string()), {}, c);
    ++messages;
  }
  EXPECT_GT(messages, 40);
  EXPECT_GT(files, 20u);
}

TEST(MimeWalker, CpythonMessageWithAnAttachedMessageAndAnImage) {
  // msg_02.txt: a multipart/digest of messages; msg_08.txt: several text parts only.
  Collect digest;
  MimeWalker().walk(readFile("/usr/lib/python3.11/test/test_email/data/msg_02.txt"), {}, digest);
  ASSERT_FALSE(digest.files.empty());
  for (const auto& f : digest.files) EXPECT_TRUE(f.attachedMessage) << f.declaredType;
}
