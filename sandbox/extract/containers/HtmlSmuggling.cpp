// See HtmlSmuggling.h.
#include "sandbox/extract/containers/HtmlSmuggling.h"

#include <array>
#include <string>

#include "sandbox/extract/containers/ContainerOutput.h"

namespace bccsink::sandbox {
namespace {

// 0..63 for the standard and URL-safe alphabets, 64 for '=', 255 otherwise.
constexpr std::array<unsigned char, 256> makeTable() {
  std::array<unsigned char, 256> t{};
  for (auto& v : t) v = 255;
  const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (int i = 0; i < 64; ++i)
    t[static_cast<unsigned char>(alphabet[i])] = static_cast<unsigned char>(i);
  t['-'] = 62;
  t['_'] = 63;
  t['='] = 64;
  return t;
}
constexpr auto kTable = makeTable();

bool isBase64(char c) {
  return kTable[static_cast<unsigned char>(c)] != 255;
}
bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}

// Decodes base64 characters, skipping '=' and anything outside the alphabet (RFC 4648
// section 3.3 lets a reader do so; browsers' atob tolerates missing padding).
std::string decode(std::string_view text) {
  std::string out;
  out.reserve(text.size() / 4 * 3 + 3);
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    unsigned char v = kTable[static_cast<unsigned char>(c)];
    if (v >= 64) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

bool startsWithNoCase(std::string_view s, std::size_t at, std::string_view word) {
  if (s.size() - at < word.size()) return false;
  for (std::size_t k = 0; k < word.size(); ++k) {
    char c = s[at + k];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[k]) return false;
  }
  return true;
}

class Scanner {
 public:
  Scanner(std::string_view s, ContainerOutput& out) : s_(s), out_(out) {}

  void run() {
    std::size_t i = 0;
    while (i < s_.size() && out_.more()) {
      char c = s_[i];
      if ((c == 'd' || c == 'D') && startsWithNoCase(s_, i, "data:")) {
        i = dataUri(i);
      } else if (c == '"' || c == '\'' || c == '`') {
        i = literalChain(i);
      } else {
        ++i;
      }
    }
  }

 private:
  // `data:` at i. Returns where scanning goes on.
  std::size_t dataUri(std::size_t i) {
    std::size_t header = i + 5;
    std::size_t comma = header;
    // A media type with parameters is short; a long run without a comma is no data URI.
    while (comma < s_.size() && comma - header < 256 && s_[comma] != ',' && s_[comma] != '"' &&
           s_[comma] != '\'' && s_[comma] != '>' && !isSpace(s_[comma]))
      ++comma;
    if (comma >= s_.size() || s_[comma] != ',') return header;
    std::string_view params = s_.substr(header, comma - header);
    bool base64 = false;
    for (std::size_t k = 0; k + 7 <= params.size(); ++k)
      if (startsWithNoCase(params, k, ";base64")) base64 = true;
    if (!base64) return comma + 1;
    std::size_t end = comma + 1;
    while (end < s_.size() && (isBase64(s_[end]) || isSpace(s_[end]))) ++end;
    emit(s_.substr(comma + 1, end - comma - 1), i, end);
    return end;
  }

  // A quote at i: the literal's base64 content, or npos when it is not such a literal.
  // Sets `end` past the closing quote.
  bool literal(std::size_t i, std::string& into, std::size_t& end) {
    const char quote = s_[i];
    std::size_t k = i + 1;
    while (k < s_.size()) {
      char c = s_[k];
      if (c == quote) {
        end = k + 1;
        return true;
      }
      if (isBase64(c) || c == '\n' || c == '\r') {
        if (isBase64(c)) into.push_back(c);
        ++k;
      } else if (c == '\\' && k + 1 < s_.size() &&
                 (s_[k + 1] == 'n' || s_[k + 1] == 'r' || s_[k + 1] == '\n' || s_[k + 1] == '\r')) {
        k += 2;
      } else {
        return false;
      }
    }
    return false;
  }

  std::size_t skipSpace(std::size_t k) const {
    while (k < s_.size() && isSpace(s_[k])) ++k;
    return k;
  }

  // One literal or several joined by '+' or ','. Returns where scanning goes on.
  std::size_t literalChain(std::size_t i) {
    std::string blob;
    std::size_t end = 0;
    if (!literal(i, blob, end)) return i + 1;
    for (;;) {
      std::size_t k = skipSpace(end);
      if (k >= s_.size() || (s_[k] != '+' && s_[k] != ',')) break;
      k = skipSpace(k + 1);
      if (k >= s_.size() || (s_[k] != '"' && s_[k] != '\'' && s_[k] != '`')) break;
      std::size_t before = blob.size();
      std::size_t next = 0;
      if (!literal(k, blob, next)) {
        blob.resize(before);
        break;
      }
      end = next;
    }
    emit(blob);
    return end;
  }

  // The `download="name"` attribute of the tag around [from, to) (an <a> whose href is the
  // data URI): the name the browser saves the file under. Looked for within 4 KiB on each
  // side, inside the tag's angle brackets only.
  std::string downloadName(std::size_t from, std::size_t to) const {
    // Windows, not whole-input searches: the scan stays linear with many data URIs.
    const std::size_t back = from > 4096 ? from - 4096 : 0;
    std::size_t lt = s_.substr(back, from - back).rfind('<');
    if (lt == std::string_view::npos) return {};
    lt += back;
    std::size_t gt = s_.substr(to, 4096).find('>');
    if (gt == std::string_view::npos) return {};
    gt += to;
    std::string_view tag = s_.substr(lt, gt - lt);
    for (std::size_t k = 0; k + 9 < tag.size(); ++k) {
      if (!startsWithNoCase(tag, k, "download") || (k > 0 && !isSpace(tag[k - 1]))) continue;
      std::size_t v = k + 8;
      while (v < tag.size() && isSpace(tag[v])) ++v;
      if (v >= tag.size() || tag[v] != '=') continue;
      ++v;
      while (v < tag.size() && isSpace(tag[v])) ++v;
      if (v >= tag.size()) return {};
      const char quote = tag[v];
      if (quote != '"' && quote != '\'') return {};
      std::size_t close = tag.find(quote, v + 1);
      if (close == std::string_view::npos) return {};
      return std::string(tag.substr(v + 1, close - v - 1));
    }
    return {};
  }

  // [uriFrom, uriTo): the data URI the blob came from, npos for a string literal. Its
  // download name is looked for only once the blob is handed on (at most maxMembers times).
  void emit(std::string_view text, std::size_t uriFrom = std::string_view::npos,
            std::size_t uriTo = 0) {
    // 4 characters make 3 bytes: skip the decoding of what is surely too short.
    if (text.size() / 4 * 3 + 3 < out_.limits().minSmuggledBytes) return;
    std::string bytes = decode(text);
    if (bytes.size() < out_.limits().minSmuggledBytes || !out_.more()) return;
    ++found_;
    std::string name = uriFrom == std::string_view::npos ? "" : downloadName(uriFrom, uriTo);
    out_.file(name.empty() ? "smuggled-" + std::to_string(found_) + ".bin" : name, bytes);
  }

  std::string_view s_;
  ContainerOutput& out_;
  std::size_t found_ = 0;
};

}  // namespace

std::size_t walkHtmlSmuggling(std::string_view bytes, const FoundFile& container,
                              const ContainerLimits& limits, FileVisitor& visitor) {
  ContainerOutput out(container, limits, visitor);
  try {
    Scanner(bytes, out).run();
  } catch (const std::exception& e) {  // std::bad_alloc: keep what was handed on
    out.error(std::string("HTML smuggling scan stopped: ") + e.what());
  }
  return out.count();
}

}  // namespace bccsink::sandbox
