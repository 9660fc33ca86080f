#include "report/stats/StatsShape.h"

#include <Poco/DigestEngine.h>
#include <Poco/MD5Engine.h>

#include <algorithm>

#include "base/Text.h"

namespace bccsink::report {

std::string shapeOf(std::string_view text) {
  // A shape says what a name looks like, not all of it: long names are cut (the MD5 still
  // tells them apart), and control bytes never leave the process.
  constexpr std::size_t kMaxShape = 128;
  std::string out;
  out.reserve(std::min(text.size(), kMaxShape + 3));
  for (std::size_t i = 0; i < text.size();) {
    if (out.size() >= kMaxShape) {
      out += "...";
      break;
    }
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else if (c >= 'a' && c <= 'z') {
      out += 'a';
    } else if (c >= 'A' && c <= 'Z') {
      out += 'A';
    } else if (c >= '0' && c <= '9') {
      out += '0';
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      // One 'x' per character; an invalid byte counts as one character.
      auto n = utf8SequenceLength(text, i);
      out += 'x';
      i += n == 0 ? 1 : n;
      continue;
    }
    ++i;
  }
  return out;
}

std::string shapeName(std::string_view name) {
  auto dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return shapeOf(name);
  auto ext = name.substr(dot + 1);
  bool plain = !ext.empty() && ext.size() <= 8;
  for (char c : ext) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  }
  if (!plain) return shapeOf(name);
  return shapeOf(name.substr(0, dot)) + std::string(name.substr(dot));
}

std::string nameDigest(std::string_view name) {
  Poco::MD5Engine md5;
  md5.update(name.data(), static_cast<unsigned>(name.size()));
  return Poco::DigestEngine::digestToHex(md5.digest());
}

std::string extensionKey(std::string_view extension) {
  if (extension.empty()) return "(none)";
  bool plain = extension.size() <= 8;
  for (char c : extension) {
    plain = plain && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  }
  return plain ? std::string(extension) : shapeOf(extension);
}

}  // namespace bccsink::report
