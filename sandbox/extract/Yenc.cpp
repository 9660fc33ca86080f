#include "sandbox/extract/Yenc.h"

namespace bccsink::sandbox {
namespace {

// The start of the line that begins with `prefix` at or after `from`, or npos.
std::size_t findLineStarting(std::string_view text, std::string_view prefix, std::size_t from) {
  for (std::size_t i = text.find(prefix, from); i != std::string_view::npos;
       i = text.find(prefix, i + 1)) {
    if (i == 0 || text[i - 1] == '\n') return i;
  }
  return std::string_view::npos;
}

std::size_t lineEnd(std::string_view text, std::size_t from) {
  auto nl = text.find('\n', from);
  return nl == std::string_view::npos ? text.size() : nl + 1;
}

}  // namespace

void decodeYencData(std::string_view in, std::string& out) {
  out.reserve(out.size() + in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '\r' || c == '\n') continue;
    if (c == '=') {
      if (++i >= in.size()) break;
      c = static_cast<unsigned char>(static_cast<unsigned char>(in[i]) - 64);
    }
    out += static_cast<char>(static_cast<unsigned char>(c - 42));
  }
}

std::vector<std::string> findYencBlocks(std::string_view text, std::size_t maxBlocks) {
  std::vector<std::string> blocks;
  std::size_t pos = 0;
  while (blocks.size() < maxBlocks) {
    auto begin = findLineStarting(text, "=ybegin ", pos);
    if (begin == std::string_view::npos) break;
    std::size_t data = lineEnd(text, begin);
    if (text.substr(data, 7) == "=ypart ") data = lineEnd(text, data);
    auto end = findLineStarting(text, "=yend", data);
    std::size_t stop = end == std::string_view::npos ? text.size() : end;
    blocks.emplace_back();
    decodeYencData(text.substr(data, stop - data), blocks.back());
    pos = end == std::string_view::npos ? text.size() : lineEnd(text, end);
  }
  return blocks;
}

}  // namespace bccsink::sandbox
