#pragma once
// The text rules every layer shares, each defined once: ASCII case and white space, joining,
// UTF-8 validity, and the two ways hostile text (from the network, from a message, from a
// library's error) is made safe before it reaches a log line, a reply, a reason or a report.
// Which rule a caller wants depends on where the text goes, not where it comes from:
//   printableAscii  - a log line, an SMTP reply or header we write, an error reason.
//   oneLineUtf8     - text shown to people (a report, the API) where non-ASCII names matter.
//   asciiEscaped    - a terminal, where every byte must be told apart.
// All are ASCII-only in their notion of case and space; no function depends on the locale.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink {

// For a maxBytes that does not cut: the text was bounded where it came from.
inline constexpr std::size_t kNoLimit = std::string_view::npos;

// --- case, white space, joining ----------------------------------------------------------

// 'A'..'Z' to 'a'..'z' (lower) or back (upper); every other byte, UTF-8 included, as is.
std::string lower(std::string_view text);
std::string upper(std::string_view text);

// Equal / starting with `prefix`, ignoring ASCII case only.
bool equalsNoCase(std::string_view a, std::string_view b);
bool startsWithNoCase(std::string_view text, std::string_view prefix);

// `text` without ASCII white space (SP, HT, CR, LF, VT, FF) at either end. A view into `text`.
std::string_view trim(std::string_view text);

// The items with `sep` between each two (an empty item still gets its separators).
std::string join(const std::vector<std::string>& items, std::string_view sep);

// True when `text` holds a C0 control character (0x00..0x1f) or DEL (0x7f).
bool hasControl(std::string_view text);

// --- UTF-8 --------------------------------------------------------------------------------

// Length (1..4) of the valid UTF-8 sequence that starts at text[i], or 0 when none does: a
// stray continuation byte, a truncated sequence, an overlong form (C0, C1, E0 80..9F,
// F0 80..8F), a surrogate (ED A0..BF), past U+10FFFF (F4 90.., F5..FF). i < text.size().
std::size_t utf8SequenceLength(std::string_view text, std::size_t i);

bool isValidUtf8(std::string_view text);

// Valid UTF-8 kept; each byte that does not start a valid sequence becomes U+FFFD.
std::string toValidUtf8(std::string_view text);

// The longest prefix of `text` of at most maxBytes bytes that does not end inside a UTF-8
// sequence (a cut never splits a character; invalid bytes count as one character each).
std::string_view utf8Prefix(std::string_view text, std::size_t maxBytes);

// --- hostile text made safe ---------------------------------------------------------------

// For text from the network or a library going to a log line, an SMTP reply or header we
// write, an error reason. Keeps the bytes 0x20..0x7e; every other byte (C0 controls CR LF
// HT NUL included, DEL, every byte from 0x80 up) becomes `replacement`, one for one.
// Longer than maxBytes: cut so that the result, "..." included, is maxBytes bytes
// (maxBytes < 3: cut at maxBytes, no "..."). The result is always printable ASCII.
std::string printableAscii(std::string_view text, std::size_t maxBytes = 200,
                           char replacement = '?');

// For header-like text shown to people (report fields, vxCube's strings, archive errors):
// one line of valid UTF-8. Valid UTF-8 is kept (bidirectional marks such as U+202E
// included); each byte that starts no valid sequence becomes U+FFFD; C0 controls (CR, LF,
// HT, NUL...), DEL and the C1 controls U+0080..U+009F (which some terminals obey) become a
// space. Longer than maxBytes: cut at a character boundary so that the result, "..."
// included, is at most maxBytes bytes (maxBytes < 3: no "..."). Nothing is trimmed.
std::string oneLineUtf8(std::string_view text, std::size_t maxBytes);

// For a terminal: bytes 0x20..0x7e kept, every other byte written as \xNN (lowercase hex).
// Not cut.
std::string asciiEscaped(std::string_view text);

}  // namespace bccsink
