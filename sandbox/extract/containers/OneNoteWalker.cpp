// See OneNoteWalker.h.
#include "sandbox/extract/containers/OneNoteWalker.h"

#include <cstdint>
#include <string>

#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/containers/ContainerOutput.h"

namespace bccsink::sandbox {
namespace {

// GUIDs as stored: the first three fields little-endian.
constexpr std::string_view kSectionGuid(
    "\xE4\x52\x5C\x7B\x8C\xD8\xA7\x4D\xAE\xB1\x53\x78\xD0\x29\x96\xD3", 16);
// {BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC}: FileDataStoreObject header.
constexpr std::string_view kBlobHeader(
    "\xE7\x16\xE3\xBD\x65\x26\x11\x45\xA4\xC4\x8D\x4D\x0B\x7A\x9E\xAC", 16);

std::uint64_t le64(std::string_view s, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

}  // namespace

bool isOneNote(std::string_view bytes) {
  return bytes.substr(0, 16) == kSectionGuid;
}

std::size_t walkOneNote(std::string_view bytes, const FoundFile& container,
                        const ContainerLimits& limits, FileVisitor& visitor) {
  ContainerOutput out(container, limits, visitor);
  std::size_t found = 0;
  std::size_t from = 0;
  constexpr std::size_t kFixed = 16 + 8 + 4 + 8;  // header GUID, cbLength, unused, reserved
  while (out.more()) {
    std::size_t at = bytes.find(kBlobHeader, from);
    if (at == std::string_view::npos || bytes.size() - at < kFixed) break;
    const std::uint64_t length = le64(bytes, at + 16);
    const std::size_t data = at + kFixed;
    const std::string name = "onenote-embedded-" + std::to_string(++found) + ".bin";
    if (length > bytes.size() - data) {
      out.unscanned(
          name, length,
          evasion("OneNote embedded file declares " + std::to_string(length) +
                  " bytes, the section ends after " + std::to_string(bytes.size() - data)));
      from = at + 16;
      continue;
    }
    out.file(name, bytes.substr(data, static_cast<std::size_t>(length)));
    from = data + static_cast<std::size_t>(length);
  }
  return out.count();
}

}  // namespace bccsink::sandbox
