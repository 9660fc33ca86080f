// libFuzzer target: any bytes as a message through the MIME walker. Every file it hands
// on is read to the last byte, so that a wrong range shows up under AddressSanitizer.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sandbox/extract/MimeWalker.h"
#include "test/fuzz/Touch.h"

using bccsink::fuzz::Touch;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Touch touch;
  bccsink::sandbox::MimeWalker walker({8, 200});
  walker.walk(std::string_view(reinterpret_cast<const char*>(data), size), {}, touch);
  return 0;
}
