// libFuzzer target: any bytes through decodeTransfer. The first line is the
// Content-Transfer-Encoding value, the rest the body. Checks the bounds the MIME walker
// relies on: at least one reading, at most kMaxReadings, none larger than the body (gzip64:
// than its output limit), and reads every byte under AddressSanitizer.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sandbox/extract/TransferDecoding.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto nl = input.find('\n');
  std::string_view header = nl == std::string_view::npos ? input : input.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  constexpr std::size_t kMaxOutput = 1 << 20;
  auto d = bccsink::sandbox::decodeTransfer(body, header, kMaxOutput);
  if (d.readings.empty() || d.readings.size() > bccsink::sandbox::kMaxReadings) __builtin_trap();
  unsigned sum = 0;
  for (const auto& r : d.readings) {
    if (r.bytes.size() > std::max(body.size(), kMaxOutput)) __builtin_trap();
    for (char c : r.bytes) sum += static_cast<unsigned char>(c);
    for (char c : r.label) sum += static_cast<unsigned char>(c);
  }
  for (const auto& e : d.errors)
    for (char c : e) sum += static_cast<unsigned char>(c);
  bccsink::sandbox::normalizeTransferEncoding(header);
  return static_cast<int>(sum & 0);
}
