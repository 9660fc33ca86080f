#pragma once
// The header block of one MIME part read as lenient mail clients read it, straight from
// the raw bytes (never a library's re-rendering: a quoted ';' in a name must survive).
// Every line-end convention (CRLF, LF, a lone CR, CR CR LF), unfolding (RFC 5322 section
// 2.2.3) including a value that starts on the continuation line, `Name :` and `Name::`,
// header lines without a colon skipped when the header plainly goes on, and every
// instance of a repeated field kept. What was irregular is noted for the walker to report.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink::sandbox {

struct HeaderField {
  std::string name;   // lowercase, trimmed
  std::string value;  // unfolded, trimmed, as written (no decoding)
};

struct HeaderBlock {
  std::vector<HeaderField> fields;  // in document order, repeated fields kept
  std::size_t bodyBegin = 0;        // offset of the body in the parsed text
  // A line was skipped because more header followed (a line without a colon, a line of
  // white space only, a lone CR); a strict reader (some clients) ends the header there.
  // What it was, '' when nothing was skipped.
  std::string strictReason;
  std::size_t strictBodyBegin = 0;     // where that strict reading's body starts
  std::size_t strictFieldCount = 0;    // fields[0, strictFieldCount) are the strict header
  bool loneCr = false;                 // some line ended in a lone CR
  std::vector<std::string> irregular;  // harmless oddities worth a message error

  // Every value of field `name` (lowercase), in order.
  std::vector<std::string_view> all(std::string_view name) const;
  // The first value of `name`, or ''.
  std::string_view first(std::string_view name) const;
};

// One line of `text` from `pos`: its content ends before `end`, the next line starts at
// `next`. A line ends at LF, CRLF, CR CR LF or a lone CR.
struct Line {
  std::size_t begin, end, next;
  bool loneCr;
};
Line lineAt(std::string_view text, std::size_t pos, std::size_t limit);

// `Name: value` with a plausible field name (printable ASCII without ':', RFC 5322
// section 3.6.8), `Name :` included: a line that reads as a header field.
bool looksLikeHeaderField(std::string_view line);

// Reads the header block of the part in text[begin, end).
HeaderBlock parseHeaderBlock(std::string_view text, std::size_t begin, std::size_t end);

// Removes RFC 5322 comments (balanced parentheses, with quoted-pairs) outside quoted
// strings from a structured header value; an unbalanced '(' is kept as text.
std::string stripComments(std::string_view value);

}  // namespace bccsink::sandbox
