#include "base/FileName.h"

#include "base/MimeText.h"
#include "base/Text.h"

namespace bccsink {
namespace {

constexpr std::size_t kMaxFileName = 255;

}  // namespace

std::string cleanFileName(std::string_view name) {
  const std::string utf8 = utf8OrLatin1(name);
  std::string out(trim(utf8));
  for (auto& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '_';
  }
  return std::string(utf8Prefix(out, kMaxFileName));
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
