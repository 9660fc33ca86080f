#include "sandbox/extract/Extractor.h"

#include <Poco/Base64Encoder.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/extract/Digest.h"
#include "test/sandbox/Collect.h"
#include "test/sandbox/extract/ZipWriter.h"

using bccsink::sandbox::defaultFileTypes;
using bccsink::sandbox::digest;
using bccsink::sandbox::ExtractedFile;
using bccsink::sandbox::Extraction;
using bccsink::sandbox::ExtractLimits;
using bccsink::sandbox::Extractor;
using bccsink::sandbox::FileTyper;
using bccsink::sandbox::parseSelection;
using bccsink::sandbox::SelectionRules;
using bccsink::test::kClamavTestfiles;
using bccsink::test::readFile;

namespace {

const std::string kClamExe = std::string(kClamavTestfiles) + "/clam.exe";

std::string clamExe() {
  return readFile(kClamExe);
}

std::string base64(const std::string& bytes) {
  std::ostringstream out;
  Poco::Base64Encoder encoder(out);
  encoder << bytes;
  encoder.close();
  return out.str() + "\r\n";
}

using bccsink::test::zip;

// A MIME part with a file: its type, name and base64 body.
std::string attachment(const std::string& name, const std::string& type, const std::string& bytes) {
  return "Content-Type: " + type + "; name=\"" + name +
         "\"\r\n"
         "Content-Disposition: attachment; filename=\"" +
         name +
         "\"\r\n"
         "Content-Transfer-Encoding: base64\r\n"
         "\r\n" +
         base64(bytes);
}

std::string textPart(const std::string& text) {
  return "Content-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n";
}

// An RFC 5322 message; with parts, multipart/mixed around them.
std::string message(const std::vector<std::string>& parts,
                    const std::string& boundary = "b-outer") {
  std::string m =
      "From: Sender <sender@example.com>\r\n"
      "To: bcc-sink@example.net\r\n"
      "Subject: invoice\r\n"
      "Date: Tue, 25 Nov 2025 10:00:00 +0000\r\n"
      "Message-ID: <" +
      boundary +
      "@example.com>\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: multipart/mixed; boundary=\"" +
      boundary + "\"\r\n\r\nThis is a multi-part message in MIME format.\r\n";
  for (const auto& p : parts) m += "--" + boundary + "\r\n" + p;
  return m + "--" + boundary + "--\r\n";
}

struct Kept {
  std::string path;
  std::string sha256;
  bool selected = false;
  std::string bytes;
};

class ExtractorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { typer_ = new FileTyper; }
  static void TearDownTestSuite() {
    delete typer_;
    typer_ = nullptr;
  }

  void SetUp() override {
    if (!std::filesystem::exists(kClamExe)) {
      GTEST_FAIL() << "Debian package clamav-testfiles is not installed (" << kClamavTestfiles
                   << "); these tests need its clam.exe";
    }
    exe_ = clamExe();
  }

  // Extracts with the shipped default selection ("default" in VxcubeFileTypes).
  Extraction extract(const std::string& msg, ExtractLimits limits = {},
                     SelectionRules rules = parseSelection(defaultFileTypes(), 0)) {
    kept_.clear();
    Extractor extractor(*typer_, std::move(rules), limits);
    return extractor.extract(msg, [this](const ExtractedFile& f, std::string_view bytes) {
      kept_.push_back({f.path(), f.sha256, f.selected, std::string(bytes)});
    });
  }

  static std::vector<std::string> paths(const Extraction& x) {
    std::vector<std::string> out;
    for (const auto& f : x.files) out.push_back(f.path());
    return out;
  }

  static const ExtractedFile* find(const Extraction& x, const std::string& path) {
    for (const auto& f : x.files) {
      if (f.path() == path) return &f;
    }
    return nullptr;
  }

  static FileTyper* typer_;
  std::string exe_;
  std::vector<Kept> kept_;
};

FileTyper* ExtractorTest::typer_ = nullptr;

}  // namespace

TEST(Extractor, ExtractedFilePathIsTheContainersAndTheName) {
  ExtractedFile f;
  f.name = "invoice.exe";
  EXPECT_EQ(f.path(), "invoice.exe");
  f.where = {"invoice.zip"};
  EXPECT_EQ(f.path(), "invoice.zip > invoice.exe");
  f.where = {"attached-message.eml", "invoice.zip", "docs/inner.7z"};
  f.name = "docs/a.exe";
  EXPECT_EQ(f.path(), "attached-message.eml > invoice.zip > docs/inner.7z > docs/a.exe");
}

TEST_F(ExtractorTest, AttachedPeIsSelectedWithItsTrueTypeAndDigests) {
  auto x = extract(message({textPart("Please find the invoice attached."),
                            attachment("clam.exe", "application/octet-stream", exe_)}));
  EXPECT_TRUE(x.errors.empty()) << x.errors.front();
  ASSERT_EQ(x.files.size(), 1u) << "the body text is not a file";
  const auto& f = x.files[0];
  auto d = digest(exe_);
  EXPECT_EQ(f.name, "clam.exe");
  EXPECT_TRUE(f.where.empty());
  EXPECT_EQ(f.path(), "clam.exe");
  EXPECT_EQ(f.size, exe_.size());
  EXPECT_EQ(f.md5, d.md5);
  EXPECT_EQ(f.sha256, d.sha256);
  EXPECT_EQ(f.md5.size(), 32u);
  EXPECT_EQ(f.sha256.size(), 64u);
  EXPECT_EQ(f.type.family, "pe");
  EXPECT_FALSE(f.type.mimeType.empty());  // libmagic's own, which varies by version
  EXPECT_EQ(f.extension, "exe");
  EXPECT_FALSE(f.extensionMismatch);
  EXPECT_TRUE(f.selected);
  EXPECT_EQ(f.reason, "");
  EXPECT_FALSE(f.unreadable);

  ASSERT_EQ(kept_.size(), 1u);
  EXPECT_EQ(kept_[0].path, "clam.exe");
  EXPECT_EQ(kept_[0].bytes, exe_);
  EXPECT_EQ(kept_[0].sha256, d.sha256);
  EXPECT_TRUE(kept_[0].selected);
}

TEST_F(ExtractorTest, PeNamedAsAPdfIsAMismatchAndStillSelected) {
  auto x = extract(message({attachment("invoice.pdf", "application/pdf", exe_)}));
  ASSERT_EQ(x.files.size(), 1u);
  EXPECT_EQ(x.files[0].extension, "pdf");
  EXPECT_EQ(x.files[0].type.family, "pe");
  EXPECT_TRUE(x.files[0].extensionMismatch);
  EXPECT_TRUE(x.files[0].selected);
}

TEST_F(ExtractorTest, KeepSeesEachSelectedFileOnceWithItsBytesAndNoOtherFile) {
  const std::string readme = "Unpack and run the installer.\n";
  const std::string a = zip({{"clam.exe", exe_}, {"readme.txt", readme}});
  auto x =
      extract(message({textPart("Hello"), attachment("clam.exe", "application/x-msdownload", exe_),
                       attachment("notes.txt", "text/plain", "meeting at ten\n"),
                       attachment("a.zip", "application/zip", a)}));
  EXPECT_TRUE(x.errors.empty()) << x.errors.front();
  ASSERT_EQ(paths(x), (std::vector<std::string>{"clam.exe", "notes.txt", "a.zip",
                                                "a.zip > clam.exe", "a.zip > readme.txt"}));

  auto notes = find(x, "notes.txt");
  ASSERT_NE(notes, nullptr);
  EXPECT_FALSE(notes->selected);
  EXPECT_EQ(notes->reason, "type not selected");
  EXPECT_EQ(notes->type.family, "text");
  EXPECT_EQ(notes->md5, digest("meeting at ten\n").md5);  // hashed all the same
  auto inner = find(x, "a.zip > readme.txt");
  ASSERT_NE(inner, nullptr);
  EXPECT_FALSE(inner->selected);
  EXPECT_EQ(inner->reason, "type not selected");

  // Archives are sent whole as well as walked (the default list has "archive").
  ASSERT_EQ(kept_.size(), 3u);
  EXPECT_EQ(kept_[0].path, "clam.exe");
  EXPECT_EQ(kept_[0].bytes, exe_);
  EXPECT_EQ(kept_[1].path, "a.zip");
  EXPECT_EQ(kept_[1].bytes, a);
  EXPECT_EQ(kept_[2].path, "a.zip > clam.exe");
  EXPECT_EQ(kept_[2].bytes, exe_);
  for (const auto& k : kept_) {
    EXPECT_TRUE(k.selected) << k.path;
    EXPECT_EQ(k.sha256, digest(k.bytes).sha256) << k.path;
  }
}

TEST_F(ExtractorTest, FileOverVxcubeMaxFileSizeIsListedAndNotKept) {
  auto x = extract(message({attachment("clam.exe", "application/octet-stream", exe_)}), {},
                   parseSelection(defaultFileTypes(), 100));
  ASSERT_EQ(x.files.size(), 1u);
  EXPECT_FALSE(x.files[0].selected);
  EXPECT_EQ(x.files[0].reason, "over VxcubeMaxFileSize (100 bytes)");
  EXPECT_EQ(x.files[0].sha256, digest(exe_).sha256);
  EXPECT_TRUE(kept_.empty());
}

TEST_F(ExtractorTest, ZipMembersAreListedInsideTheZip) {
  const std::string a = zip({{"clam.exe", exe_}});
  auto x = extract(message({attachment("a.zip", "application/zip", a)}));
  EXPECT_TRUE(x.errors.empty()) << x.errors.front();
  ASSERT_EQ(x.files.size(), 2u);

  EXPECT_EQ(x.files[0].path(), "a.zip");
  EXPECT_EQ(x.files[0].type.family, "archive");
  EXPECT_EQ(x.files[0].sha256, digest(a).sha256);
  EXPECT_EQ(x.files[0].size, a.size());

  const auto& member = x.files[1];
  EXPECT_EQ(member.name, "clam.exe");
  EXPECT_EQ(member.where, std::vector<std::string>{"a.zip"});
  EXPECT_EQ(member.path(), "a.zip > clam.exe");
  EXPECT_EQ(member.type.family, "pe");
  EXPECT_EQ(member.sha256, digest(exe_).sha256);
  EXPECT_EQ(member.md5, digest(exe_).md5);
  EXPECT_EQ(member.size, exe_.size());
  EXPECT_TRUE(member.selected);
}

TEST_F(ExtractorTest, SavedMessageThatStartsWithMimeVersionIsKnownByItsExtension) {
  // libmagic says text/plain for a message whose first header is MIME-Version.
  const std::string saved =
      "MIME-Version: 1.0\r\n" +
      message({textPart("the payload"), attachment("clam.exe", "application/octet-stream", exe_)},
              "b-saved");
  const std::string bundle = zip({{"saved.eml", saved}});
  auto x = extract(message({attachment("bundle.zip", "application/zip", bundle)}));
  ASSERT_EQ(paths(x), (std::vector<std::string>{"bundle.zip", "bundle.zip > saved.eml",
                                                "bundle.zip > saved.eml > clam.exe"}));
  EXPECT_EQ(x.files.back().sha256, digest(exe_).sha256);
}

TEST_F(ExtractorTest, ContainerDeeperThanMaxDepthIsListedUnscannedButNotOpened) {
  const std::string inner = zip({{"clam.exe", exe_}});
  const std::string outer = zip({{"inner.zip", inner}});
  ExtractLimits limits;
  limits.maxDepth = 1;
  auto x = extract(message({attachment("outer.zip", "application/zip", outer)}), limits);
  ASSERT_EQ(paths(x), (std::vector<std::string>{"outer.zip", "outer.zip > inner.zip"}));
  const std::string what =
      "nested deeper than 1 containers (BccMaxNesting): its contents were not read";
  const std::string reason = "evasion: " + what;
  EXPECT_EQ(x.errors, std::vector<std::string>{"evasion: 'outer.zip > inner.zip': " + what});
  EXPECT_FALSE(x.files[0].unreadable);

  // The container itself is listed, unscanned with the reason, its digests and type kept.
  const auto* listed = find(x, "outer.zip > inner.zip");
  ASSERT_NE(listed, nullptr);
  EXPECT_TRUE(listed->unreadable);
  EXPECT_EQ(listed->reason, reason);
  EXPECT_EQ(listed->sha256, digest(inner).sha256);
  EXPECT_EQ(listed->md5, digest(inner).md5);
  EXPECT_EQ(listed->type.family, "archive");

  // One level more and everything is read.
  limits.maxDepth = 2;
  auto deeper = extract(message({attachment("outer.zip", "application/zip", outer)}), limits);
  EXPECT_TRUE(deeper.errors.empty()) << deeper.errors.front();
  ASSERT_EQ(paths(deeper), (std::vector<std::string>{"outer.zip", "outer.zip > inner.zip",
                                                     "outer.zip > inner.zip > clam.exe"}));
  EXPECT_FALSE(deeper.files[1].unreadable);
}

TEST_F(ExtractorTest, MaxDepthZeroOpensNoContainerAtAll) {
  ExtractLimits limits;
  limits.maxDepth = 0;
  auto x = extract(
      message({attachment("a.zip", "application/zip", zip({{"clam.exe", exe_}})),
               "Content-Type: message/rfc822\r\n\r\n" +
                   message({attachment("b.exe", "application/octet-stream", exe_)}, "b-inner")}),
      limits);
  ASSERT_EQ(paths(x), (std::vector<std::string>{"a.zip", "attached-message.eml"}));
  const std::string what =
      "nested deeper than 0 containers (BccMaxNesting): its contents were not read";
  const std::string reason = "evasion: " + what;
  EXPECT_EQ(x.errors, (std::vector<std::string>{"evasion: 'a.zip': " + what,
                                                "evasion: 'attached-message.eml': " + what}));
  for (const auto& f : x.files) {
    EXPECT_TRUE(f.unreadable) << f.path();
    EXPECT_EQ(f.reason, reason) << f.path();
  }
}

TEST_F(ExtractorTest, FilesPastTheMessageTotalAreUnreadableWithTheReason) {
  ExtractLimits limits;
  limits.maxTotalBytes = exe_.size() + 10;
  auto x = extract(message({attachment("first.exe", "application/octet-stream", exe_),
                            attachment("second.exe", "application/octet-stream", exe_)}),
                   limits);
  ASSERT_EQ(x.files.size(), 2u);
  EXPECT_FALSE(x.files[0].unreadable);
  EXPECT_TRUE(x.files[0].selected);

  const auto& second = x.files[1];
  EXPECT_EQ(second.name, "second.exe");
  EXPECT_TRUE(second.unreadable);
  EXPECT_EQ(second.reason,
            "evasion: message unpacks to more than " + std::to_string(exe_.size() + 10) + " bytes");
  EXPECT_EQ(second.size, exe_.size());
  EXPECT_FALSE(second.selected);
  EXPECT_EQ(second.md5, "");
  EXPECT_EQ(second.sha256, "");
  ASSERT_EQ(kept_.size(), 1u);
  EXPECT_EQ(kept_[0].path, "first.exe");
}

TEST_F(ExtractorTest, ArchiveMembersCountTowardsTheMessageTotal) {
  const std::string a = zip({{"clam.exe", exe_}});
  ExtractLimits limits;
  limits.maxTotalBytes = a.size() + 10;
  auto x = extract(message({attachment("a.zip", "application/zip", a)}), limits);
  ASSERT_EQ(paths(x), (std::vector<std::string>{"a.zip", "a.zip > clam.exe"}));
  EXPECT_FALSE(x.files[0].unreadable);
  EXPECT_TRUE(x.files[1].unreadable);
  EXPECT_EQ(x.files[1].reason,
            "evasion: message unpacks to more than " + std::to_string(a.size() + 10) + " bytes");
  ASSERT_EQ(kept_.size(), 1u);
  EXPECT_EQ(kept_[0].path, "a.zip");
}

TEST_F(ExtractorTest, EncryptedMemberIsListedUnreadableAndNotKept) {
  const std::string a = zip({{"clam.exe", exe_}}, "infected");
  auto x = extract(message({attachment("a.zip", "application/zip", a)}));
  ASSERT_EQ(paths(x), (std::vector<std::string>{"a.zip", "a.zip > clam.exe"}));
  const auto& member = x.files[1];
  EXPECT_TRUE(member.unreadable);
  EXPECT_EQ(member.reason, "evasion: encrypted zip, no password opened it");
  EXPECT_FALSE(member.selected);
  EXPECT_EQ(member.sha256, "");
  EXPECT_EQ(member.extension, "exe");
  ASSERT_EQ(kept_.size(), 1u);
  EXPECT_EQ(kept_[0].path, "a.zip");
}

TEST_F(ExtractorTest, EncryptedZipIsOpenedWithThePasswordTheBodyGives) {
  const std::string a = zip({{"clam.exe", exe_}}, "Xk93-q");
  auto x = extract(message({textPart("Hello,\r\nthe documents are attached.\r\n"
                                     "Password: \"Xk93-q\".\r\n"),
                            attachment("a.zip", "application/zip", a)}));
  ASSERT_EQ(paths(x), (std::vector<std::string>{"a.zip", "a.zip > clam.exe"}));
  const auto& member = x.files[1];
  EXPECT_FALSE(member.unreadable) << member.reason;
  EXPECT_EQ(member.sha256, digest(exe_).sha256);
  EXPECT_TRUE(member.selected);
  EXPECT_NE(member.reason.find("opened with password 'Xk93-q' from the message body"),
            std::string::npos)
      << member.reason;
  ASSERT_EQ(kept_.size(), 2u);
  EXPECT_EQ(kept_[1].path, "a.zip > clam.exe");
}

TEST_F(ExtractorTest, EncryptedZipIsOpenedWithAConfiguredPassword) {
  const std::string a = zip({{"clam.exe", exe_}}, "infected");
  ExtractLimits limits;
  limits.archivePasswords = {"virus", "infected"};
  auto x = extract(message({attachment("a.zip", "application/zip", a)}), limits);
  ASSERT_EQ(x.files.size(), 2u);
  EXPECT_FALSE(x.files[1].unreadable) << x.files[1].reason;
  EXPECT_EQ(x.files[1].sha256, digest(exe_).sha256);
  EXPECT_NE(x.files[1].reason.find("opened with password 'infected' from BccArchivePasswords"),
            std::string::npos)
      << x.files[1].reason;
}

TEST_F(ExtractorTest, AZipBehindPrependedDataIsOpened) {
  // Three junk bytes (what a broken MIME header leaves), a JPEG header in front, and a
  // 100 KiB image with the zip appended (found by its end of central directory).
  const std::string a = zip({{"clam.exe", exe_}});
  const std::string jpeg = std::string(
      "\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00\x00\x01"
      "\x00\x01\x00\x00",
      20);
  const std::vector<std::pair<std::string, std::string>> carriers = {
      {"a.bin", "ABC" + a},
      {"photo.jpg", jpeg + a},
      {"big.jpg", jpeg + std::string(100 * 1024, '\x55') + a},
  };
  for (const auto& [name, bytes] : carriers) {
    kept_.clear();
    auto x = extract(message({attachment(name, "application/octet-stream", bytes)}));
    ASSERT_EQ(paths(x), (std::vector<std::string>{name, name + " > clam.exe"})) << name;
    EXPECT_EQ(x.files[1].sha256, digest(exe_).sha256) << name;
    EXPECT_NE(x.files[0].reason.find("holds an archive after other data"), std::string::npos)
        << x.files[0].reason;
  }
  // A zip itself (a docx, a jar) holds local headers past offset 0 too: not opened twice.
  auto plain = extract(message({attachment("a.zip", "application/zip", a)}));
  EXPECT_EQ(paths(plain), (std::vector<std::string>{"a.zip", "a.zip > clam.exe"}));
}

TEST_F(ExtractorTest, GarbageIsNoMessageAndDoesNotThrow) {
  std::mt19937 gen(20251125);
  for (std::size_t size : {0u, 1u, 100u, 4096u, 65536u}) {
    std::string junk(size, '\0');
    for (char& c : junk) c = static_cast<char>(gen() & 0xff);
    Extraction x;
    EXPECT_NO_THROW(x = extract(junk)) << size;
    for (const auto& e : x.errors) {
      EXPECT_EQ(e.find("extraction stopped"), std::string::npos) << size << ": " << e;
    }
  }
}

TEST_F(ExtractorTest, DamagedMessageGivesWhatCanBeRead) {
  const std::string good = attachment("clam.exe", "application/octet-stream", exe_);
  const std::string cut = attachment("second.exe", "application/octet-stream", exe_);
  // The second attachment is cut in the middle and nothing closes the multipart.
  std::string msg = message({good, cut});
  msg.resize(msg.find(cut) + cut.size() / 2);
  auto x = extract(msg);
  ASSERT_EQ(x.files.size(), 2u);
  EXPECT_EQ(x.files[0].name, "clam.exe");
  EXPECT_EQ(x.files[0].sha256, digest(exe_).sha256);
  EXPECT_TRUE(x.files[0].selected);
  // The cut one is listed with the bytes that were there.
  EXPECT_EQ(x.files[1].name, "second.exe");
  EXPECT_GT(x.files[1].size, 0u);
  EXPECT_LT(x.files[1].size, exe_.size());
  EXPECT_EQ(x.files[1].sha256, digest(exe_.substr(0, x.files[1].size)).sha256);

  // A part that is not base64 at all: listed with what decoded, and the damage recorded.
  auto bad =
      extract(message({"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
                       "Content-Transfer-Encoding: base64\r\n\r\n"
                       "QUJD!!!!@@@@####\r\n"}));
  ASSERT_EQ(bad.files.size(), 1u);
  EXPECT_EQ(bad.files[0].name, "a.bin");
  EXPECT_FALSE(bad.errors.empty());
  for (const auto& e : bad.errors) EXPECT_EQ(e.find("extraction stopped"), std::string::npos) << e;
}
