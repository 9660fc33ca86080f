#include "base/Text.h"

#include <algorithm>
#include <cstdio>

namespace bccsink {
namespace {

constexpr std::string_view kSpace = " \t\r\n\v\f";
constexpr std::string_view kEllipsis = "...";
constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

char lowerChar(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

char upperChar(char c) {
  return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
}

bool isControl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

}  // namespace

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = lowerChar(c);
  return out;
}

std::string upper(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = upperChar(c);
  return out;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (lowerChar(a[i]) != lowerChar(b[i])) return false;
  }
  return true;
}

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && equalsNoCase(text.substr(0, prefix.size()), prefix);
}

std::string_view trim(std::string_view text) {
  auto begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  return text.substr(begin, text.find_last_not_of(kSpace) - begin + 1);
}

std::string join(const std::vector<std::string>& items, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += sep;
    out += items[i];
  }
  return out;
}

bool hasControl(std::string_view text) {
  for (char c : text) {
    if (isControl(static_cast<unsigned char>(c))) return true;
  }
  return false;
}

std::size_t utf8SequenceLength(std::string_view text, std::size_t i) {
  auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xC2 && c <= 0xDF   ? 2
                  : c >= 0xE0 && c <= 0xEF ? 3
                  : c >= 0xF0 && c <= 0xF4 ? 4
                                           : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return 0;
  }
  auto second = static_cast<unsigned char>(text[i + 1]);
  if (c == 0xE0 && second < 0xA0) return 0;   // overlong
  if (c == 0xED && second >= 0xA0) return 0;  // a surrogate, U+D800..U+DFFF
  if (c == 0xF0 && second < 0x90) return 0;   // overlong
  if (c == 0xF4 && second >= 0x90) return 0;  // past U+10FFFF
  return n;
}

bool isValidUtf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    auto n = utf8SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string toValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    auto n = utf8SequenceLength(text, i);
    if (n == 0) {
      out += kReplacementCharacter;
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string_view utf8Prefix(std::string_view text, std::size_t maxBytes) {
  if (text.size() <= maxBytes) return text;
  std::size_t end = 0;
  while (end < text.size()) {
    auto n = utf8SequenceLength(text, end);
    if (n == 0) n = 1;
    if (end + n > maxBytes) break;
    end += n;
  }
  return text.substr(0, end);
}

std::string printableAscii(std::string_view text, std::size_t maxBytes, char replacement) {
  bool cut = text.size() > maxBytes;
  if (cut)
    text = text.substr(0, maxBytes >= kEllipsis.size() ? maxBytes - kEllipsis.size() : maxBytes);
  std::string out(text);
  for (auto& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) c = replacement;
  }
  if (cut && maxBytes >= kEllipsis.size()) out += kEllipsis;
  return out;
}

std::string oneLineUtf8(std::string_view text, std::size_t maxBytes) {
  std::string out;
  out.reserve(std::min(text.size(), maxBytes) + 4);
  // Cleaned up to one character past the limit: enough to know whether a cut is needed.
  for (std::size_t i = 0; i < text.size() && out.size() <= maxBytes;) {
    auto n = utf8SequenceLength(text, i);
    auto c = static_cast<unsigned char>(text[i]);
    if (n == 0) {
      out += kReplacementCharacter;
      i += 1;
    } else if (isControl(c) || (c == 0xC2 && static_cast<unsigned char>(text[i + 1]) < 0xA0)) {
      out += ' ';  // C0, DEL, or C1 (U+0080..U+009F is C2 80..C2 9F)
      i += n;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  if (out.size() <= maxBytes) return out;
  if (maxBytes < kEllipsis.size()) return std::string(utf8Prefix(out, maxBytes));
  std::string cut(utf8Prefix(out, maxBytes - kEllipsis.size()));
  return cut += kEllipsis;
}

std::string asciiEscaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace bccsink
