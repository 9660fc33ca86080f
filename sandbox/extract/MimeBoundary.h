#pragma once
// Where a multipart's parts lie: its delimiter lines (RFC 2046 section 5.1.1) under every
// reading of the boundary a mail client may take. Readings come from every boundary
// parameter of every Content-Type field, quoted, unquoted, RFC 2231; when none matches a
// line of the body, the boundary is guessed from the body as lenient clients do. The
// lines starting with "--" are found once per message, so each multipart only looks at
// the few lines of its own range: linear in the message.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink::sandbox {

// A line starting with "--", perhaps after white space: a possible delimiter line.
struct DashLine {
  std::size_t lineStart;  // first byte of the line (the white space, if any)
  std::size_t dash;       // the "--"
  std::size_t end, next;  // end of its text, start of the next line
  bool odd;               // indented, or after a lone CR: not every client sees it
};

// Every DashLine of `text`, in order.
std::vector<DashLine> findDashLines(std::string_view text);

struct Delimiter {
  std::size_t lineStart;  // where the delimiter line starts
  std::size_t dash, end;  // its "--" and the end of its text
  std::size_t after;      // first byte of the next line
  bool closing;           // "--boundary--"
  bool odd;               // DashLine::odd
};

// The delimiter lines of `boundary` among `lines` within text[begin, end). `junk`: the
// boundary may be followed by any text (RFC 2046 allows only white space).
std::vector<Delimiter> delimitersOf(std::string_view text, const std::vector<DashLine>& lines,
                                    std::size_t begin, std::size_t end, std::string_view boundary,
                                    bool junk);

// Every reading of the boundary in these Content-Type values (raw, unfolded): the parsed
// parameter (RFC 2231 included) with and without comments, each `boundary=` occurrence
// with its quotes kept, removed, single quotes removed, cut at white space. The first is
// the reading of RFC 2045/2231 proper. No duplicates, none empty.
std::vector<std::string> boundaryReadings(const std::vector<std::string_view>& contentTypes);

// Whether the line of `d` is a delimiter line (opening or closing) of one of `readings`.
bool isDelimiterOf(std::string_view text, const Delimiter& d,
                   const std::vector<std::string>& readings);

// A boundary read from the body in text[begin, end): the first `--X` line followed by a
// header field (or, when `emptyLineToo`, an empty line). `firstLineOnly`: only when that
// line is the body's first non-empty line. '' when there is none.
std::string guessBoundary(std::string_view text, const std::vector<DashLine>& lines,
                          std::size_t begin, std::size_t end, bool emptyLineToo,
                          bool firstLineOnly);

// The end of the body before a delimiter line at `lineStart` (RFC 2046 section 5.1.1:
// the line break before the boundary belongs to the boundary).
std::size_t bodyEndBefore(std::string_view text, std::size_t begin, std::size_t lineStart);

}  // namespace bccsink::sandbox
