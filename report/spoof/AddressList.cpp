// Extracts addr-specs from From/To/Cc header values and SMTP paths, with a single pass
// that knows quoted strings, nested comments, angle brackets, groups and domain literals.

#include "report/spoof/AddressList.h"

namespace bccsink::report {

namespace {

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Removes folding whitespace outside quoted strings (RFC 5322 section 4.4 allows CFWS
// around the dots and the '@' of obsolete forms) and an obsolete source route; returns
// the addr-spec, or nothing when there is no unquoted '@'.
bool finish(const std::string& raw, std::string& address) {
  address.clear();
  bool quoted = false;
  bool at = false;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    char c = raw[i];
    if (quoted && c == '\\' && i + 1 < raw.size()) {
      address += c;
      address += raw[++i];
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (!quoted && isSpace(c)) continue;
    if (!quoted && c == '@') at = true;
    address += c;
  }
  // RFC 5322 section 4.4 obs-route: "@relay1,@relay2:user@host".
  if (!address.empty() && address.front() == '@') {
    auto colon = address.find(':');
    if (colon == std::string::npos) return false;
    address.erase(0, colon + 1);
    at = address.find('@') != std::string::npos;
  }
  return at && address.back() != '@';
}

}  // namespace

std::vector<std::string> extractAddresses(std::string_view s) {
  std::vector<std::string> out;
  std::string outside;  // text outside angle brackets, comments removed
  std::string inside;   // text inside the current angle brackets
  bool inAngle = false;
  bool hasAngle = false;
  std::string address;
  auto emit = [&] {
    if (finish(hasAngle ? inside : outside, address)) out.push_back(address);
    outside.clear();
    inside.clear();
    inAngle = hasAngle = false;
  };
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    char c = s[i];
    std::string& buf = inAngle ? inside : outside;
    if (c == '"') {
      // RFC 5322 section 3.2.4: a quoted string may hold ',', '<', '@' and '\"'.
      buf += c;
      for (++i; i < n && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < n) buf += s[i++];
        buf += s[i];
      }
      buf += '"';
      ++i;
    } else if (c == '(') {
      // RFC 5322 section 3.2.2: comments nest; an unclosed one runs to the end.
      std::size_t depth = 0;
      for (; i < n; ++i) {
        if (s[i] == '\\') {
          ++i;
        } else if (s[i] == '(') {
          ++depth;
        } else if (s[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
      }
      buf += ' ';
    } else if (c == '[') {
      // Domain literal: its ':' and ',' are not list syntax.
      for (; i < n && s[i] != ']'; ++i) buf += s[i];
      if (i < n) buf += s[i++];
    } else if (c == '<' && !inAngle) {
      inAngle = hasAngle = true;
      inside.clear();
      ++i;
    } else if (c == '>' && inAngle) {
      inAngle = false;
      ++i;
    } else if (!inAngle && (c == ',' || c == ';')) {
      emit();
      ++i;
    } else if (!inAngle && c == ':') {
      outside.clear();  // "group-name:" starts a group (RFC 5322 section 3.4)
      ++i;
    } else {
      buf += c;
      ++i;
    }
  }
  emit();
  return out;
}

std::string domainOf(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  std::string domain;
  for (char c : address.substr(at + 1)) {
    if (isSpace(c)) continue;
    domain += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  return domain;
}

}  // namespace bccsink::report
