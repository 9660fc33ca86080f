#pragma once
// Parsing of the arguments of MAIL and RCPT (RFC 5321 section 4.1.2) and of their
// ESMTP parameters. Pure functions: no state, no I/O.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace bccsink::smtp {

struct PathArgs {
  std::string address;                        // without <>, source route dropped
  std::map<std::string, std::string> params;  // keys upper-cased; value '' when absent
};

// Parses what follows "MAIL FROM:" or "RCPT TO:". Returns nullopt on a syntax error and
// sets `error` to a short reason.
std::optional<PathArgs> parsePath(std::string_view text, bool allowEmpty, std::string& error);

// Verb (upper-cased) and the rest of a command line.
std::pair<std::string, std::string_view> splitVerb(std::string_view line);

// How much of a client's text (HELO, an address, a parameter) goes into a header we write
// or a log line, made printableAscii (base/Text.h).
constexpr std::size_t kMaxClientText = 255;

// RFC 3461 section 4: xtext is printable ASCII except '+' and '=', with +XX escapes.
bool isXtext(std::string_view s);
// RFC 6533 section 3: an ORCPT value of addr-type "utf-8" in a SMTPUTF8 transaction
// (utf-8-addr-xtext or utf-8-addr-unitext, as Postfix sends it): valid UTF-8 without
// controls, spaces or '='.
bool isUtf8AddrText(std::string_view s);

}  // namespace bccsink::smtp
