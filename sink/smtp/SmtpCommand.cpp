#include "sink/smtp/SmtpCommand.h"

#include <cctype>

#include "base/Text.h"

namespace bccsink::smtp {
namespace {

// RFC 5321 section 4.5.3.1.3: a path is at most 256 octets including the brackets.
constexpr std::size_t kMaxPath = 256;

bool isHex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

}  // namespace

std::pair<std::string, std::string_view> splitVerb(std::string_view line) {
  auto sp = line.find(' ');
  std::string verb = upper(line.substr(0, sp));
  std::string_view rest;
  if (sp != std::string_view::npos) {
    rest = line.substr(sp + 1);
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  }
  while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\t')) rest.remove_suffix(1);
  return {verb, rest};
}

bool isXtext(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '+') {
      if (i + 2 >= s.size() || !isHex(s[i + 1]) || !isHex(s[i + 2])) return false;
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return false;
    }
  }
  return true;
}

bool isUtf8AddrText(std::string_view s) {
  if (s.empty() || !isValidUtf8(s)) return false;
  for (unsigned char c : s) {
    if (c < 33 || c == 127 || c == '=') return false;
  }
  return true;
}

std::optional<PathArgs> parsePath(std::string_view text, bool allowEmpty, std::string& error) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  PathArgs out;
  std::size_t i = 0;
  std::string path;
  if (!text.empty() && text.front() == '<') {
    // Scan to the closing '>' honouring quoted strings and backslash escapes, so that
    // "<\"a>b\"@x>" is one address.
    bool quoted = false;
    for (i = 1; i < text.size(); ++i) {
      char c = text[i];
      if (c == '\\' && i + 1 < text.size()) {
        path += c;
        path += text[++i];
        continue;
      }
      if (c == '"') quoted = !quoted;
      if (c == '>' && !quoted) break;
      path += c;
    }
    if (i >= text.size()) {
      error = "missing '>'";
      return std::nullopt;
    }
    ++i;
  } else {
    // Lenient, as Postfix is: an address without brackets, up to the first space.
    auto sp = text.find(' ');
    path = std::string(text.substr(0, sp));
    i = sp == std::string_view::npos ? text.size() : sp;
  }
  if (path.size() + 2 > kMaxPath) {
    error = "path too long";
    return std::nullopt;
  }
  // A source route (@a,@b:user@example.com) is to be ignored (RFC 5321 section 4.1.2).
  if (!path.empty() && path.front() == '@') {
    auto colon = path.find(':');
    if (colon == std::string::npos) {
      error = "bad source route";
      return std::nullopt;
    }
    path.erase(0, colon + 1);
  }
  if (hasControl(path)) {
    error = "control character in address";
    return std::nullopt;
  }
  if (path.empty()) {
    if (!allowEmpty) {
      error = "empty address";
      return std::nullopt;
    }
  } else {
    auto at = path.rfind('@');
    if (at == std::string::npos || at == 0 || at + 1 == path.size()) {
      // RFC 5321 section 4.5.1: RCPT TO:<Postmaster> has no domain and is valid.
      bool postmaster = !allowEmpty && lower(path) == "postmaster";
      if (!postmaster) {
        error = "address must be local-part@domain";
        return std::nullopt;
      }
    }
  }
  out.address = path;
  // ESMTP parameters: keyword[=value], separated by spaces (RFC 5321 section 4.1.2).
  std::string_view rest = text.substr(i);
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    auto sp = rest.find(' ');
    auto token = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    auto eq = token.find('=');
    std::string key = upper(token.substr(0, eq));
    if (key.empty()) {
      error = "bad parameter";
      return std::nullopt;
    }
    for (char c : key) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') {
        error = "bad parameter name";
        return std::nullopt;
      }
    }
    if (out.params.count(key)) {
      error = "duplicate parameter " + key;
      return std::nullopt;
    }
    out.params[key] = eq == std::string_view::npos ? "" : std::string(token.substr(eq + 1));
  }
  return out;
}

}  // namespace bccsink::smtp
