#include "sandbox/extract/ArchiveNames.h"

#include <algorithm>

namespace bccsink::sandbox {
namespace {

constexpr std::size_t kMaxName = 65535;  // a zip name length is 16 bits

std::uint32_t le16(std::string_view b, std::size_t at) {
  return static_cast<unsigned char>(b[at]) | (static_cast<unsigned char>(b[at + 1]) << 8);
}

std::uint32_t le32(std::string_view b, std::size_t at) {
  return le16(b, at) | (le16(b, at + 2) << 16);
}

}  // namespace

std::vector<ZipName> zipNames(std::string_view bytes, std::size_t maxEntries) {
  std::vector<ZipName> out;
  // The end of central directory record (PKWARE APPNOTE 4.3.16): 22 bytes and a comment of
  // up to 65,535, so within the last 65,557 bytes; the last signature that fits wins.
  if (bytes.size() < 22) return out;
  const std::size_t lowest = bytes.size() > 65557 ? bytes.size() - 65557 : 0;
  std::size_t eocd = std::string_view::npos;
  for (std::size_t at = bytes.size() - 22 + 1; at-- > lowest;) {
    if (bytes.compare(at, 4, "PK\x05\x06") == 0) {
      eocd = at;
      break;
    }
  }
  if (eocd == std::string_view::npos) return out;
  const std::uint32_t count = le16(bytes, eocd + 10);
  const std::uint32_t size = le32(bytes, eocd + 12);
  std::uint64_t start = le32(bytes, eocd + 16);
  if (start == 0xffffffff || size > eocd) return out;  // zip64: not followed
  // Data prepended to the zip (a self-extractor, junk) shifts every offset by as much.
  const std::uint64_t shift = eocd - size >= start ? eocd - size - start : 0;
  std::size_t at = static_cast<std::size_t>(start + shift);
  for (std::uint32_t i = 0; i < count && out.size() < maxEntries; ++i) {
    if (at + 46 > bytes.size() || bytes.compare(at, 4, "PK\x01\x02") != 0) break;
    const std::uint32_t nameLength = le16(bytes, at + 28);
    const std::size_t next = at + 46 + nameLength + le16(bytes, at + 30) + le16(bytes, at + 32);
    if (at + 46 + nameLength > bytes.size()) break;
    ZipName name;
    name.localOffset = le32(bytes, at + 42) + shift;
    name.central = std::string(bytes.substr(at + 46, std::min<std::size_t>(nameLength, kMaxName)));
    const std::uint64_t local = name.localOffset;
    if (local + 30 <= bytes.size() && bytes.compare(local, 4, "PK\x03\x04") == 0) {
      const std::uint32_t localLength = le16(bytes, local + 26);
      if (local + 30 + localLength <= bytes.size()) {
        name.local = std::string(bytes.substr(local + 30, localLength));
      }
    }
    out.push_back(std::move(name));
    at = next;
  }
  std::stable_sort(out.begin(), out.end(), [](const ZipName& a, const ZipName& b) {
    return a.localOffset < b.localOffset;
  });
  return out;
}

std::string gzipStoredName(std::string_view bytes) {
  // RFC 1952 section 2.3: ID1 ID2 CM FLG MTIME(4) XFL OS, [FEXTRA: XLEN(2) data], [FNAME].
  if (bytes.size() < 10 || bytes.compare(0, 3, "\x1f\x8b\x08") != 0) return {};
  const auto flags = static_cast<unsigned char>(bytes[3]);
  if ((flags & 0x08) == 0) return {};
  std::size_t at = 10;
  if ((flags & 0x04) != 0) {
    if (at + 2 > bytes.size()) return {};
    at += 2 + le16(bytes, at);
  }
  if (at >= bytes.size()) return {};
  const std::size_t end = bytes.find('\0', at);
  if (end == std::string_view::npos || end - at > 1024) return {};
  std::string_view name = bytes.substr(at, end - at);
  // The name a tool restores is the file's own, not a path.
  if (auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  return std::string(name);
}

}  // namespace bccsink::sandbox
