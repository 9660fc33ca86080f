// Deflate64 zips (method 9, what Windows Explorer writes for large files): Debian 12's
// libarchive (3.6.2) cannot decompress them. This pins what bccsink does then: the member
// is listed with its name, unscanned with a reason, never handed on as empty clean bytes.
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "sandbox/extract/ArchiveWalker.h"
#include "test/sandbox/Collect.h"
#include "test/sandbox/extract/containers/Marker.h"

using bccsink::sandbox::ArchiveLimits;
using bccsink::sandbox::ArchiveWalker;
using bccsink::test::Collect;
using bccsink::test::containers::containerNamed;
using bccsink::test::containers::kContainerMarker;

namespace {

std::uint32_t crc32(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFF;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320 & (0 - (c & 1)));
  }
  return ~c;
}

void put(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

// A one-member zip (APPNOTE.TXT 4.3) with compression method 9. Its data is one final
// stored block, which is a valid Deflate64 stream as it is a valid Deflate one (the two
// differ only in window size and in length code 285 and distance codes 30-31).
std::string deflate64Zip(const std::string& name, const std::string& content) {
  std::string data;
  data.push_back('\x01');  // BFINAL=1, BTYPE=00 (stored)
  put(data, content.size(), 2);
  put(data, content.size() ^ 0xFFFF, 2);
  data += content;
  const std::uint32_t crc = crc32(content);
  std::string local;
  put(local, 0x04034b50, 4);
  put(local, 21, 2);  // version needed
  put(local, 0, 2);   // flags
  put(local, 9, 2);   // method: Deflate64
  put(local, 0, 4);   // time, date
  put(local, crc, 4);
  put(local, data.size(), 4);
  put(local, content.size(), 4);
  put(local, name.size(), 2);
  put(local, 0, 2);
  local += name + data;
  std::string central;
  put(central, 0x02014b50, 4);
  put(central, 21, 2);
  put(central, 21, 2);
  put(central, 0, 2);
  put(central, 9, 2);
  put(central, 0, 4);
  put(central, crc, 4);
  put(central, data.size(), 4);
  put(central, content.size(), 4);
  put(central, name.size(), 2);
  put(central, 0, 2 + 2 + 2 + 2 + 4 + 4);  // extra, comment, disk, attributes, offset 0
  central += name;
  std::string end;
  put(end, 0x06054b50, 4);
  put(end, 0, 4);
  put(end, 1, 2);
  put(end, 1, 2);
  put(end, central.size(), 4);
  put(end, local.size(), 4);
  put(end, 0, 2);
  return local + central + end;
}

TEST(Deflate64, MemberIsListedUnscannedWithAReasonNeverClean) {
  std::string zip = deflate64Zip("invoice.exe", kContainerMarker);
  ArchiveWalker walker(ArchiveLimits{});
  ASSERT_TRUE(walker.isArchive(zip));
  Collect c;
  walker.walk(zip, containerNamed("big.zip"), c);
  ASSERT_EQ(c.files.size(), 1u);
  EXPECT_EQ(c.files[0].name, "invoice.exe");
  EXPECT_TRUE(c.files[0].content.empty());
  // libarchive 3.6.2: "damaged: Unsupported ZIP compression method (9: deflation-64-bit)".
  EXPECT_NE(c.files[0].unscanned.find("compression method"), std::string::npos)
      << c.files[0].unscanned;
}

}  // namespace
