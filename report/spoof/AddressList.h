#pragma once
// The addr-specs in an address-list header (From, To, Cc: RFC 5322 section 3.4) or in an
// SMTP path (RFC 5321 section 4.1.2), for comparing domains. Display names, comments,
// groups and source routes are dropped; no validation beyond "has an '@'".

#include <string>
#include <string_view>
#include <vector>

namespace bccsink::report {

// `"Doe, Jane" <jane@example.com>, team: a@example.com (A), <@relay:b@example.com>;` gives
// jane@example.com, a@example.com, b@example.com. Linear in the input; never throws on
// content. Quoted local parts keep their quotes.
std::vector<std::string> extractAddresses(std::string_view value);

// The part after the last '@', ASCII lower-cased, trailing dot removed; empty if none.
std::string domainOf(std::string_view address);

}  // namespace bccsink::report
