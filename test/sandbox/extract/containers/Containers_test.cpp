#include "sandbox/extract/containers/Containers.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/containers/UdfImage.h"
#include "test/sandbox/Collect.h"
#include "test/sandbox/extract/containers/Marker.h"

using bccsink::sandbox::ContainerLimits;
using bccsink::sandbox::isEvasion;
using bccsink::sandbox::isUdfOnlyImage;
using bccsink::sandbox::TrueType;
using bccsink::sandbox::walkContainer;
using bccsink::test::Collect;
using bccsink::test::readFile;
using bccsink::test::containers::containerNamed;

namespace {

// A disk image with only its Volume Recognition Sequence (ECMA-167 2/8.3): the given
// descriptor identifiers at 2048-byte steps from byte 32768.
std::string image(std::initializer_list<const char*> ids) {
  std::string out(32768, '\0');
  for (const char* id : ids) {
    std::string d(2048, '\0');
    d.replace(1, 5, id);
    out += d;
  }
  return out;
}

TEST(Containers, UdfOnlyImageIsAnEvasionErrorAndHybridIsLeftToLibarchive) {
  const std::string udf = image({"BEA01", "NSR03", "TEA01"});
  EXPECT_TRUE(isUdfOnlyImage(udf));
  EXPECT_FALSE(isUdfOnlyImage(image({"CD001", "BEA01", "NSR02", "TEA01"})));
  EXPECT_FALSE(isUdfOnlyImage(std::string(40000, '\0')));
  Collect c;
  TrueType type;
  type.family = "disk-image";
  EXPECT_TRUE(walkContainer(type, containerNamed("photos.img"), udf, ContainerLimits{}, c));
  EXPECT_TRUE(c.files.empty());
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_EQ(c.errors[0].rfind("'photos.img': ", 0), 0u);
  EXPECT_TRUE(isEvasion(c.errors[0].substr(14))) << c.errors[0];
}

TEST(Containers, PlainFilesAreNoContainers) {
  Collect c;
  TrueType text;
  text.family = "text";
  text.mimeType = "text/plain";
  EXPECT_FALSE(walkContainer(text, containerNamed("notes.txt"), "hello", ContainerLimits{}, c));
  TrueType exe;
  exe.family = "pe";
  EXPECT_FALSE(walkContainer(exe, containerNamed("a.exe"), "MZ\x90", ContainerLimits{}, c));
  EXPECT_TRUE(c.files.empty());
  EXPECT_TRUE(c.errors.empty());
}

// ClamAV's own test files (clamav-testfiles), each hiding clam.exe (544 bytes): the walker
// is picked by signature or extension, as libmagic may say octet-stream for any of them.
TEST(Containers, ClamavTestFilesGiveTheirExecutable) {
  const std::string dir = bccsink::test::kClamavTestfiles;
  if (!std::filesystem::exists(dir + "/clam.pdf")) GTEST_SKIP() << "clamav-testfiles missing";
  for (const char* name : {"clam.pdf", "clam.ole.doc", "clam.tnef", "clam.exe.html"}) {
    Collect c;
    std::string bytes = readFile(dir + "/" + name);
    ASSERT_TRUE(walkContainer(TrueType{}, containerNamed(name), bytes, ContainerLimits{}, c))
        << name;
    ASSERT_EQ(c.files.size(), 1u) << name;
    EXPECT_EQ(c.files[0].content.size(), 544u) << name;
    EXPECT_EQ(c.files[0].content.substr(0, 2), "MZ") << name;
    EXPECT_EQ(c.files[0].where, (std::vector<std::string>{"mail.eml", name}));
  }
}

}  // namespace
