#include "sandbox/extract/Uuencode.h"

#include <cctype>

namespace bccsink::sandbox {
namespace {

std::string_view nextLine(std::string_view text, std::size_t& pos) {
  auto nl = text.find('\n', pos);
  std::size_t end = nl == std::string_view::npos ? text.size() : nl;
  auto line = text.substr(pos, end - pos);
  pos = nl == std::string_view::npos ? text.size() : nl + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// "begin 644 name": mode of 3 or 4 octal digits, then the name.
bool beginLine(std::string_view line, std::string& name) {
  if (line.substr(0, 6) != "begin ") return false;
  std::size_t i = 6, digits = 0;
  while (i < line.size() && line[i] >= '0' && line[i] <= '7') ++i, ++digits;
  if (digits < 3 || digits > 4 || i >= line.size() || line[i] != ' ') return false;
  name = std::string(line.substr(i + 1));
  return !name.empty();
}

unsigned char sextet(char c) {
  return static_cast<unsigned char>((c - ' ') & 0x3F);
}

// Each 4 characters after the length carry 3 bytes. A line too short for its length
// (trailing pad characters dropped by a mailer aside) is not uuencode: false.
bool decodeLine(std::string_view line, std::size_t n, std::string& out) {
  std::size_t needed = (n + 2) / 3 * 4;
  if (line.size() - 1 + 2 < needed) return false;
  std::size_t have = 0;
  for (std::size_t i = 1; have < n; i += 4) {
    unsigned char c[4];
    for (int k = 0; k < 4; ++k) c[k] = i + k < line.size() ? sextet(line[i + k]) : 0;
    unsigned char b[3] = {static_cast<unsigned char>(c[0] << 2 | c[1] >> 4),
                          static_cast<unsigned char>(c[1] << 4 | c[2] >> 2),
                          static_cast<unsigned char>(c[2] << 6 | c[3])};
    for (int k = 0; k < 3 && have < n; ++k, ++have) out += static_cast<char>(b[k]);
  }
  return true;
}

}  // namespace

std::size_t decodeUuLines(std::string_view text, std::string& out) {
  std::size_t pos = 0, skipped = 0;
  std::string name;
  while (pos < text.size()) {
    auto line = nextLine(text, pos);
    if (line.empty() || line == "end" || beginLine(line, name)) continue;
    std::size_t n = sextet(line[0]);
    if (n == 0) continue;  // the zero-length line before "end"
    // A line that cannot be uuencode (too short for its length, or longer than the 45
    // bytes a line carries plus what a mailer may append) is skipped, not fatal.
    if (line.size() > 2 + (n + 2) / 3 * 4 + 8 || !decodeLine(line, n, out)) ++skipped;
  }
  return skipped;
}

std::size_t findUuencoded(std::string_view text, const std::function<void(const UuFile&)>& onFile) {
  std::size_t pos = 0, found = 0;
  UuFile file;
  while (pos < text.size()) {
    if (!beginLine(nextLine(text, pos), file.name)) continue;
    file.data.clear();
    file.complete = false;
    while (pos < text.size()) {
      auto line = nextLine(text, pos);
      if (line == "end") {
        file.complete = true;
        break;
      }
      if (line.empty()) continue;
      std::size_t n = sextet(line[0]);
      if (n == 0) {
        // The zero-length line ("`") ends the data; "end" should follow it.
        file.complete = pos < text.size() && nextLine(text, pos) == "end";
        break;
      }
      if (!decodeLine(line, n, file.data)) break;
    }
    ++found;
    onFile(file);
  }
  return found;
}

}  // namespace bccsink::sandbox
