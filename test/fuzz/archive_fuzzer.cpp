// libFuzzer target: any bytes as an archive through the archive walker (one level, as
// the Extractor calls it), every member read to the last byte.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sandbox/extract/ArchiveWalker.h"
#include "test/fuzz/Touch.h"

using bccsink::fuzz::Touch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bccsink::sandbox::ArchiveLimits limits;
  limits.maxMembers = 100;
  limits.maxMemberSize = 1 << 20;
  limits.maxTotalBytes = 4 << 20;
  limits.maxRatio = 100;
  bccsink::sandbox::ArchiveWalker walker(limits);
  bccsink::sandbox::FoundFile archive;
  archive.name = "fuzz.bin";
  Touch touch;
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (walker.isArchive(bytes)) walker.walk(bytes, archive, touch);
  return 0;
}
