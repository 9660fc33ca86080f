// See UdfImage.h.
#include "sandbox/extract/containers/UdfImage.h"

#include <cstddef>

namespace bccsink::sandbox {

bool isUdfOnlyImage(std::string_view bytes) {
  constexpr std::size_t kStart = 32768;
  constexpr std::size_t kSector = 2048;
  constexpr std::size_t kMaxDescriptors = 64;  // the sequence is a handful long
  bool nsr = false;
  for (std::size_t k = 0; k < kMaxDescriptors; ++k) {
    std::size_t at = kStart + k * kSector;
    if (bytes.size() < at + 6) break;
    std::string_view id = bytes.substr(at + 1, 5);
    if (id == "CD001") return false;
    if (id == "NSR02" || id == "NSR03")
      nsr = true;
    else if (id == "TEA01")
      break;
    else if (id != "BEA01" && id != "BOOT2" && id != "CDW02")
      break;
  }
  return nsr;
}

}  // namespace bccsink::sandbox
