#pragma once
// The only forms in which the statistics keep a file name (or a URL path): a one-way MD5,
// or the shape form of Cisco's SenderBase (shared/seeds, "SenderBase Network
// Participation"), which keeps a name's look and drops its words:
//   a-z -> 'a', A-Z -> 'A', 0-9 -> '0', each multibyte UTF-8 character -> 'x', every
//   other byte (punctuation, space, control bytes) kept.
// A byte that is not part of valid UTF-8 becomes 'x' as well, so a shape is always ASCII.
// bccsink extracts no URLs today; shapeOf is what a URL path goes through once it does
// (the host name stays, the path is shaped: /invoice/2026/Q4.pdf -> /aaaaaaa/0000/A0.aaa).

#include <string>
#include <string_view>

namespace bccsink::report {

std::string shapeOf(std::string_view text);

// A file name in shape form as SenderBase shows it: the last extension, when it is 1 to 8
// ASCII letters and digits, stays as written (it is the type, not a word of the name), the
// rest is shaped: Britney1.txt.pif -> Aaaaaaa0.aaa.pif, docs/Q4.PDF -> aaaa/A0.PDF.
std::string shapeName(std::string_view name);

// Lower-case hex MD5 of the name's bytes (UTF-8 as decoded from the message).
std::string nameDigest(std::string_view name);

// An extension as the statistics count it: up to 8 ASCII letters and digits are the file
// type vocabulary (doc, exe, xlsm) and stay; '' is "(none)"; anything longer or unusual,
// which may carry words of the name, is in shape form.
std::string extensionKey(std::string_view extension);

}  // namespace bccsink::report
