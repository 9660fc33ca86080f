#pragma once
// The original recipient a BCC address encodes. Postfix's recipient_bcc_maps can make one
// copy per message whose recipients each carry one original recipient in their local part
// (deploy/postfix/recipient_bcc.pcre: bob@example.org gives
// watch+bob=example.org@bcc.example.com); this is the rule that reads it back.
//
// It lives in base/, not db/: it is a pure rule on address text that three layers use
// (db records it at insert and at recovery, sink's RCPT check reads the same local part,
// tests everywhere), and it knows no SQL. Written once, here (STYLE.md 13).

#include <optional>
#include <string>
#include <string_view>

namespace bccsink {

// RFC 5321 section 4.5.3.1: the size limits an original recipient must keep.
constexpr std::size_t kMaxLocalPart = 64;
constexpr std::size_t kMaxDomain = 255;
constexpr std::size_t kMaxAddress = 254;  // a path of 256 octets, less its '<' and '>'

// `PREFIX+LOCAL=DOMAIN@bccdomain` decodes into `LOCAL@DOMAIN`: the local part (a quoted
// string is unquoted first) is split at its FIRST '+', the rest at its LAST '=' (a domain
// holds no '=', LOCAL may hold '+' and '='). PREFIX, LOCAL and DOMAIN must be non-empty;
// DOMAIN a plausible domain (labels of letters, digits, '-' and UTF-8, or an address
// literal in [...]), lower-cased; LOCAL at most 64 octets, valid UTF-8, no control
// characters, written back as a dot-atom or, when it is none, as a quoted string. Any
// other address gives '': it is not an original recipient.
std::string decodeOriginalRecipient(std::string_view address);

// The text of a local part (RFC 5321 section 4.1.2): a dot-string as it is, a quoted
// string without its quotes and backslash escapes. nullopt when it is neither (valid UTF-8
// allowed, RFC 6531 section 3.3).
std::optional<std::string> localPartText(std::string_view localPart);

// Whether `address` is the address `entry` or a subaddress of it (RFC 5233: the local part
// followed by '+' and anything), both compared case-insensitively; a quoted local part is
// compared by its text. `entry` is local@domain.
bool isAddressOrSubaddress(std::string_view address, std::string_view entry);

}  // namespace bccsink
