#include "sandbox/extract/containers/TnefWalker.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <string>

#include "test/sandbox/Collect.h"
#include "test/sandbox/extract/containers/Marker.h"

using bccsink::sandbox::ContainerLimits;
using bccsink::sandbox::isTnef;
using bccsink::sandbox::walkTnef;
using bccsink::test::Collect;
using bccsink::test::containers::containerNamed;
using bccsink::test::containers::kContainerMarker;

namespace {

// No Debian package writes TNEF (tnef and ytnef only read it), so the samples are built
// here from [MS-OXTNEF] section 2.1.3: a signature and key, then attributes of
// level (1 message, 2 attachment), id (type << 16 | id), length, data, and a checksum
// (the data's bytes summed modulo 65536).
class Tnef {
 public:
  Tnef() {
    le32(0x223E9F78);
    le16(0x0001);                                                  // legacy key
    attribute(1, 0x00089006, std::string("\x00\x00\x01\x00", 4));  // attTnefVersion
  }
  // One attachment with each of its title and data given twice (clients differ on which
  // they show; libytnef keeps the last).
  Tnef& doubled(const std::string& title1, const std::string& data1, const std::string& title2,
                const std::string& data2) {
    attribute(2, 0x00069002, std::string(14, '\0'));
    attribute(2, 0x00018010, title1 + '\0');
    attribute(2, 0x0006800F, data1);
    attribute(2, 0x00018010, title2 + '\0');
    attribute(2, 0x0006800F, data2);
    return *this;
  }
  Tnef& attachment(const std::string& title, const std::string& data,
                   const std::string& mapiProps = "") {
    attribute(2, 0x00069002, std::string(14, '\0'));  // attAttachRenddata: a new attachment
    attribute(2, 0x00018010, title + '\0');           // attAttachTitle (8.3 name)
    attribute(2, 0x0006800F, data);                   // attAttachData
    if (!mapiProps.empty()) attribute(2, 0x00069005, mapiProps);  // attAttachment
    return *this;
  }
  std::string bytes() const { return out_; }

  // One MAPI property list with a PT_UNICODE PR_ATTACH_LONG_FILENAME ([MS-OXTNEF] 2.1.3.4).
  static std::string longName(const std::u16string& name) {
    std::string p;
    auto put32 = [&p](std::uint32_t v) {
      for (int i = 0; i < 4; ++i) p.push_back(static_cast<char>(v >> (8 * i)));
    };
    put32(1);                         // one property
    put32(0x001F | (0x3707u << 16));  // PT_UNICODE, PR_ATTACH_LONG_FILENAME
    put32(1);                         // one value
    std::string utf16;
    for (char16_t c : name + u'\0') {
      utf16.push_back(static_cast<char>(c & 0xFF));
      utf16.push_back(static_cast<char>(c >> 8));
    }
    put32(static_cast<std::uint32_t>(utf16.size()));
    p += utf16;
    while (p.size() % 4) p.push_back('\0');
    return p;
  }

 private:
  void le16(std::uint32_t v) {
    out_.push_back(static_cast<char>(v & 0xFF));
    out_.push_back(static_cast<char>((v >> 8) & 0xFF));
  }
  void le32(std::uint32_t v) {
    le16(v & 0xFFFF);
    le16(v >> 16);
  }
  void attribute(int level, std::uint32_t id, const std::string& data) {
    out_.push_back(static_cast<char>(level));
    le32(id);
    le32(static_cast<std::uint32_t>(data.size()));
    out_ += data;
    std::uint32_t sum = 0;
    for (unsigned char c : data) sum += c;
    le16(sum & 0xFFFF);
  }
  std::string out_;
};

Collect walk(const std::string& tnef) {
  Collect c;
  walkTnef(tnef, containerNamed("winmail.dat"), ContainerLimits{}, c);
  return c;
}

TEST(TnefWalker, AttachmentsComeOutWithTheirNamesAndPath) {
  auto tnef = Tnef()
                  .attachment("README.TXT", "hello")
                  .attachment("INVOIC~1.EXE", kContainerMarker,
                              Tnef::longName(u"Rechnung f\u00fcr M\u00e4rz.exe"))
                  .bytes();
  ASSERT_TRUE(isTnef(tnef));
  auto c = walk(tnef);
  ASSERT_EQ(c.files.size(), 2u);
  EXPECT_EQ(c.files[0].name, "README.TXT");
  EXPECT_EQ(c.files[0].content, "hello");
  EXPECT_EQ(c.files[1].name, "Rechnung f\xc3\xbcr M\xc3\xa4rz.exe");  // the long name wins
  EXPECT_EQ(c.files[1].where, (std::vector<std::string>{"mail.eml", "winmail.dat"}));
  EXPECT_EQ(c.files[1].content, kContainerMarker);
  EXPECT_TRUE(c.errors.empty());
}

TEST(TnefWalker, TruncatedTnefKeepsWhatWasReadAndSaysItIsDamaged) {
  auto tnef = Tnef().attachment("A.EXE", kContainerMarker).attachment("B.EXE", "second").bytes();
  auto c = walk(tnef.substr(0, tnef.size() - 4));
  EXPECT_FALSE(c.errors.empty());
  ASSERT_GE(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].content, kContainerMarker);
}

TEST(TnefWalker, WrongChecksumsAreIgnoredAsMailClientsDo) {
  auto tnef = Tnef().attachment("INVOICE.EXE", kContainerMarker).bytes();
  tnef[tnef.size() - 1] ^= 0x55;  // the attachment data's checksum
  auto c = walk(tnef);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].content, kContainerMarker);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_NE(c.errors[0].find("1 attribute checksums wrong"), std::string::npos) << c.errors[0];
}

// ClamAV's test winmail.dat (clamav-testfiles): its message-class attribute was edited
// without its checksum, which stopped libytnef before the attachment.
TEST(TnefWalker, ClamavTestFileGivesItsExecutable) {
  const std::string path = std::string(bccsink::test::kClamavTestfiles) + "/clam.tnef";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << "clamav-testfiles not installed";
  auto c = walk(bccsink::test::readFile(path));
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "clam.exe");
  EXPECT_EQ(c.files[0].content.substr(0, 2), "MZ");
  EXPECT_EQ(c.files[0].content.size(), 544u);
}

TEST(TnefWalker, RepeatedAttributesLoseNoData) {
  auto c = walk(Tnef().doubled("A.TXT", "first data", "B.EXE", kContainerMarker).bytes());
  ASSERT_EQ(c.files.size(), 2u);
  EXPECT_EQ(c.files[0].name, "tnef-duplicate-1.bin");
  EXPECT_EQ(c.files[0].content, "first data");
  EXPECT_EQ(c.files[1].name, "B.EXE");
  EXPECT_EQ(c.files[1].content, kContainerMarker);
}

TEST(TnefWalker, NoTnefIsNoTnef) {
  EXPECT_FALSE(isTnef("PK\x03\x04"));
  auto c = walk("\x78\x9f\x3e\x22garbage");
  EXPECT_TRUE(c.files.empty());
}

}  // namespace
