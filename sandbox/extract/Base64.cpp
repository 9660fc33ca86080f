#include "sandbox/extract/Base64.h"

#include <algorithm>
#include <array>
#include <cstdint>

namespace bccsink::sandbox {
namespace {

// Table values: 0..63 an alphabet character, then the classes below. Every class has bit 6
// or 7 set, so one OR over four values tells whether all four are alphabet characters.
constexpr std::uint8_t kPad = 0x40;
constexpr std::uint8_t kSpace = 0x41;  // white space (VT and FF too) and NUL: ignored silently
constexpr std::uint8_t kJunk = 0x80;   // anything else: ignored, counted

constexpr std::array<std::uint8_t, 256> makeTable() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) v = kJunk;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::uint8_t i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = i;
  t['='] = kPad;
  for (unsigned char c : {' ', '\t', '\r', '\n', '\v', '\f', '\0'}) t[c] = kSpace;
  return t;
}
constexpr auto kTable = makeTable();

struct Decoder {
  Base64Mode mode;
  Base64Stats stats;
  std::uint32_t acc = 0;
  int pending = 0;
  bool afterPad = false;  // an `=` ended a quantum; alphabet data after it counts a padStop

  // Flushes a partial quantum: 2 characters give 1 byte, 3 give 2, 1 gives nothing.
  char* flush(char* o) {
    if (pending == 2) {
      *o++ = static_cast<char>(acc >> 4);
    } else if (pending == 3) {
      *o++ = static_cast<char>(acc >> 10);
      *o++ = static_cast<char>(acc >> 2);
    } else if (pending == 1) {
      ++stats.lostChars;
    }
    acc = 0;
    pending = 0;
    return o;
  }

  // Decodes `in`, writing at `o` (room for in.size() / 4 * 3 + 3 bytes); returns the end.
  // With `stopAtSegment`, stops after the `=` that ends the first segment and sets `used`.
  char* run(std::string_view in, char* o, bool stopAtSegment, std::size_t* used) {
    const auto* p = reinterpret_cast<const unsigned char*>(in.data());
    const std::size_t n = in.size();
    std::size_t i = 0;
    while (i < n) {
      if (pending == 0 && !afterPad) {
        while (i + 4 <= n) {
          std::uint32_t a = kTable[p[i]], b = kTable[p[i + 1]], c = kTable[p[i + 2]],
                        d = kTable[p[i + 3]];
          if ((a | b | c | d) & 0xC0) break;
          std::uint32_t v = a << 18 | b << 12 | c << 6 | d;
          o[0] = static_cast<char>(v >> 16);
          o[1] = static_cast<char>(v >> 8);
          o[2] = static_cast<char>(v);
          o += 3;
          i += 4;
        }
        if (i >= n) break;
      }
      std::uint8_t t = kTable[p[i++]];
      if (t < 64) {
        if (afterPad) {
          afterPad = false;
          ++stats.padStops;
          if (stopAtSegment) {
            *used = i - 1;
            return o;
          }
        }
        acc = acc << 6 | t;
        if (++pending == 4) {
          o[0] = static_cast<char>(acc >> 16);
          o[1] = static_cast<char>(acc >> 8);
          o[2] = static_cast<char>(acc);
          o += 3;
          acc = 0;
          pending = 0;
        }
      } else if (t == kPad) {
        if (mode == Base64Mode::Skip) {
          if (pending != 0) ++stats.midPads;
          continue;
        }
        if (pending != 0) ++stats.midPads;
        o = flush(o);
        afterPad = true;
      } else if (t == kJunk) {
        ++stats.junk;
      }
    }
    if (used) *used = n;
    return o;
  }
};

char* reserve(std::string& out, std::size_t inSize, std::size_t& start) {
  start = out.size();
  out.resize(start + inSize / 4 * 3 + 3);
  return out.data() + start;
}

}  // namespace

bool isBase64Char(unsigned char c) {
  return kTable[c] < 64;
}

Base64Stats decodeBase64(std::string_view in, std::string& out, Base64Mode mode) {
  Decoder d{mode, {}};
  std::size_t start = 0;
  char* begin = reserve(out, in.size(), start);
  char* end = d.run(in, begin, false, nullptr);
  end = d.flush(end);
  out.resize(start + static_cast<std::size_t>(end - begin));
  // In Skip mode an `=` ends nothing; a trailing pad is only a mid-quantum one in Resync.
  if (mode == Base64Mode::Skip) d.stats.padStops = 0;
  return d.stats;
}

void decodeBase64(std::string_view in, std::string& out) {
  decodeBase64(in, out, Base64Mode::Resync);
}

std::size_t decodeBase64FirstSegment(std::string_view in, std::string& out) {
  Decoder d{Base64Mode::Resync, {}};
  std::size_t start = 0, used = in.size();
  char* begin = reserve(out, in.size(), start);
  char* end = d.run(in, begin, true, &used);
  end = d.flush(end);
  out.resize(start + static_cast<std::size_t>(end - begin));
  return used;
}

std::size_t decodeBase64CleanLines(std::string_view in, std::string& out) {
  std::string kept;
  kept.reserve(in.size());
  std::size_t dropped = 0, pos = 0;
  while (pos < in.size()) {
    auto nl = in.find('\n', pos);
    std::size_t end = nl == std::string_view::npos ? in.size() : nl + 1;
    auto line = in.substr(pos, end - pos);
    bool clean = true;
    for (unsigned char c : line) {
      if (kTable[c] == kJunk) {
        clean = false;
        break;
      }
    }
    if (clean) {
      kept.append(line);
    } else {
      ++dropped;
    }
    pos = end;
  }
  decodeBase64(kept, out);
  return dropped;
}

std::size_t decodeBase64LinePrefixes(std::string_view in, std::string& out) {
  std::string kept;
  kept.reserve(in.size());
  std::size_t cut = 0;
  for (std::size_t i = 0; i < in.size();) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (kTable[c] != kJunk) {
      kept += static_cast<char>(c);
      ++i;
      continue;
    }
    ++cut;
    auto nl = in.find('\n', i);
    i = nl == std::string_view::npos ? in.size() : nl;
  }
  decodeBase64(kept, out);
  return cut;
}

namespace {

// Lines shorter than this (alphabet characters) are not what an encoder writes.
constexpr std::size_t kShortLine = 16;

// Calls line(text) for each line of `in` that holds alphabet characters, with its count.
template <typename Line>
void forEachDataLine(std::string_view in, Line line) {
  for (std::size_t pos = 0; pos < in.size();) {
    auto nl = in.find('\n', pos);
    std::size_t next = nl == std::string_view::npos ? in.size() : nl + 1;
    auto text = in.substr(pos, next - pos);
    std::size_t n = 0;
    for (char c : text) n += isBase64Char(static_cast<unsigned char>(c)) ? 1 : 0;
    if (n > 0) line(text, n);
    pos = next;
  }
}

}  // namespace

std::size_t base64RaggedLines(std::string_view in) {
  // Only short lines count: an encoder may wrap at any width up to 76 (RFC 2045 6.8), 74
  // included, and such a body reads right as one run; a junk character per quantum-sized
  // line ("QUJDX") makes lines of 5 to 7.
  std::size_t ragged = 0, lastRagged = 0;
  forEachDataLine(in, [&](std::string_view, std::size_t n) {
    lastRagged = n % 4 != 0 && n < kShortLine ? 1 : 0;
    ragged += lastRagged;
  });
  return ragged - lastRagged;  // the last data line may end with a partial quantum
}

std::size_t decodeBase64LineQuanta(std::string_view in, std::string& out) {
  std::string kept;
  kept.reserve(in.size());
  std::size_t cut = 0;
  forEachDataLine(in, [&](std::string_view text, std::size_t n) {
    std::size_t keep = n - n % 4, taken = 0;
    cut += n % 4 != 0 ? 1 : 0;
    for (char c : text) {
      if (taken == keep) break;
      if (isBase64Char(static_cast<unsigned char>(c))) {
        kept += c;
        ++taken;
      }
    }
  });
  decodeBase64(kept, out);
  return cut;
}

std::size_t decodeBase64Blocks(std::string_view in, std::string& out) {
  std::size_t blocks = 0, pos = 0, blockStart = 0;
  bool blockHasData = false;
  auto endBlock = [&](std::size_t end) {
    if (blockHasData) {
      decodeBase64(in.substr(blockStart, end - blockStart), out);
      ++blocks;
    }
    blockHasData = false;
  };
  while (pos < in.size()) {
    auto nl = in.find('\n', pos);
    std::size_t next = nl == std::string_view::npos ? in.size() : nl + 1;
    auto line = in.substr(pos, next - pos);
    bool blank = std::all_of(line.begin(), line.end(), [](char c) {
      return kTable[static_cast<unsigned char>(c)] == kSpace;
    });
    if (blank) {
      endBlock(pos);
      blockStart = next;
    } else {
      blockHasData = true;
    }
    pos = next;
  }
  endBlock(in.size());
  return blocks;
}

}  // namespace bccsink::sandbox
