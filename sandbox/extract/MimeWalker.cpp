#include "sandbox/extract/MimeWalker.h"

#include <algorithm>
#include <iterator>
#include <memory>
#include <set>
#include <utility>

#include "base/FileName.h"
#include "base/MimeText.h"
#include "base/Text.h"
#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/MimeBoundary.h"
#include "sandbox/extract/MimeHeaders.h"
#include "sandbox/extract/TransferDecoding.h"
#include "sandbox/extract/Uuencode.h"

namespace bccsink::sandbox {
namespace {

// Distinct Content-Transfer-Encoding values of one part that are each decoded.
constexpr std::size_t kMaxEncodingsTried = 3;
// How far past the next delimiter a part's header is read when only its end matters.
constexpr std::size_t kHeaderLookahead = 4096;
// uuencoded blocks taken from one text part; past it, one evasion error.
constexpr std::size_t kMaxUuFilesPerPart = 1000;

struct Range {
  std::size_t begin = 0, end = 0;
};

// A part to read: its bytes (header and body), where it sits and how it was reached.
struct Item {
  Range range;
  bool inDigest = false;
  std::size_t depth = 0;  // multiparts around it
  // Reached by a reading other than the standard one (guessed boundary, a second
  // Content-Type...): its unnamed text is delivered as a file, since a client showing
  // this reading may show it as an attachment.
  bool fallback = false;
};

struct PartInfo {
  std::string type;        // lowercase type/subtype, the first Content-Type's
  bool multipart = false;  // some Content-Type field says multipart/
  std::vector<std::string_view> contentTypes;
  HeaderValue disposition;
  std::string encoding;  // the first Content-Transfer-Encoding, normalised (TransferDecoding)
  std::vector<std::string> rawEncodings;  // every Content-Transfer-Encoding value, as written
  std::string name;                       // decoded file name
  std::vector<std::string> altNames;
};

// A media type as clients read it: comments gone (RFC 5322 section 3.2.2), quotes and
// backslashes dropped, an encoded-word decoded.
std::string cleanType(std::string_view raw) {
  std::string value = parseHeaderValue(stripComments(raw)).value;
  if (value.find("=?") != std::string::npos) value = decodeEncodedWords(value);
  std::string out;
  for (char c : value) {
    if (c != '"' && c != '\\' && c != '\'' && c != ' ' && c != '\t') out += c;
  }
  return lower(out);
}

class Walk {
 public:
  Walk(std::string_view text, const std::vector<std::string>& where, FileVisitor& visitor,
       const MimeLimits& limits)
      : text_(text),
        where_(where),
        visitor_(visitor),
        limits_(limits),
        lines_(findDashLines(text)) {}

  std::size_t files = 0;

  void run() {
    // Depth-first, in document order, with an explicit stack: no recursion on input.
    stack_.push_back({{0, text_.size()}, false, 0, false});
    while (!stack_.empty()) {
      Item item = stack_.back();
      stack_.pop_back();
      if (!seen_.insert({item.range.begin, item.range.end}).second) continue;
      if (++parts_ > limits_.maxParts) {
        visitor_.onError(evasion("more than " + std::to_string(limits_.maxParts) +
                                 " MIME parts: the rest of the message was not read"));
        return;
      }
      HeaderBlock h = parseHeaderBlock(text_, item.range.begin, item.range.end);
      if (h.loneCr) note(true, "lines ended by a lone CR");
      for (const auto& what : h.irregular) note(true, what);
      if (!h.strictReason.empty()) {
        // A strict reader ends the header at the skipped line: its reading too (its text
        // is body text there, as that reader shows it).
        note(true, h.strictReason);
        HeaderBlock strict = h;
        strict.fields.resize(h.strictFieldCount);
        strict.bodyBegin = h.strictBodyBegin;
        part(item, strict);
      }
      part(item, h);
    }
  }

 private:
  // An irregularity, once per message; `ambiguous`: readings differ (an evasion).
  void note(bool ambiguous, const std::string& what) {
    const std::string text = ambiguous ? evasion("ambiguous MIME: " + what) : what;
    if (std::find(noted_.begin(), noted_.end(), text) != noted_.end()) return;
    noted_.push_back(text);
    visitor_.onError(text);
  }

  // Two instances of a field that disagree.
  void repeated(const HeaderBlock& h, std::string_view field, const char* shown) {
    auto values = h.all(field);
    for (std::size_t i = 1; i < values.size(); ++i) {
      if (lower(stripComments(values[i])) != lower(stripComments(values[0]))) {
        note(true, std::string("two ") + shown + " headers");
        return;
      }
    }
  }

  PartInfo describe(const HeaderBlock& h, bool inDigest) {
    PartInfo p;
    p.contentTypes = h.all("content-type");
    repeated(h, "content-type", "Content-Type");
    repeated(h, "content-transfer-encoding", "Content-Transfer-Encoding");
    repeated(h, "content-disposition", "Content-Disposition");
    if (!p.contentTypes.empty()) p.type = printableAscii(cleanType(p.contentTypes.front()), 100);
    for (auto ct : p.contentTypes)
      p.multipart = p.multipart || cleanType(ct).rfind("multipart/", 0) == 0;
    if (p.type.find('/') == std::string::npos) {
      // RFC 2045 section 5.2: a missing or unusable type is text/plain (in a digest,
      // message/rfc822: RFC 2046 section 5.1.5).
      p.type = inDigest ? "message/rfc822" : "text/plain";
    }
    p.disposition = parseHeaderValue(stripComments(h.first("content-disposition")));
    for (auto v : h.all("content-transfer-encoding")) p.rawEncodings.emplace_back(v);
    p.encoding = normalizeTransferEncoding(h.first("content-transfer-encoding"));
    // Every name a client may show: filename= first (Content-Disposition wins in
    // Thunderbird and Outlook), then name=, then the readings with comments kept.
    std::vector<HeaderValue> cd, ct, cdRaw, ctRaw;
    for (auto v : h.all("content-disposition")) {
      cd.push_back(parseHeaderValue(stripComments(v)));
      cdRaw.push_back(parseHeaderValue(v));
    }
    for (auto v : p.contentTypes) {
      ct.push_back(parseHeaderValue(stripComments(v)));
      ctRaw.push_back(parseHeaderValue(v));
    }
    std::vector<std::string> names;
    for (const auto& list : {paramCandidates(cd, "filename"), paramCandidates(ct, "name"),
                             paramCandidates(cdRaw, "filename"), paramCandidates(ctRaw, "name")}) {
      for (const auto& n : list) {
        if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
      }
    }
    if (!names.empty()) {
      p.name = names.front();
      p.altNames.assign(names.begin() + 1, names.end());
    }
    return p;
  }

  // One part under one header reading: a multipart's parts go on the stack.
  void part(const Item& item, const HeaderBlock& h) {
    PartInfo info = describe(h, item.inDigest);
    const Range body{std::min(h.bodyBegin, item.range.end), item.range.end};
    if (info.type == "message/rfc822" || info.type == "message/global") {
      attachedMessage(info, body);
      return;
    }
    // The boundary readings that split the body, strictly first, then with text after
    // the boundary, then guessed from the body.
    std::vector<std::string> readings = boundaryReadings(info.contentTypes);
    struct Split {
      std::size_t reading;
      std::vector<Delimiter> delims;
      bool odd = false;  // counts indented lines or lines after a lone CR as delimiters
    };
    std::vector<Split> splits;
    // Only a closing delimiter ("--b--" while the others read "--b X"): no part.
    auto opens = [](const std::vector<Delimiter>& d) {
      return std::any_of(d.begin(), d.end(), [](const Delimiter& x) { return !x.closing; });
    };
    for (bool junk : {false, true}) {
      for (std::size_t r = 0; r < readings.size(); ++r) {
        auto d = delimitersOf(text_, lines_, body.begin, body.end, readings[r], junk);
        std::vector<Delimiter> plain;
        std::copy_if(d.begin(), d.end(), std::back_inserter(plain),
                     [](const Delimiter& x) { return !x.odd; });
        if (plain.size() < d.size()) {
          // Some clients take those lines for delimiters, others for text: both readings.
          note(true, "white space or a lone CR before a delimiter line");
          if (opens(plain)) splits.push_back({r, std::move(plain)});
          if (opens(d)) splits.push_back({r, std::move(d), true});
        } else if (opens(d)) {
          splits.push_back({r, std::move(d)});
        }
      }
      if (!splits.empty()) {
        if (junk) note(true, "delimiter lines with text after the boundary");
        break;
      }
    }
    bool guessed = false;
    if (splits.empty()) {
      // Declared multipart: any `--X` line before a header or empty line; any other
      // type: only a body that starts with `--X` and part headers.
      std::string guess =
          guessBoundary(text_, lines_, body.begin, body.end, info.multipart, !info.multipart);
      auto d = delimitersOf(text_, lines_, body.begin, body.end, guess, false);
      if (!opens(d)) d = delimitersOf(text_, lines_, body.begin, body.end, guess, true);
      // A leaf type's body needs a second delimiter line (or the closing one) before it
      // is read as multipart: one rule of dashes ("-----Original Message-----" before a
      // forwarded header in a plain-text reply) is text.
      if (opens(d) && (info.multipart || d.size() >= 2)) {
        readings.push_back(guess);
        splits.push_back({readings.size() - 1, std::move(d)});
        guessed = true;
        note(true, "boundary guessed from the body");
      }
    }
    const bool declared = info.type.starts_with("multipart/");
    if (splits.empty()) {
      if (info.multipart && !allBlank(body)) {
        // No delimiter under any reading: clients show the body as one part.
        note(true, "multipart without delimiter lines read as one part");
        leaf(info, body, true);
      } else if (!info.multipart) {
        leaf(info, body, item.fallback);
      }
      return;
    }
    if (!declared) {
      // A leaf type whose body is plainly multipart: both readings.
      note(true, "a " + info.type + " part whose body is multipart");
      leaf(info, body, item.fallback);
    }
    if (std::any_of(splits.begin(), splits.end(),
                    [&](const Split& x) { return x.reading != splits.front().reading; })) {
      note(true, "two boundaries both split the body");
    }
    if (item.depth + 1 > limits_.maxDepth) {
      note(true, "MIME nesting deeper than " + std::to_string(limits_.maxDepth) +
                     ": the parts inside were not read");
      return;
    }
    const bool digest = info.type == "multipart/digest";
    std::vector<Item> children;
    std::set<std::vector<std::size_t>> splitSeen;  // two readings, one split: walked once
    bool readToEnd = false;  // at most one part read to the end of the body per multipart
    for (const auto& [reading, delims, odd] : splits) {
      std::vector<std::size_t> at;
      for (const auto& d : delims) at.push_back(d.lineStart);
      if (!splitSeen.insert(at).second) continue;
      const bool fallback = item.fallback || guessed || !declared || reading != 0 || odd;
      bool closed = false;
      for (std::size_t k = 0; k < delims.size(); ++k) {
        if (delims[k].closing) {
          closed = true;
          continue;
        }
        if (closed) note(true, "parts after the closing delimiter");
        // A part that is a multipart itself owns the lines of its own boundary, even
        // when they read as this multipart's too (an inner boundary "b--" inside "b"):
        // the innermost open multipart claims a delimiter line first, as parsers do.
        std::size_t next = k + 1;
        if (next < delims.size()) {
          // Only a little past the next delimiter line: all that matters is whether the
          // header ends before it (a colon-less line is judged by the lines after it), and
          // a header that never ends must not make every part read to the end of the body
          // (quadratic).
          HeaderBlock ch = parseHeaderBlock(
              text_, delims[k].after, std::min(body.end, delims[next].after + kHeaderLookahead));
          auto inner = boundaryReadings(ch.all("content-type"));
          while (next < delims.size() && !inner.empty() &&
                 isDelimiterOf(text_, delims[next], inner)) {
            ++next;
          }
          if (!inner.empty() && next < delims.size() && ch.bodyBegin > delims[next].lineStart) {
            // This multipart's delimiter inside the part's header (no empty line before
            // it): a reader that finishes the header first reads the part to the end.
            note(true, "a delimiter line inside a part's header");
            if (!readToEnd)
              children.push_back({{delims[k].after, body.end}, digest, item.depth + 1, true});
            readToEnd = true;
          }
        }
        if (parts_ + stack_.size() + children.size() >= limits_.maxParts) {
          note(true, "more than " + std::to_string(limits_.maxParts) +
                         " MIME parts: the rest of the message was not read");
          break;
        }
        Range r{delims[k].after, body.end};
        if (next < delims.size()) r.end = bodyEndBefore(text_, r.begin, delims[next].lineStart);
        r.end = std::max(r.begin, r.end);
        children.push_back({r, digest, item.depth + 1, fallback});
        k = next - 1;
      }
    }
    for (auto it = children.rbegin(); it != children.rend(); ++it) stack_.push_back(*it);
  }

  static bool allBlank(Range r, std::string_view text) {
    for (std::size_t i = r.begin; i < r.end; ++i) {
      if (!std::isspace(static_cast<unsigned char>(text[i]))) return false;
    }
    return true;
  }
  bool allBlank(Range r) const { return allBlank(r, text_); }

  void deliver(FoundFile& f) {
    f.where = where_;
    ++files;
    visitor_.onFile(f);
  }

  void attachedMessage(const PartInfo& info, Range body) {
    std::string_view inner = text_.substr(body.begin, body.end - body.begin);
    FoundFile f;
    f.name = info.name;
    f.altNames = info.altNames;
    f.declaredType = info.type;
    f.attachedMessage = true;
    if (info.encoding.empty()) {
      f.content = inner;
      f.size = f.content.size();
      deliver(f);
      return;
    }
    // An encoded attached message is not allowed (RFC 2046 section 5.2.1) but sent:
    // decoded like any part, every reading a message of its own.
    auto decoding = decode(info, inner);
    for (std::size_t i = 0; i < decoding.readings.size(); ++i) {
      FoundFile m = f;
      if (i > 0) m.name = readingName(decoding.readings[i].label, info.name);
      m.content = decoding.readings[i].bytes;
      m.size = m.content.size();
      deliver(m);
    }
  }

  // Every reading of a body: by its first Content-Transfer-Encoding and, when the part has
  // several that mean different things, by each of the others too (a client may take any
  // of them). Errors go to the visitor, placed at the part.
  TransferDecoding decode(const PartInfo& info, std::string_view body) {
    std::string_view first = info.rawEncodings.empty() ? std::string_view() : info.rawEncodings[0];
    auto result = decodeTransfer(body, first);
    std::set<std::string> tried{normalizeTransferEncoding(first)};
    for (std::size_t i = 1; i < info.rawEncodings.size(); ++i) {
      // A few distinct values are what clients disagree on; thousands are an attack on
      // the time a message takes: each would decode the whole body again.
      if (tried.size() >= kMaxEncodingsTried) break;
      if (!tried.insert(normalizeTransferEncoding(info.rawEncodings[i])).second) continue;
      auto other = decodeTransfer(body, info.rawEncodings[i]);
      for (auto& reading : other.readings) {
        if (result.readings.size() >= 2 * kMaxReadings) break;
        bool known = false;
        for (const auto& r : result.readings) known = known || r.bytes == reading.bytes;
        if (known) continue;
        reading.label = "as " + normalizeTransferEncoding(info.rawEncodings[i]) +
                        (reading.label.empty() ? "" : ", " + reading.label);
        result.readings.push_back(std::move(reading));
      }
      for (auto& e : other.errors) result.errors.push_back(std::move(e));
    }
    for (const auto& e : result.errors) {
      // One line each (the message's errors are stored a line each), and no control bytes
      // from a name inside the body (a uuencode `begin` line, a BinHex header).
      visitor_.onError(
          isEvasion(e)
              ? evasion(oneLineUtf8(describeWhere(info) + e.substr(kEvasionPrefix.size()), 500))
              : oneLineUtf8(describeWhere(info) + e, 500));
    }
    return result;
  }

  // A further reading of a part is listed under its name with the reading in front
  // ("[base64 first segment] invoice.zip"), so the extension stays the name's.
  static std::string readingName(const std::string& label, const std::string& name) {
    return cleanFileName("[" + label + "]" + (name.empty() ? "" : " " + name));
  }

  void leaf(const PartInfo& info, Range range, bool fallback) {
    if (!delivered_.insert({range.begin, range.end}).second) return;  // another reading's
    std::string_view body = text_.substr(range.begin, range.end - range.begin);
    const bool isText = info.type.starts_with("text/") || info.type.starts_with("message/");
    const bool uuPart = info.encoding == "x-uuencode";
    const bool attachment = info.disposition.value == "attachment";
    TransferDecoding decoding;
    if (uuPart) {
      // The uuencoded blocks with their `begin` lines' names; TransferDecoding below only
      // for a body without one.
      decoding.readings.push_back({std::string(body), ""});
    } else {
      decoding = decode(info, body);
    }
    std::string_view decoded = decoding.readings.front().bytes;
    // Further readings are files whatever the part is: what another client shows.
    for (std::size_t i = 1; i < decoding.readings.size(); ++i) {
      FoundFile f;
      f.name = readingName(decoding.readings[i].label, info.name);
      f.altNames = info.altNames;
      f.declaredType = info.type;
      f.content = decoding.readings[i].bytes;
      f.size = f.content.size();
      deliver(f);
    }
    if (uuPart || (isText && info.name.empty() && !attachment)) {
      // A body text: its files are the uuencoded blocks in it.
      std::size_t uuFiles = 0;
      std::size_t n = findUuencoded(decoded, [&](const UuFile& uu) {
        if (++uuFiles > kMaxUuFilesPerPart) return;  // counted, said once below
        FoundFile f;
        f.name = cleanFileName(uuPart && !info.name.empty() ? info.name : uu.name);
        f.content = uu.data;
        f.size = uu.data.size();
        f.declaredType = "application/octet-stream";
        if (!uu.complete) visitor_.onError("uuencoded '" + f.name + "' ends before 'end'");
        deliver(f);
      });
      if (uuFiles > kMaxUuFilesPerPart) {
        visitor_.onError(evasion(describeWhere(info) + std::to_string(uuFiles) +
                                 " uuencoded blocks; those after the first " +
                                 std::to_string(kMaxUuFilesPerPart) + " were not read"));
      }
      if (n == 0 && uuPart) {
        // A uuencoded body without a `begin` line: its lines are the data.
        decoding = decode(info, body);
        decoded = decoding.readings.front().bytes;
      } else if (n > 0 || !fallback || allBlank(range)) {
        // Under a fallback reading a client may show the text as an attachment: a file.
        return;
      }
    }
    FoundFile f;
    f.name = info.name;
    f.altNames = info.altNames;
    f.declaredType = info.type;
    f.content = decoded;
    f.size = decoded.size();
    deliver(f);
  }

  static std::string describeWhere(const PartInfo& info) {
    return "part " + (info.name.empty() ? info.type : "'" + info.name + "'") + ": ";
  }

  std::string_view text_;
  const std::vector<std::string>& where_;
  FileVisitor& visitor_;
  const MimeLimits& limits_;
  const std::vector<DashLine> lines_;
  std::vector<Item> stack_;
  std::set<std::pair<std::size_t, std::size_t>> seen_, delivered_;
  std::vector<std::string> noted_;
  std::size_t parts_ = 0;
};

}  // namespace

MimeWalker::MimeWalker(MimeLimits limits) : limits_(limits) {}

std::size_t MimeWalker::walk(std::string_view message, const std::vector<std::string>& where,
                             FileVisitor& visitor) const {
  if (message.substr(0, 5) == "From ") {
    // An mbox separator line ("From sender date"), as exported .eml and mbox files have:
    // not a header field.
    auto nl = message.find('\n');
    message.remove_prefix(nl == std::string_view::npos ? message.size() : nl + 1);
  }
  Walk walk(message, where, visitor, limits_);
  walk.run();
  return walk.files;
}

}  // namespace bccsink::sandbox
