#include "sandbox/extract/MimeHeaders.h"

#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

bool isBlank(char c) {
  return c == ' ' || c == '\t';
}

bool blankLine(std::string_view text, const Line& l) {
  for (std::size_t i = l.begin; i < l.end; ++i) {
    if (!isBlank(text[i])) return false;
  }
  return true;
}

bool headerLooking(std::string_view text, const Line& l) {
  return looksLikeHeaderField(text.substr(l.begin, l.end - l.begin));
}

}  // namespace

// `Name :` is the obsolete syntax of RFC 5322 section 4.5.
bool looksLikeHeaderField(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] > ' ' && line[i] < 127 && line[i] != ':') ++i;
  if (i == 0) return false;
  while (i < line.size() && isBlank(line[i])) ++i;
  return i < line.size() && line[i] == ':';
}

Line lineAt(std::string_view text, std::size_t pos, std::size_t limit) {
  std::size_t i = pos;
  while (i < limit && text[i] != '\n' && text[i] != '\r') ++i;
  Line l{pos, i, i, false};
  if (i >= limit) return l;
  if (text[i] == '\n') {
    l.next = i + 1;
  } else if (i + 1 < limit && text[i + 1] == '\n') {
    l.next = i + 2;
  } else if (i + 2 < limit && text[i + 1] == '\r' && text[i + 2] == '\n') {
    l.next = i + 3;  // CR CR LF: one line end, as clients read it
  } else {
    l.next = i + 1;
    l.loneCr = true;
  }
  return l;
}

std::vector<std::string_view> HeaderBlock::all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& f : fields) {
    if (f.name == name) out.push_back(f.value);
  }
  return out;
}

std::string_view HeaderBlock::first(std::string_view name) const {
  for (const auto& f : fields) {
    if (f.name == name) return f.value;
  }
  return {};
}

HeaderBlock parseHeaderBlock(std::string_view text, std::size_t begin, std::size_t end) {
  HeaderBlock h;
  h.bodyBegin = end;
  std::size_t pos = begin;
  bool current = false;  // the last line was a field that continuation lines extend
  while (pos < end) {
    Line l = lineAt(text, pos, end);
    if (l.loneCr) h.loneCr = true;
    if (l.next == l.begin) break;
    std::string_view content = text.substr(l.begin, l.end - l.begin);
    if (blankLine(text, l)) {
      // The empty line ends the header, and so does a line of white space only, unless
      // a folded line follows: then it is obsolete folding white space (RFC 5322
      // section 4.2) inside a field.
      Line n = lineAt(text, l.next, end);
      const bool folds = l.end > l.begin && current && n.end > n.begin && isBlank(text[n.begin]) &&
                         !blankLine(text, n);
      if (folds) {
        pos = l.next;
        continue;
      }
      // A line of white space only, or a lone CR after an LF-ended line, before more
      // header fields: lenient readers go on, strict ones start the body.
      const bool isolatedCr =
          l.end == l.begin && l.loneCr && l.begin > begin && text[l.begin - 1] == '\n';
      if ((l.end > l.begin || isolatedCr) && n.next > n.begin && headerLooking(text, n)) {
        if (h.strictReason.empty()) {
          h.strictReason = isolatedCr ? "a lone CR inside the header"
                                      : "a line of white space only inside the header";
          h.strictBodyBegin = l.next;
          h.strictFieldCount = h.fields.size();
        }
        current = false;
        pos = l.next;
        continue;
      }
      h.bodyBegin = l.next;
      return h;
    }
    if (isBlank(content[0])) {
      // Unfolding (RFC 5322 section 2.2.3): the CRLF goes, the white space stays; a
      // value may start here when its field's line held only the name.
      if (current) {
        auto& v = h.fields.back().value;
        std::string_view more = trim(content);
        if (!v.empty()) v += ' ';
        v += more;
      }
      pos = l.next;
      continue;
    }
    if (headerLooking(text, l)) {
      auto colon = content.find(':');
      HeaderField f;
      f.name = lower(trim(content.substr(0, colon)));
      std::string_view value = content.substr(colon + 1);
      if (!value.empty() && value[0] == ':' && f.name.rfind("content-", 0) == 0) {
        h.irregular.push_back("'" + f.name + "::' read as '" + f.name + ":'");
      }
      while (!value.empty() && (value[0] == ':' || isBlank(value[0]))) value.remove_prefix(1);
      f.value = std::string(trim(value));
      h.fields.push_back(std::move(f));
      current = true;
      pos = l.next;
      continue;
    }
    // A line without a colon. It is skipped when the header plainly goes on: a field or
    // the empty line follows within a few lines (Thunderbird starts the body at the
    // empty line); otherwise the body starts here (there was no empty line).
    bool goesOn = false;
    std::size_t look = l.next;
    for (int k = 0; k < 3 && look < end; ++k) {
      Line n = lineAt(text, look, end);
      if (n.next == n.begin) break;
      if (blankLine(text, n) || headerLooking(text, n)) {
        goesOn = true;
        break;
      }
      look = n.next;
    }
    if (!goesOn) {
      h.bodyBegin = l.begin;
      return h;
    }
    if (h.strictReason.empty()) {
      h.strictReason = "header line without a colon";
      h.strictBodyBegin = l.begin;
      h.strictFieldCount = h.fields.size();
    }
    current = false;
    pos = l.next;
  }
  h.bodyBegin = end;
  return h;
}

std::string stripComments(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  bool quoted = false;
  for (std::size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (quoted) {
      out += c;
      if (c == '\\' && i + 1 < value.size()) {
        out += value[++i];
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
      out += c;
      continue;
    }
    if (c != '(') {
      out += c;
      continue;
    }
    // A comment: find its balanced end, honouring quoted-pairs (RFC 5322 section 3.2.2).
    int depth = 0;
    std::size_t j = i;
    for (; j < value.size(); ++j) {
      if (value[j] == '\\') {
        ++j;
      } else if (value[j] == '(') {
        ++depth;
      } else if (value[j] == ')' && --depth == 0) {
        break;
      }
    }
    if (j >= value.size()) {
      out += value.substr(i);  // unbalanced: text, not a comment
      break;
    }
    i = j;
  }
  return out;
}

}  // namespace bccsink::sandbox
