#include "sandbox/extract/QuotedPrintable.h"

namespace bccsink::sandbox {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::size_t decodeQuotedPrintable(std::string_view in, std::string& out, QpInvalid invalid) {
  out.reserve(out.size() + in.size());
  std::size_t invalidCount = 0, pos = 0;
  while (pos < in.size()) {
    auto nl = in.find('\n', pos);
    std::size_t next = nl == std::string_view::npos ? in.size() : nl + 1;
    auto line = in.substr(pos, (nl == std::string_view::npos ? in.size() : nl) - pos);
    std::string_view ending = nl == std::string_view::npos ? "" : "\n";
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
      if (!ending.empty()) ending = "\r\n";
    }
    // Rule (3): white space at the end of an encoded line is deleted; what is left ending
    // in `=` is a soft line break (rule 5), and the line end is not part of the data.
    while (!line.empty() && isBlank(line.back())) line.remove_suffix(1);
    bool soft = !line.empty() && line.back() == '=';
    if (soft) line.remove_suffix(1);
    for (std::size_t i = 0; i < line.size(); ++i) {
      char c = line[i];
      if (c != '=') {
        out += c;
        continue;
      }
      int hi = i + 1 < line.size() ? hexValue(line[i + 1]) : -1;
      int lo = i + 2 < line.size() ? hexValue(line[i + 2]) : -1;
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi << 4 | lo);
        i += 2;
        continue;
      }
      ++invalidCount;
      if (invalid == QpInvalid::Keep) {
        out += c;
      } else if (invalid == QpInvalid::DropJunk) {
        while (i + 1 < line.size() && line[i + 1] != '=') ++i;
      }
    }
    if (!soft) out.append(ending);
    pos = next;
  }
  return invalidCount;
}

std::size_t countQpEscapes(std::string_view in) {
  std::size_t n = 0;
  for (std::size_t i = in.find('='); i != std::string_view::npos && i + 2 < in.size();
       i = in.find('=', i + 1)) {
    if (hexValue(in[i + 1]) >= 0 && hexValue(in[i + 2]) >= 0) ++n;
  }
  return n;
}

}  // namespace bccsink::sandbox
