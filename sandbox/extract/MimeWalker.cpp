#include "sandbox/extract/MimeWalker.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Exception.h>
#include <Poco/MemoryStream.h>
#include <Poco/Net/QuotedPrintableDecoder.h>
#include <mimetic/mimetic.h>

#include <algorithm>
#include <iterator>
#include <map>
#include <memory>
#include <stack>

#include "base/FileName.h"
#include "base/MimeText.h"
#include "sandbox/extract/Uuencode.h"

namespace bccsink::sandbox {
namespace {

using Entity = mimetic::MimeEntity;
using RandomAccessParser = mimetic::IteratorParser<const char*, std::random_access_iterator_tag>;
// mimetic's random-access parser re-declares the parser state private; its base (where
// the state lives, protected) is named to reach it.
using ParserBase = mimetic::IteratorParser<const char*, std::input_iterator_tag>;

// Attached messages, counted before parsing: mimetic descends into message/rfc822 parts
// by recursion with no hook between levels, so a message of a million nested
// "Content-Type: message/rfc822" headers would exhaust the stack. Beyond this count the
// structure is not parsed at all.
constexpr std::size_t kMaxAttachedMessages = 1000;

struct Range {
  std::size_t begin = 0, end = 0;
};

struct Delimiter {
  std::size_t lineStart;  // where the "--boundary" line starts (after the CRLF before it)
  std::size_t after;      // first byte of the next line
  bool closing;
};

// Offset of the newline that ends the body before a delimiter line (RFC 2046 section
// 5.1.1: the CRLF preceding the boundary belongs to the boundary).
std::size_t bodyEndBefore(const char* base, std::size_t begin, std::size_t lineStart) {
  std::size_t end = lineStart;
  if (end > begin && base[end - 1] == '\n') --end;
  if (end > begin && base[end - 1] == '\r') --end;
  return end;
}

// The mimetic parser, but recording where bodies and delimiters lie instead of copying
// the bodies into strings, finding delimiters only at the start of a line, and closing
// an unterminated inner multipart at an outer delimiter (mimetic 0.9.8 would end every
// enclosing multipart there, losing the parts that follow).
class RangeParser : public RandomAccessParser {
 public:
  RangeParser(Entity& root, std::string_view text, const MimeLimits& limits)
      : RandomAccessParser(root), text_(text), limits_(limits) {}

  std::map<const Entity*, Range> bodies;                       // leaf bodies
  std::map<const Entity*, std::vector<Delimiter>> delimiters;  // per multipart, in order
  std::string stopReason;                                      // set when a limit stopped it

 protected:
  void copy_until_boundary(mimetic::ParsingElem pe) override {
    const char*& bit = this->ParserBase::m_bit;
    const char* const eit = this->ParserBase::m_eit;
    auto& boundaries = this->ParserBase::m_boundaryList;
    auto& entities = this->ParserBase::m_entityStack;
    auto& last = this->ParserBase::m_lastBoundary;
    Entity* top = entities.top();

    if (!stopReason.empty() || ++calls_ > limits_.maxParts * 2 + 2 ||
        entities.size() > limits_.maxDepth + 1) {
      if (stopReason.empty()) {
        stopReason = entities.size() > limits_.maxDepth + 1
                         ? "MIME nesting deeper than " + std::to_string(limits_.maxDepth)
                         : "more than " + std::to_string(limits_.maxParts) + " MIME parts";
      }
      bit = eit;
      last = ParserBase::NoBoundary;
      return;
    }
    // Keep owners_ (outermost first) in step with mimetic's boundary list (innermost
    // first): a multipart pushes its boundary and then asks for its preamble.
    while (owners_.size() > boundaries.size()) owners_.pop_back();
    if (boundaries.size() > owners_.size()) owners_.push_back(top);

    const std::size_t start = static_cast<std::size_t>(bit - text_.data());
    std::size_t pos = start;
    while (pos < text_.size()) {
      auto nl = text_.find('\n', pos);
      std::size_t lineEnd = nl == std::string_view::npos ? text_.size() : nl;
      std::size_t next = nl == std::string_view::npos ? text_.size() : nl + 1;
      if (lineEnd - pos >= 2 && text_[pos] == '-' && text_[pos + 1] == '-') {
        auto line = text_.substr(pos, lineEnd - pos);
        std::size_t level = 0;
        for (const auto& b : boundaries) {
          // mimetic's list holds "--" + boundary.
          if (b.size() > 2 && line.compare(0, b.size(), b) == 0) {
            bool closing = line.compare(b.size(), 2, "--") == 0;
            record(pe, top, start, bodyEndBefore(text_.data(), start, pos));
            if (level == 0) {
              delimiters[owners_.back()].push_back({pos, next, closing});
              last = closing ? ParserBase::ClosingBoundary : ParserBase::Boundary;
              bit = text_.data() + next;
            } else {
              // An outer delimiter: the inner multipart ends here unterminated. Report
              // it closed without consuming the line, so each level unwinds in turn
              // until the owner of the delimiter consumes it.
              last = ParserBase::ClosingBoundary;
              bit = text_.data() + pos;
            }
            return;
          }
          ++level;
        }
      }
      pos = next;
    }
    record(pe, top, start, text_.size());
    last = ParserBase::NoBoundary;
    bit = eit;
  }

 private:
  void record(mimetic::ParsingElem pe, const Entity* top, std::size_t begin, std::size_t end) {
    if (pe == ParserBase::peBody) bodies[top] = {begin, std::max(begin, end)};
  }

  std::string_view text_;
  const MimeLimits& limits_;
  std::vector<Entity*> owners_;
  std::size_t calls_ = 0;
};

// `needle` is lowercase ASCII letters and digits.
std::size_t countNoCase(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  const char first = needle[0];
  for (std::size_t i = 0; i + needle.size() <= text.size(); ++i) {
    // Cheap first-byte test before the case-folding compare (this runs over the whole
    // message: tolower on every byte was a tenth of the time of a 50 MB attachment).
    if ((text[i] | 0x20) != first) continue;
    std::size_t k = 0;
    while (k < needle.size() &&
           std::tolower(static_cast<unsigned char>(text[i + k])) == needle[k]) {
      ++k;
    }
    if (k == needle.size()) ++n, i += k - 1;
  }
  return n;
}

// The end of a part's header: the first empty line from `begin` (or `end`).
std::size_t headerEnd(std::string_view text, std::size_t begin, std::size_t end) {
  std::size_t pos = begin;
  while (pos < end) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos || nl >= end) return end;
    std::size_t lineLen = nl - pos;
    if (lineLen == 0 || (lineLen == 1 && text[pos] == '\r')) return nl + 1;
    pos = nl + 1;
  }
  return end;
}

std::string fieldValue(const Entity& e, const char* name) {
  const auto& h = e.header();
  if (!h.hasField(name)) return "";
  return h.field(name).value();
}

struct PartInfo {
  std::string type;  // lowercase type/subtype, "text/plain" when absent
  HeaderValue contentType, disposition;
  std::string encoding;  // lowercase Content-Transfer-Encoding
  std::string name;      // decoded file name
};

PartInfo describe(const Entity& e, bool inDigest) {
  PartInfo p;
  std::string ct = fieldValue(e, "Content-Type");
  p.contentType = parseHeaderValue(ct);
  p.type = p.contentType.value;
  if (p.type.find('/') == std::string::npos) {
    // RFC 2045 section 5.2: a missing or unusable type is text/plain (in a digest,
    // message/rfc822: RFC 2046 section 5.1.5).
    p.type = inDigest ? "message/rfc822" : "text/plain";
  }
  p.disposition = parseHeaderValue(fieldValue(e, "Content-Disposition"));
  HeaderValue cte = parseHeaderValue(fieldValue(e, "Content-Transfer-Encoding"));
  p.encoding = cte.value;
  p.name = paramValue(p.disposition, "filename");
  if (p.name.empty()) p.name = paramValue(p.contentType, "name");
  return p;
}

// Decodes a body into `out` (replacing it). Returns '' or what was wrong.
std::string decodeBody(std::string_view body, const std::string& encoding, std::string& out) {
  out.clear();
  if (encoding != "base64" && encoding != "quoted-printable") {
    out.assign(body);  // 7bit, 8bit, binary, or unknown: the bytes as they are
    return encoding.empty() || encoding == "7bit" || encoding == "8bit" || encoding == "binary" ||
                   encoding.rfind("x-uu", 0) == 0 || encoding == "uuencode"
               ? ""
               : "unknown Content-Transfer-Encoding '" + encoding + "'";
  }
  out.reserve(encoding == "base64" ? body.size() / 4 * 3 + 3 : body.size());
  Poco::MemoryInputStream in(body.data(), body.size());
  std::unique_ptr<std::istream> decoder;
  if (encoding == "base64") {
    decoder = std::make_unique<Poco::Base64Decoder>(in);
  } else {
    decoder = std::make_unique<Poco::Net::QuotedPrintableDecoder>(in);
  }
  // Straight from the stream buffer: a decoder that throws on damage inside
  // istream::read loses the count of what it had already decoded.
  std::streambuf* buffer = decoder->rdbuf();
  try {
    for (int c = buffer->sbumpc(); c != std::char_traits<char>::eof(); c = buffer->sbumpc()) {
      out += static_cast<char>(c);
    }
  } catch (const Poco::Exception& e) {
    return encoding + " damaged after " + std::to_string(out.size()) + " bytes: " + e.displayText();
  }
  return "";
}

class Walk {
 public:
  Walk(std::string_view text, const std::vector<std::string>& where, FileVisitor& visitor)
      : text_(text), where_(where), visitor_(visitor) {}

  std::size_t files = 0;

  void run(const Entity& root, const RangeParser& parser) {
    // Depth-first, in document order, with an explicit stack: no recursion on input.
    struct Item {
      const Entity* entity;
      Range range;  // the whole part: header and body
      bool inDigest;
    };
    std::vector<Item> stack{{&root, {0, text_.size()}, false}};
    while (!stack.empty()) {
      Item item = stack.back();
      stack.pop_back();
      const Entity& e = *item.entity;
      PartInfo info = describe(e, item.inDigest);
      const auto& children = e.body().parts();
      if (info.type.rfind("multipart/", 0) == 0 && !children.empty()) {
        auto found = parser.delimiters.find(&e);
        std::vector<Item> parts;
        std::size_t k = 0;
        const std::vector<Delimiter> none;
        const auto& delims = found == parser.delimiters.end() ? none : found->second;
        for (const Entity* child : children) {
          // Child k starts after the k-th opening delimiter and ends before the next
          // delimiter of this multipart (or where this multipart ends).
          std::size_t d = 0, seen = 0;
          while (d < delims.size() && (delims[d].closing || seen++ != k)) ++d;
          Range r{item.range.end, item.range.end};
          if (d < delims.size()) {
            r.begin = delims[d].after;
            r.end = d + 1 < delims.size()
                        ? bodyEndBefore(text_.data(), r.begin, delims[d + 1].lineStart)
                        : item.range.end;
          }
          parts.push_back({child, r, info.type == "multipart/digest"});
          ++k;
        }
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) stack.push_back(*it);
        continue;
      }
      if (info.type == "message/rfc822" || info.type == "message/global") {
        attachedMessage(info, item.range);
        continue;
      }
      auto body = parser.bodies.find(&e);
      std::string prefix = e.body();  // a first body line mimetic took for a bad header
      Range r = body == parser.bodies.end() ? Range{} : body->second;
      leaf(info, prefix, text_.substr(r.begin, r.end - r.begin));
    }
  }

 private:
  void deliver(FoundFile& f) {
    f.where = where_;
    ++files;
    visitor_.onFile(f);
  }

  void attachedMessage(const PartInfo& info, Range range) {
    std::size_t begin = headerEnd(text_, range.begin, range.end);
    std::string_view inner = text_.substr(begin, range.end - begin);
    FoundFile f;
    f.name = info.name;
    f.declaredType = info.type;
    f.attachedMessage = true;
    if (!info.encoding.empty() && info.encoding != "7bit" && info.encoding != "8bit" &&
        info.encoding != "binary") {
      // Not allowed by RFC 2046 section 5.2.1, but sent: decode like any part.
      if (auto err = decodeBody(inner, info.encoding, decoded_); !err.empty()) {
        visitor_.onError(describeWhere(info) + err);
      }
      f.content = decoded_;
    } else {
      f.content = inner;
    }
    f.size = f.content.size();
    deliver(f);
  }

  void leaf(const PartInfo& info, const std::string& prefix, std::string_view body) {
    std::string_view raw = body;
    std::string joined;
    if (!prefix.empty()) {
      joined = prefix + std::string(body);
      raw = joined;
    }
    if (auto err = decodeBody(raw, info.encoding, decoded_); !err.empty()) {
      visitor_.onError(describeWhere(info) + err);
    }
    const bool isText = info.type.rfind("text/", 0) == 0 || info.type.rfind("message/", 0) == 0;
    const bool uuPart = info.encoding.rfind("x-uu", 0) == 0 || info.encoding == "uuencode";
    const bool attachment = info.disposition.value == "attachment";
    if (uuPart || (isText && info.name.empty() && !attachment)) {
      // A body text: its files are the uuencoded blocks in it.
      std::size_t n = findUuencoded(decoded_, [&](const UuFile& uu) {
        FoundFile f;
        f.name = cleanFileName(uuPart && !info.name.empty() ? info.name : uu.name);
        f.content = uu.data;
        f.size = uu.data.size();
        f.declaredType = "application/octet-stream";
        if (!uu.complete) visitor_.onError("uuencoded '" + f.name + "' ends before 'end'");
        deliver(f);
      });
      if (n > 0 || !uuPart) return;
    }
    FoundFile f;
    f.name = info.name;
    f.declaredType = info.type;
    f.content = decoded_;
    f.size = decoded_.size();
    deliver(f);
  }

  static std::string describeWhere(const PartInfo& info) {
    return "part " + (info.name.empty() ? info.type : "'" + info.name + "'") + ": ";
  }

  std::string_view text_;
  const std::vector<std::string>& where_;
  FileVisitor& visitor_;
  std::string decoded_;  // the one decoded part held at a time
};

}  // namespace

MimeWalker::MimeWalker(MimeLimits limits) : limits_(limits) {}

std::size_t MimeWalker::walk(std::string_view message, const std::vector<std::string>& where,
                             FileVisitor& visitor) const {
  if (message.substr(0, 5) == "From ") {
    // An mbox separator line ("From sender date"), as exported .eml and mbox files have:
    // not a header field, and mimetic would take it for the start of the body.
    auto nl = message.find('\n');
    message.remove_prefix(nl == std::string_view::npos ? message.size() : nl + 1);
  }
  Entity root;
  RangeParser parser(root, message, limits_);
  std::size_t attached = countNoCase(message, "rfc822");
  if (attached > kMaxAttachedMessages) {
    visitor.onError("more than " + std::to_string(kMaxAttachedMessages) +
                    " attached messages: the MIME structure was not parsed");
    parser.iMask(mimetic::imChildParts | mimetic::imPreamble | mimetic::imEpilogue);
  } else {
    parser.iMask(mimetic::imPreamble | mimetic::imEpilogue);
  }
  parser.run(message.data(), message.data() + message.size());
  if (!parser.stopReason.empty()) {
    visitor.onError(parser.stopReason + ": the rest of the message was not read");
  }
  Walk walk(message, where, visitor);
  walk.run(root, parser);
  return walk.files;
}

}  // namespace bccsink::sandbox
