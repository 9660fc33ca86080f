// Decoding of watch+LOCAL=DOMAIN@ recipients and the subaddress comparison, on the
// grammar of RFC 5321 section 4.1.2 (Local-part, Dot-string, Quoted-string) with UTF-8 as
// RFC 6531 section 3.3 allows it.

#include "base/OriginalRecipient.h"

#include "base/Text.h"

namespace bccsink {
namespace {

// atext (RFC 5322 section 3.2.3) or a byte of a UTF-8 sequence (RFC 6531 section 3.3).
bool isAtext(unsigned char c) {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
         std::string_view::npos;
}

// Dot-string: atoms of atext joined by single dots.
bool isDotString(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char previous = 0;
  for (char c : s) {
    if (c == '.' ? previous == '.' : !isAtext(static_cast<unsigned char>(c))) return false;
    previous = c;
  }
  return isValidUtf8(s);
}

// A label of a domain as people write it: letters, digits, '-' (not first or last), or
// UTF-8 (an internationalized name under SMTPUTF8).
bool isLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
    return false;
  for (unsigned char c : label) {
    if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

// A lower-cased domain: labels, or an address literal ([192.0.2.1], [ipv6:2001:db8::1]).
bool isPlausibleDomain(std::string_view d) {
  if (d.empty() || d.size() > kMaxDomain || !isValidUtf8(d)) return false;
  if (d.front() == '[') {
    if (d.size() < 3 || d.back() != ']') return false;
    for (unsigned char c : d.substr(1, d.size() - 2)) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == ':' || c == '-'))
        return false;
    }
    return true;
  }
  for (std::size_t start = 0;;) {
    auto dot = d.find('.', start);
    if (!isLabel(d.substr(start, dot == std::string_view::npos ? dot : dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// LOCAL as it is written in an address: a dot-string, else a quoted string.
std::optional<std::string> writtenLocalPart(std::string_view text) {
  if (text.empty() || text.size() > kMaxLocalPart || !isValidUtf8(text) || hasControl(text))
    return std::nullopt;
  if (isDotString(text)) return std::string(text);
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + '"';
}

}  // namespace

std::optional<std::string> localPartText(std::string_view local) {
  if (local.empty() || !isValidUtf8(local) || hasControl(local)) return std::nullopt;
  if (local.front() != '"') {
    if (!isDotString(local)) return std::nullopt;
    return std::string(local);
  }
  // Quoted-string: DQUOTE *QcontentSMTP DQUOTE, quoted-pairSMTP = '\' %d32-126.
  if (local.size() < 2 || local.back() != '"') return std::nullopt;
  std::string text;
  for (std::size_t i = 1; i + 1 < local.size(); ++i) {
    char c = local[i];
    if (c == '"') return std::nullopt;  // a quote inside, unescaped: not one quoted string
    if (c == '\\') {
      if (i + 2 >= local.size()) return std::nullopt;  // escapes the closing quote
      c = local[++i];
    }
    text += c;
  }
  return text;
}

std::string decodeOriginalRecipient(std::string_view address) {
  if (address.size() > kMaxAddress) return "";
  auto at = address.rfind('@');
  if (at == std::string_view::npos) return "";
  auto text = localPartText(address.substr(0, at));
  if (!text) return "";
  auto plus = text->find('+');
  if (plus == 0 || plus == std::string::npos) return "";  // no PREFIX, or not encoded
  auto rest = std::string_view(*text).substr(plus + 1);
  auto eq = rest.rfind('=');
  if (eq == 0 || eq == std::string_view::npos || eq + 1 == rest.size()) return "";
  auto local = writtenLocalPart(rest.substr(0, eq));
  auto domain = lower(rest.substr(eq + 1));
  if (!local || !isPlausibleDomain(domain)) return "";
  auto original = *local + "@" + domain;
  if (original.size() > kMaxAddress) return "";
  return original;
}

bool isAddressOrSubaddress(std::string_view address, std::string_view entry) {
  auto at = address.rfind('@'), entryAt = entry.rfind('@');
  if (at == std::string_view::npos || entryAt == std::string_view::npos) return false;
  if (!equalsNoCase(address.substr(at + 1), entry.substr(entryAt + 1))) return false;
  auto text = localPartText(address.substr(0, at));
  auto entryText = localPartText(entry.substr(0, entryAt));
  if (!text || !entryText || entryText->empty()) return false;
  auto local = lower(*text), wanted = lower(*entryText);
  if (local == wanted) return true;
  return local.size() > wanted.size() + 1 && local.compare(0, wanted.size(), wanted) == 0 &&
         local[wanted.size()] == '+';
}

}  // namespace bccsink
