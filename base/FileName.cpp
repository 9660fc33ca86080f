#include "base/FileName.h"

#include "base/MimeText.h"
#include "base/Text.h"

namespace bccsink {
namespace {

constexpr std::size_t kMaxFileName = 255;
// A name too long is cut in the middle: its end, where the extension that decides what
// opens it is, stays ("invoice.pdf<5,000 spaces>.exe" keeps its ".exe").
constexpr std::size_t kKeptEnd = 40;
constexpr std::string_view kCutMark = "\u2026";  // "…"

}  // namespace

std::string cleanFileName(std::string_view name) {
  const std::string utf8 = utf8OrLatin1(name);
  std::string out(trim(utf8));
  for (auto& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '_';
  }
  if (out.size() <= kMaxFileName) return out;
  std::size_t tail = out.size() - kKeptEnd;
  while (tail < out.size() && (static_cast<unsigned char>(out[tail]) & 0xC0) == 0x80) ++tail;
  const std::string_view end = std::string_view(out).substr(tail);
  std::string cut(utf8Prefix(out, kMaxFileName - kCutMark.size() - end.size()));
  return cut.append(kCutMark).append(end);
}

std::string extensionOf(std::string_view name) {
  if (auto sep = name.find_last_of("/\\"); sep != std::string_view::npos) {
    name.remove_prefix(sep + 1);
  }
  while (!name.empty() && (name.back() == '.' || name.back() == ' ')) name.remove_suffix(1);
  auto dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return "";
  return lower(name.substr(dot + 1));
}

}  // namespace bccsink
