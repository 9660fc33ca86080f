#include "sandbox/extract/BinHex.h"

#include <array>
#include <cstdint>

namespace bccsink::sandbox {
namespace {

constexpr std::string_view kAlphabet =
    "!\"#$%&'()*+,-012345689@ABCDEFGHIJKLMNPQRSTUVXYZ[`abcdefhijklmpqr";
constexpr std::string_view kBanner = "(This file must be converted with BinHex";

constexpr std::array<std::int8_t, 256> makeTable() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (std::size_t i = 0; i < kAlphabet.size(); ++i)
    t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  return t;
}
constexpr auto kTable = makeTable();

// Where the encoded data starts: after the `:` that follows the banner, else after a `:`
// at the start of a line.
std::size_t dataStart(std::string_view text) {
  auto banner = text.find(kBanner);
  if (banner != std::string_view::npos) {
    auto colon = text.find(':', banner + kBanner.size());
    return colon == std::string_view::npos ? std::string_view::npos : colon + 1;
  }
  for (auto colon = text.find(':'); colon != std::string_view::npos;
       colon = text.find(':', colon + 1)) {
    if (colon == 0 || text[colon - 1] == '\n') return colon + 1;
  }
  return std::string_view::npos;
}

std::uint32_t bigEndian(std::string_view bytes, std::size_t at, int n) {
  std::uint32_t v = 0;
  for (int i = 0; i < n; ++i) v = v << 8 | static_cast<unsigned char>(bytes[at + i]);
  return v;
}

}  // namespace

bool decodeBinHex(std::string_view text, BinHexFile& file, std::size_t maxOutput) {
  file = {};
  std::size_t start = dataStart(text);
  if (start == std::string_view::npos) return false;
  // The fork lengths are known only after the header: decode the stream first, within a
  // bound: the header (at most 255 + 22 bytes), then one fork of at most maxOutput (the
  // data fork, or the resource fork after an empty data fork and its CRC).
  const std::size_t limit = maxOutput + 300;
  std::string stream;
  std::uint32_t acc = 0;
  int bits = 0;
  bool repeatNext = false;
  unsigned char last = 0;
  for (std::size_t i = start; i < text.size() && stream.size() < limit; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == ':') break;
    std::int8_t v = kTable[c];
    if (v < 0) continue;  // line ends and anything else outside the alphabet
    acc = acc << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits < 8) continue;
    bits -= 8;
    auto byte = static_cast<unsigned char>(acc >> bits);
    acc &= (1u << bits) - 1;
    // Run-length layer: 0x90 n repeats the previous byte n - 1 more times; 0x90 0 is 0x90.
    if (repeatNext) {
      repeatNext = false;
      if (byte == 0) {
        stream += static_cast<char>(0x90);
        last = 0x90;
      } else {
        std::size_t n = std::min<std::size_t>(byte - 1u, limit - stream.size());
        stream.append(n, static_cast<char>(last));
      }
    } else if (byte == 0x90) {
      repeatNext = true;
    } else {
      stream += static_cast<char>(byte);
      last = byte;
    }
  }
  if (stream.empty()) return false;
  std::size_t nameLength = static_cast<unsigned char>(stream[0]);
  std::size_t header = 1 + nameLength + 1 + 4 + 4 + 2 + 4 + 4 + 2;
  file.name = stream.substr(1, nameLength);
  if (stream.size() < header) return true;
  std::uint32_t dataLength = bigEndian(stream, header - 10, 4);
  std::uint32_t resourceLength = bigEndian(stream, header - 6, 4);
  std::string_view rest = std::string_view(stream).substr(header);
  std::string_view fork = rest.substr(0, dataLength);
  file.complete = rest.size() >= std::size_t{dataLength} + 2 + resourceLength + 2;
  if (fork.empty() && rest.size() > std::size_t{dataLength} + 2)
    fork = rest.substr(dataLength + 2, resourceLength);
  file.truncated = fork.size() > maxOutput;
  file.data = std::string(fork.substr(0, maxOutput));
  return true;
}

}  // namespace bccsink::sandbox
