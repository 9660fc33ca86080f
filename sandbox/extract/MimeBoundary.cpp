#include "sandbox/extract/MimeBoundary.h"

#include <algorithm>

#include "base/MimeText.h"
#include "base/Text.h"
#include "sandbox/extract/MimeHeaders.h"

namespace bccsink::sandbox {
namespace {

bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

bool allBlank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), isBlank);
}

constexpr std::size_t kMaxIndent = 64;  // white space accepted before "--"

std::vector<DashLine>::const_iterator firstFrom(const std::vector<DashLine>& lines,
                                                std::size_t begin) {
  return std::lower_bound(lines.begin(), lines.end(), begin,
                          [](const DashLine& l, std::size_t pos) { return l.lineStart < pos; });
}

}  // namespace

std::vector<DashLine> findDashLines(std::string_view text) {
  std::vector<DashLine> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    // No '-' in base64: a large attachment is passed over at memchr speed.
    std::size_t p = text.find("--", pos);
    if (p == std::string_view::npos) break;
    std::size_t start = p;
    while (start > 0 && p - start < kMaxIndent && isBlank(text[start - 1])) --start;
    const bool atLineStart = start == 0 || text[start - 1] == '\n' || text[start - 1] == '\r';
    if (!atLineStart) {
      pos = p + 1;
      continue;
    }
    Line l = lineAt(text, p, text.size());
    const bool loneCrBefore =
        start > 0 && text[start - 1] == '\r' && (start >= text.size() || text[start] != '\n');
    out.push_back({start, p, l.end, l.next, start != p || loneCrBefore});
    pos = std::max(l.next, p + 2);
  }
  return out;
}

std::vector<Delimiter> delimitersOf(std::string_view text, const std::vector<DashLine>& lines,
                                    std::size_t begin, std::size_t end, std::string_view boundary,
                                    bool junk) {
  std::vector<Delimiter> out;
  if (boundary.empty()) return out;
  for (auto it = firstFrom(lines, begin); it != lines.end() && it->lineStart < end; ++it) {
    std::string_view rest = text.substr(it->dash + 2, it->end - it->dash - 2);
    if (rest.substr(0, boundary.size()) != boundary) continue;
    rest.remove_prefix(boundary.size());
    const bool closing = rest.substr(0, 2) == "--";
    if (closing) rest.remove_prefix(2);
    if (!junk && !allBlank(rest)) continue;
    out.push_back({it->lineStart, it->dash, it->end, std::min(it->next, end), closing, it->odd});
  }
  return out;
}

bool isDelimiterOf(std::string_view text, const Delimiter& d,
                   const std::vector<std::string>& readings) {
  std::string_view line = text.substr(d.dash + 2, d.end - d.dash - 2);
  for (const auto& b : readings) {
    if (line.substr(0, b.size()) != b) continue;
    std::string_view rest = line.substr(b.size());
    if (rest.substr(0, 2) == "--") rest.remove_prefix(2);
    if (allBlank(rest)) return true;
  }
  return false;
}

// Readings of one part's boundary: a few are what clients disagree on (quoted, trimmed,
// RFC 2231, two parameters); thousands of `boundary=` parameters are an attack.
constexpr std::size_t kMaxBoundaryReadings = 16;

std::vector<std::string> boundaryReadings(const std::vector<std::string_view>& contentTypes) {
  std::vector<std::string> out;
  auto add = [&](std::string_view b) {
    // At most kMaxBoundaryReadings: each reading is matched against every `--` line.
    if (!b.empty() && b.size() <= 256 && out.size() < kMaxBoundaryReadings &&
        std::find(out.begin(), out.end(), b) == out.end()) {
      out.emplace_back(b);
    }
  };
  for (auto ct : contentTypes) add(paramText(parseHeaderValue(stripComments(ct)), "boundary"));
  for (auto ct : contentTypes) {
    add(paramText(parseHeaderValue(ct), "boundary"));
    // Each "boundary=" as written (double_boundary, a hidden key, quotes kept...).
    const std::string low = lower(ct);
    for (auto k = low.find("boundary"); k != std::string::npos; k = low.find("boundary", k + 1)) {
      std::size_t i = k + 8;
      while (i < ct.size() && (ct[i] == '*' || isBlank(ct[i]) || (ct[i] >= '0' && ct[i] <= '9')))
        ++i;
      if (i >= ct.size() || ct[i] != '=') continue;
      ++i;
      const std::size_t spaced = i;
      while (i < ct.size() && isBlank(ct[i])) ++i;
      std::size_t stop = ct.find(';', i);
      if (spaced < i) {
        // "boundary= b" with the delimiter lines "-- b": the white space as written.
        std::size_t cut = stop == std::string_view::npos ? ct.size() : stop;
        while (cut > i && isBlank(ct[cut - 1])) --cut;
        add(ct.substr(spaced, cut - spaced));
      }
      std::string_view token = trim(ct.substr(i, stop == std::string_view::npos ? stop : stop - i));
      add(token);
      if (token.size() >= 2 && (token[0] == '"' || token[0] == '\'')) {
        auto close = token.find(token[0], 1);
        add(token.substr(1, close == std::string_view::npos ? close : close - 1));
        if (token.back() == token[0]) add(token.substr(1, token.size() - 2));
      }
      add(token.substr(0, token.find_first_of(" \t")));
    }
  }
  // "b XXX" whose delimiter lines read "--b YYY": the boundary up to the white space.
  for (std::size_t r = 0, n = out.size(); r < n; ++r) {
    const std::string b = out[r];
    auto inner = trim(b);
    if (!inner.empty() && (inner[0] == '"' || inner[0] == '\'')) inner.remove_prefix(1);
    add(inner.substr(0, inner.find_first_of(" \t")));
  }
  return out;
}

std::string guessBoundary(std::string_view text, const std::vector<DashLine>& lines,
                          std::size_t begin, std::size_t end, bool emptyLineToo,
                          bool firstLineOnly) {
  if (firstLineOnly) {
    std::size_t pos = begin;
    while (pos < end) {  // skip empty lines
      Line l = lineAt(text, pos, end);
      if (!allBlank(text.substr(l.begin, l.end - l.begin)) || l.next == pos) break;
      pos = l.next;
    }
    auto it = firstFrom(lines, pos);
    if (it == lines.end() || it->lineStart != pos) return "";
  }
  for (auto it = firstFrom(lines, begin); it != lines.end() && it->lineStart < end; ++it) {
    std::string_view x = trim(text.substr(it->dash + 2, it->end - it->dash - 2));
    x = x.substr(0, x.find_first_of(" \t"));  // "--b X": the boundary is b
    if (x.size() >= 2 && x.substr(x.size() - 2) == "--") x.remove_suffix(2);
    // Not a boundary: a rule of dashes ("---------- Forwarded message ---------") or
    // OpenPGP armor ("-----BEGIN PGP SIGNATURE-----" then "Version: ..."), RFC 4880 6.2.
    const std::string_view line = text.substr(it->dash, it->end - it->dash);
    const bool armor = line.starts_with("-----BEGIN ") || line.starts_with("-----END ");
    const bool usable = !armor && x.find_first_not_of('-') != std::string_view::npos;
    if (usable && it->next < end) {
      Line n = lineAt(text, it->next, end);
      std::string_view following = text.substr(n.begin, n.end - n.begin);
      if (looksLikeHeaderField(following) || (emptyLineToo && allBlank(following))) {
        return std::string(x);
      }
    }
    if (firstLineOnly) break;
  }
  return "";
}

std::size_t bodyEndBefore(std::string_view text, std::size_t begin, std::size_t lineStart) {
  std::size_t end = lineStart;
  if (end > begin && text[end - 1] == '\n') --end;
  if (end > begin && text[end - 1] == '\r') --end;
  return end;
}

}  // namespace bccsink::sandbox
