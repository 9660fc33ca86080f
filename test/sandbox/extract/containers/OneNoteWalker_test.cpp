#include "sandbox/extract/containers/OneNoteWalker.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "sandbox/extract/Evasion.h"
#include "test/sandbox/Collect.h"
#include "test/sandbox/extract/containers/Marker.h"

using bccsink::sandbox::ContainerLimits;
using bccsink::sandbox::isEvasion;
using bccsink::sandbox::isOneNote;
using bccsink::sandbox::walkOneNote;
using bccsink::test::Collect;
using bccsink::test::containers::containerNamed;
using bccsink::test::containers::kContainerMarker;

namespace {

const std::string kSection("\xE4\x52\x5C\x7B\x8C\xD8\xA7\x4D\xAE\xB1\x53\x78\xD0\x29\x96\xD3", 16);
const std::string kHeader("\xE7\x16\xE3\xBD\x65\x26\x11\x45\xA4\xC4\x8D\x4D\x0B\x7A\x9E\xAC", 16);
const std::string kFooter("\x22\xA7\xFB\x71\x79\x0F\x0B\x4A\xBB\x13\x89\x92\x56\x42\x6B\x24", 16);

// No Debian package writes OneNote, so the section is built here from [MS-ONESTORE]: the
// file-type GUID at the start (2.3.1), other structures (filler here), and one
// FileDataStoreObject per embedded file (2.6.13).
std::string blob(const std::string& data, std::uint64_t declared) {
  std::string b = kHeader;
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<char>(declared >> (8 * i)));
  b += std::string(12, '\0') + data;
  while (b.size() % 8) b.push_back('\0');
  return b + kFooter;
}

TEST(OneNoteWalker, EmbeddedFilesComeOutInOrderWithPath) {
  std::string one = kSection + std::string(1000, '\x11') +
                    blob(kContainerMarker, kContainerMarker.size()) + std::string(77, '\x22') +
                    blob("second", 6);
  ASSERT_TRUE(isOneNote(one));
  Collect c;
  walkOneNote(one, containerNamed("notes.one"), ContainerLimits{}, c);
  ASSERT_EQ(c.files.size(), 2u);
  EXPECT_EQ(c.files[0].name, "onenote-embedded-1.bin");
  EXPECT_EQ(c.files[0].where, (std::vector<std::string>{"mail.eml", "notes.one"}));
  EXPECT_EQ(c.files[0].content, kContainerMarker);
  EXPECT_EQ(c.files[1].content, "second");
  EXPECT_TRUE(c.errors.empty());
}

TEST(OneNoteWalker, LengthPastTheEndIsUnscannedAsEvasion) {
  std::string one = kSection + blob(kContainerMarker, 1ull << 40);
  Collect c;
  walkOneNote(one, containerNamed("notes.one"), ContainerLimits{}, c);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_TRUE(c.files[0].content.empty());
  EXPECT_TRUE(isEvasion(c.files[0].unscanned)) << c.files[0].unscanned;
}

TEST(OneNoteWalker, TooManyBlocksStopAtTheMemberLimit) {
  std::string one = kSection;
  for (int i = 0; i < 10; ++i) one += blob("x", 1);
  ContainerLimits limits;
  limits.maxMembers = 4;
  Collect c;
  walkOneNote(one, containerNamed("notes.one"), limits, c);
  EXPECT_EQ(c.files.size(), 4u);
  ASSERT_EQ(c.errors.size(), 1u);
  EXPECT_FALSE(isOneNote("PK\x03\x04"));
}

}  // namespace
