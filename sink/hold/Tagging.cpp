#include "sink/hold/Tagging.h"

#include "base/Text.h"
#include "report/ReportMail.h"

namespace bccsink {
namespace {

constexpr std::string_view kVerdictName = "X-Bccsink-Verdict: ";
// RFC 5322 section 2.1.1: lines SHOULD stay within 78 characters and MUST within 998.
constexpr std::size_t kFoldAt = 78;
constexpr std::size_t kMaxWhy = 900;  // bytes of `why` kept: a reason, not a document

// The message's own line end: the first one found (CRLF from the listener), CRLF when none.
std::string lineEndOf(std::string_view m) {
  auto lf = m.find('\n');
  if (lf == std::string_view::npos) return "\r\n";
  return lf > 0 && m[lf - 1] == '\r' ? "\r\n" : "\n";
}

// "Name: value" folded at spaces (RFC 5322 section 2.2.3: a fold is a line end before
// white space), so that no line passes 78 characters where a space allows it; a word
// longer than a line stays whole (the value is at most kMaxWhy bytes: under 998).
std::string foldedHeader(std::string_view name, const std::string& value, const std::string& eol) {
  std::string out(name);
  std::size_t lineStart = 0;
  std::size_t at = 0;
  bool first = true;
  while (at < value.size()) {
    auto space = value.find(' ', at);
    if (space == std::string::npos) space = value.size();
    std::string_view word = std::string_view(value).substr(at, space - at);
    at = space + 1;
    if (word.empty()) continue;  // runs of spaces collapse
    if (!first && out.size() - lineStart + 1 + word.size() > kFoldAt) {
      out += eol;
      lineStart = out.size();
    }
    if (!first) out += ' ';
    out += word;
    first = false;
  }
  return out + eol;
}

// The X-Bccsink-Verdict header: one line of text (control characters and line ends gone,
// so nothing from `why`, which carries file names from mail, can start a header of its
// own), RFC 2047 encoded-words when it holds more than ASCII.
std::string verdictHeader(std::string_view why, const std::string& eol) {
  auto text = oneLineUtf8(why, kMaxWhy);
  bool ascii = true;
  for (unsigned char c : text) ascii = ascii && c < 0x80;
  if (ascii) return foldedHeader(kVerdictName, text, eol);
  std::string encoded = report::encodeHeaderText(text, kVerdictName.size());
  // encodeHeaderText folds with CRLF; the message may use LF.
  std::string out(kVerdictName);
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded.compare(i, 2, "\r\n") == 0) {
      out += eol;
      ++i;
    } else {
      out += encoded[i];
    }
  }
  return out + eol;
}

struct HeaderLine {
  std::size_t start, end;  // [start, end): the line without its line end
  std::size_t next;        // where the following line starts
};

HeaderLine lineAt(std::string_view m, std::size_t at) {
  auto lf = m.find('\n', at);
  if (lf == std::string_view::npos) return {at, m.size(), m.size()};
  auto end = lf > at && m[lf - 1] == '\r' ? lf - 1 : lf;
  return {at, end, lf + 1};
}

bool isWsp(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

std::string withoutVerdictHeaders(std::string_view message) {
  std::string out;
  std::size_t copied = 0;  // message bytes before this are in `out` (or dropped)
  bool dropping = false;   // inside a verdict header: its folded lines go too
  std::size_t at = 0;
  while (at < message.size()) {
    auto line = lineAt(message, at);
    if (line.end == line.start) break;  // the empty line: the body follows
    const auto text = message.substr(line.start, line.end - line.start);
    const bool fold = isWsp(text.front());
    if (!fold) dropping = startsWithNoCase(text, kVerdictName.substr(0, kVerdictName.size() - 1));
    if (dropping) {
      out.append(message.substr(copied, line.start - copied));
      copied = line.next;
    }
    at = line.next;
  }
  if (copied == 0) return std::string(message);
  out.append(message.substr(copied));
  return out;
}

std::string tagMessage(std::string_view message, std::string_view subjectPrefix,
                       std::string_view why) {
  const std::string eol = lineEndOf(message);
  const std::string prefix = oneLineUtf8(subjectPrefix, kNoLimit);
  std::string out = verdictHeader(why, eol);
  if (prefix.empty()) return out.append(message);

  // The top-level header block: up to the first empty line (or the end). The first
  // Subject header's value, the folds after it included, is where the prefix goes.
  std::size_t at = 0;
  std::size_t valueAt = std::string_view::npos;  // where the prefix goes
  bool tagged = false;
  while (at < message.size()) {
    auto line = lineAt(message, at);
    if (line.end == line.start) break;  // the empty line: the body follows
    auto text = message.substr(line.start, line.end - line.start);
    if (!isWsp(text.front()) && startsWithNoCase(text, "subject:")) {
      // The value starts after the colon and any white space, folds included.
      std::size_t v = line.start + 8;
      while (true) {
        while (v < line.end && isWsp(message[v])) ++v;
        if (v < line.end) break;
        auto next = lineAt(message, line.next);
        if (line.next >= message.size() || next.end == next.start || !isWsp(message[next.start]))
          break;  // an empty Subject: the prefix goes at the end of its line
        line = next;
        v = line.start;
      }
      valueAt = v;
      tagged = message.substr(v, prefix.size()) == prefix;
      break;
    }
    at = line.next;
  }
  if (valueAt == std::string_view::npos) {
    out += "Subject: " + prefix + eol;
    return out.append(message);
  }
  if (tagged) return out.append(message);
  out.append(message.substr(0, valueAt));
  // "[suspicious] Original", or just the prefix when the Subject was empty.
  const bool emptyValue =
      valueAt >= message.size() || message[valueAt] == '\r' || message[valueAt] == '\n';
  if (emptyValue && valueAt > 0 && message[valueAt - 1] == ':') out += ' ';
  out += emptyValue ? prefix : prefix + " ";
  return out.append(message.substr(valueAt));
}

}  // namespace bccsink
