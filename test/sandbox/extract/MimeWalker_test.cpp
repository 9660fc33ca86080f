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

std::string base64Lines(const std::string& bytes) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out, line;
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 2]);
    line += a[v >> 18 & 63];
    line += a[v >> 12 & 63];
    line += i + 1 < bytes.size() ? a[v >> 6 & 63] : '=';
    line += i + 2 < bytes.size() ? a[v & 63] : '=';
    if (line.size() >= 76) out += line + "\r\n", line.clear();
  }
  return out + line + "\r\n";
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

TEST(MimeWalker, UuencodedBlockInsideAPlainBodyIsAFile) {
  std::string uu = readFile(std::string(kClamavTestfiles) + "/clam.exe.mbox.uu");
  auto begin = uu.find("begin 644");
  std::string block = uu.substr(begin);
  block.replace(block.rfind("\ne"), std::string::npos, "\nend\n");
  std::string exe = clamExe();
  std::string msg = "From: a@example.org\r\nSubject: see below\r\n\r\nHello,\r\nthe tool:\r\n\r\n" +
                    block + "\r\nregards\r\n";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "clam.exe");
  EXPECT_EQ(c.files[0].content, exe);
  EXPECT_TRUE(c.errors.empty());
}

TEST(MimeWalker, NamedTextPartsAndNamelessBinaryPartsAreFilesButBodyTextIsNot) {
  std::string msg =
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
      "preamble\r\n--b1\r\nContent-Type: text/plain\r\n\r\nthe body\r\n"
      "--b1\r\nContent-Type: text/html\r\n\r\n<p>the body</p>\r\n"
      "--b1\r\nContent-Type: text/plain; name=\"run.js\"\r\n\r\nWScript.Echo(1)\r\n"
      "--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
      "\r\nTVqQAA==\r\n"
      "--b1\r\nContent-Type: text/plain\r\nContent-Disposition: attachment\r\n\r\nnotes\r\n"
      "--b1--\r\nepilogue\r\n";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 3u);
  EXPECT_EQ(c.files[0].name, "run.js");
  EXPECT_EQ(c.files[0].content, "WScript.Echo(1)");
  EXPECT_EQ(c.files[1].name, "");
  EXPECT_EQ(c.files[1].content, std::string("MZ\x90\0", 4));
  EXPECT_EQ(c.files[2].content, "notes");
  EXPECT_TRUE(c.errors.empty());
}

TEST(MimeWalker, NonAsciiNamesFromRfc2231AndEncodedWords) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=XX\r\n\r\n"
      "--XX\r\nContent-Type: application/pdf\r\n"
      "Content-Disposition: attachment;\r\n "
      "filename*=UTF-8''%D1%81%D1%87%D0%B5%D1%82.pdf\r\n\r\n%PDF\r\n"
      "--XX\r\nContent-Type: application/octet-stream;\r\n"
      " name=\"=?ISO-8859-1?Q?R=E9sum=E9?= =?ISO-8859-1?Q?.doc?=\"\r\n\r\nx\r\n"
      "--XX--\r\n";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 2u);
  EXPECT_EQ(c.files[0].name, "\xD1\x81\xD1\x87\xD0\xB5\xD1\x82.pdf");
  EXPECT_EQ(c.files[1].name, "R\xC3\xA9sum\xC3\xA9.doc");
}

TEST(MimeWalker, AttachedMessageInsideAMultipartIsHandedOnWhole) {
  std::string inner =
      "From: b@example.org\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary=in\r\n"
      "\r\n--in\r\nContent-Type: application/octet-stream; name=a.exe\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      base64Lines(clamExe()) + "--in--\r\n";
  std::string msg =
      "Content-Type: multipart/mixed; boundary=out\r\n\r\n"
      "--out\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
      "--out\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; "
      "filename=fwd.eml\r\n\r\n" +
      inner + "\r\n--out\r\nContent-Type: application/zip; name=after.zip\r\n\r\nPK\r\n--out--\r\n";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 2u);
  EXPECT_TRUE(c.files[0].attachedMessage);
  EXPECT_EQ(c.files[0].name, "fwd.eml");
  EXPECT_EQ(c.files[0].content, inner);
  EXPECT_EQ(c.files[1].name, "after.zip");

  // Walking the attached message in turn reaches its file.
  Collect innerFiles;
  MimeWalker().walk(c.files[0].content, {"outer.eml", "fwd.eml"}, innerFiles);
  ASSERT_EQ(innerFiles.files.size(), 1u);
  EXPECT_EQ(innerFiles.files[0].name, "a.exe");
  EXPECT_EQ(innerFiles.files[0].content, clamExe());
  EXPECT_EQ(innerFiles.files[0].where, (std::vector<std::string>{"outer.eml", "fwd.eml"}));
}

TEST(MimeWalker, UnterminatedInnerMultipartDoesNotHideTheOuterSiblings) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=out\r\n\r\n"
      "--out\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n"
      "--in\r\nContent-Type: text/plain\r\n\r\ntext\r\n"
      "--in\r\nContent-Type: application/octet-stream; name=one.bin\r\n\r\nONE\r\n"
      // no "--in--" here
      "--out\r\nContent-Type: application/octet-stream; name=two.bin\r\n\r\nTWO\r\n"
      "--out\r\nContent-Type: application/octet-stream; name=three.bin\r\n\r\nTHREE\r\n"
      "--out--\r\n";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 3u);
  EXPECT_EQ(c.files[0].content, "ONE");
  EXPECT_EQ(c.files[1].content, "TWO");
  EXPECT_EQ(c.files[2].content, "THREE");
}

TEST(MimeWalker, BoundaryTextInsideALineIsNotADelimiter) {
  std::string msg =
      "Content-Type: multipart/mixed; boundary=zz\r\n\r\n"
      "--zz\r\nContent-Type: application/octet-stream; name=a.bin\r\n\r\nx--zz y\r\n --zz\r\n"
      "--zz--\r\n";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].content, "x--zz y\r\n --zz");
}

TEST(MimeWalker, MissingClosingDelimiterAndTruncatedBase64KeepWhatWasRead) {
  std::string exe = clamExe();
  std::string b64 = base64Lines(exe);
  std::string msg =
      "Content-Type: multipart/mixed; boundary=cut\r\n\r\n"
      "--cut\r\nContent-Type: application/octet-stream; name=cut.exe\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\n" +
      b64.substr(0, b64.size() / 2) + "#!garbage";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "cut.exe");
  EXPECT_GT(c.files[0].content.size(), exe.size() / 3);
  EXPECT_EQ(exe.compare(0, c.files[0].content.size(), c.files[0].content), 0);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_NE(c.errors[0].find("base64 damaged"), std::string::npos);
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

TEST(MimeWalker, AMillionNestedAttachedMessagesDoNotExhaustTheStack) {
  std::string msg;
  msg.reserve(40 << 20);
  for (int i = 0; i < 1000000; ++i) msg += "Content-Type: message/rfc822\n\n";
  msg += "body";
  auto c = walk(msg);
  ASSERT_FALSE(c.errors.empty());
  EXPECT_NE(c.errors[0].find("not parsed"), std::string::npos);
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

TEST(MimeWalker, DigestPartsDefaultToAttachedMessages) {
  std::string msg =
      "Content-Type: multipart/digest; boundary=d\r\n\r\n"
      "--d\r\n\r\nFrom: x@example.org\r\nSubject: one\r\n\r\nfirst\r\n"
      "--d--\r\n";
  auto c = walk(msg);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_TRUE(c.files[0].attachedMessage);
  EXPECT_EQ(c.files[0].content, "From: x@example.org\r\nSubject: one\r\n\r\nfirst");
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
