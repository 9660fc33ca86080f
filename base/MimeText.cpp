#include "base/MimeText.h"

#include <Poco/Base64Decoder.h>
#include <Poco/Exception.h>
#include <Poco/MemoryStream.h>
#include <iconv.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <map>

#include "base/FileName.h"
#include "base/Text.h"

namespace bccsink {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string latin1ToUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() * 2);
  for (unsigned char c : s) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi, lo;
    if (s[i] == '%' && i + 2 < s.size() && (hi = hexValue(s[i + 1])) >= 0 &&
        (lo = hexValue(s[i + 2])) >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string qDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    int hi, lo;
    if (s[i] == '_') {
      out += ' ';
    } else if (s[i] == '=' && i + 2 < s.size() && (hi = hexValue(s[i + 1])) >= 0 &&
               (lo = hexValue(s[i + 2])) >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string bDecode(std::string_view s) {
  std::string out;
  Poco::MemoryInputStream in(s.data(), s.size());
  Poco::Base64Decoder decoder(in);
  std::streambuf* buffer = decoder.rdbuf();
  try {
    for (int c = buffer->sbumpc(); c != std::char_traits<char>::eof(); c = buffer->sbumpc()) {
      out += static_cast<char>(c);
    }
  } catch (const Poco::Exception&) {
    // A damaged encoded-word keeps what decoded before the damage.
  }
  return out;
}

}  // namespace

HeaderValue parseHeaderValue(std::string_view text) {
  HeaderValue out;
  std::size_t i = 0;
  // The value: up to the first ';' outside quotes (a quoted value there is malformed
  // but must not hide the parameters).
  std::string value;
  while (i < text.size() && text[i] != ';') value += text[i++];
  out.value = lower(trim(value));
  while (i < text.size()) {
    ++i;  // the ';'
    std::string name;
    while (i < text.size() && text[i] != '=' && text[i] != ';') name += text[i++];
    std::string key = lower(trim(name));
    if (i >= text.size() || text[i] == ';') {
      continue;  // a parameter without '=': ignored, as RFC 2045 has none
    }
    ++i;  // the '='
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::string v;
    if (i < text.size() && text[i] == '"') {
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\' && i + 1 < text.size()) ++i;  // quoted-pair
        v += text[i++];
      }
      if (i < text.size()) ++i;  // closing quote
      // Text after the closing quote: clients append it (`"file".zip`), dropping stray
      // quotes and the white space before the next parameter.
      std::string tail;
      while (i < text.size() && text[i] != ';') {
        if (text[i] != '"') tail += text[i];
        ++i;
      }
      v += trim(tail);
    } else {
      while (i < text.size() && text[i] != ';') v += text[i++];
      v = std::string(trim(v));
    }
    if (!key.empty()) out.params.emplace_back(key, v);
  }
  return out;
}

namespace {

struct Piece {
  int index;  // -1 for name*= (RFC 2231 section 4)
  std::string text;
  bool encoded;
};

// The RFC 2231 pieces and the plain values of parameter `base` in `params`.
void gather(const HeaderValue& header, const std::string& base, std::vector<Piece>& pieces,
            std::vector<std::string>& plain) {
  for (const auto& [key, value] : header.params) {
    if (key == base) {
      plain.push_back(value);
      continue;
    }
    if (key.size() <= base.size() || key.compare(0, base.size(), base) != 0 ||
        key[base.size()] != '*') {
      continue;
    }
    std::string rest = key.substr(base.size() + 1);
    bool encoded = !rest.empty() && rest.back() == '*';
    if (encoded) rest.pop_back();
    if (rest.empty()) {
      pieces.push_back({-1, value, true});
      continue;
    }
    if (rest.size() > 4 || !std::all_of(rest.begin(), rest.end(), ::isdigit)) continue;
    pieces.push_back({std::stoi(rest), value, encoded});
  }
}

// Joins `pieces` in the order given: the first encoded piece's charset'language' prefix
// names the charset (RFC 2231 section 4.1).
std::string join(const std::vector<const Piece*>& pieces) {
  std::string charset, bytes;
  bool first = true;
  for (const Piece* piece : pieces) {
    std::string_view text = piece->text;
    if (first && piece->encoded) {
      auto q1 = text.find('\'');
      auto q2 = q1 == std::string_view::npos ? q1 : text.find('\'', q1 + 1);
      if (q2 != std::string_view::npos) {
        charset = std::string(text.substr(0, q1));
        text.remove_prefix(q2 + 1);
      }
    }
    first = false;
    bytes += piece->encoded ? percentDecode(text) : std::string(text);
  }
  return toUtf8(bytes, charset.empty() ? "utf-8" : charset);
}

// name*= alone, else the numbered pieces present in index order (a gap or a repeated
// index does not stop it: clients join what is there).
std::string indexOrder(const std::vector<Piece>& pieces) {
  std::map<int, const Piece*> byIndex;
  for (const auto& p : pieces) byIndex.emplace(p.index, &p);
  if (auto single = byIndex.find(-1); single != byIndex.end()) return join({single->second});
  std::vector<const Piece*> ordered;
  for (const auto& [index, p] : byIndex) ordered.push_back(p);
  return join(ordered);
}

}  // namespace

std::string paramText(const HeaderValue& header, std::string_view name) {
  const std::string base = lower(name);
  std::vector<Piece> pieces;
  std::vector<std::string> plain;
  gather(header, base, pieces, plain);
  if (pieces.empty()) return plain.empty() ? "" : decodeEncodedWords(plain.front());
  return indexOrder(pieces);
}

std::string paramValue(const HeaderValue& header, std::string_view name) {
  return cleanFileName(paramText(header, name));
}

std::vector<std::string> paramCandidates(const std::vector<HeaderValue>& headers,
                                         std::string_view name) {
  const std::string base = lower(name);
  std::vector<std::string> out;
  auto add = [&](const std::string& value) {
    std::string v = cleanFileName(value);
    if (!v.empty() && std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  };
  std::vector<Piece> pieces;
  std::vector<std::string> plain;
  for (const auto& h : headers) gather(h, base, pieces, plain);
  // First the RFC 2231 value from the pieces of every instance (a value split over two
  // Content-Type lines), then the first instance's own reading.
  if (!pieces.empty()) add(indexOrder(pieces));
  for (const auto& h : headers) {
    if (std::string first = paramValue(h, name); !first.empty()) {
      add(first);
      break;
    }
  }
  if (!pieces.empty()) {
    std::vector<const Piece*> documentOrder;
    for (const auto& p : pieces) {
      if (p.index >= 0) documentOrder.push_back(&p);
    }
    if (!documentOrder.empty()) add(join(documentOrder));
  }
  for (const auto& p : plain) add(decodeEncodedWords(p));
  // 'file.zip': clients that strip the single quotes show file.zip; that reading first.
  if (!out.empty() && out[0].size() > 2 && out[0].front() == '\'' && out[0].back() == '\'') {
    out.insert(out.begin(), out[0].substr(1, out[0].size() - 2));
  }
  for (std::size_t i = 1, n = out.size(); i < n; ++i) {
    const std::string v = out[i];
    if (v.size() > 2 && v.front() == '\'' && v.back() == '\'') add(v.substr(1, v.size() - 2));
  }
  return out;
}

// The longest encoded-word read: RFC 2047 allows 75 characters, senders write longer ones.
constexpr std::size_t kMaxEncodedWord = 1024;

std::string decodeEncodedWords(std::string_view text) {
  std::string out;
  std::string pendingSpace;  // white space after an encoded-word, dropped if another follows
  bool lastWasEncoded = false;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "=?") == 0) {
      // =?charset?E?text?=
      // An encoded-word is at most 75 characters (RFC 2047 section 2); lenient readers go
      // further, but not to the end of the text for every "=?" (quadratic on hostile text).
      const auto word = text.substr(i, kMaxEncodedWord);
      auto q1 = word.find('?', 2);
      auto q2 = q1 == std::string_view::npos ? q1 : word.find('?', q1 + 1);
      auto endInWord = q2 == std::string_view::npos ? q2 : word.find("?=", q2 + 1);
      if (q1 != std::string_view::npos) q1 += i;
      if (q2 != std::string_view::npos) q2 += i;
      auto end = endInWord == std::string_view::npos ? endInWord : endInWord + i;
      if (end != std::string_view::npos && q2 == q1 + 2) {
        std::string charset(text.substr(i + 2, q1 - i - 2));
        if (auto star = charset.find('*'); star != std::string::npos) charset.resize(star);
        const std::string enc = upper(text.substr(q1 + 1, 1));
        auto payload = text.substr(q2 + 1, end - q2 - 1);
        if ((enc == "B" || enc == "Q") && payload.find(' ') == std::string_view::npos) {
          std::string bytes = enc == "B" ? bDecode(payload) : qDecode(payload);
          if (!lastWasEncoded) out += pendingSpace;
          pendingSpace.clear();
          out += toUtf8(bytes, charset);
          lastWasEncoded = true;
          i = end + 2;
          continue;
        }
      }
    }
    if (text[i] == ' ' || text[i] == '\t' || text[i] == '\r' || text[i] == '\n') {
      pendingSpace += text[i] == '\t' ? '\t' : ' ';
      ++i;
      continue;
    }
    out += pendingSpace;
    pendingSpace.clear();
    lastWasEncoded = false;
    out += text[i++];
  }
  out += pendingSpace;
  return out;
}

std::string toUtf8(std::string_view bytes, std::string_view charset) {
  std::string cs = lower(trim(charset));
  if (cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" || cs == "ascii") {
    return utf8OrLatin1(bytes);
  }
  if ((cs == "utf-16" || cs == "utf16") && bytes.size() >= 2) {
    const auto b0 = static_cast<unsigned char>(bytes[0]), b1 = static_cast<unsigned char>(bytes[1]);
    if (!((b0 == 0xFE && b1 == 0xFF) || (b0 == 0xFF && b1 == 0xFE))) {
      // No byte-order mark: glibc would read the host's order. ASCII text shows its order
      // by where the zero bytes are; without that hint RFC 2781 section 4.3 says big-endian.
      std::size_t evenZeros = 0, oddZeros = 0;
      for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] == '\0') ++(i % 2 == 0 ? evenZeros : oddZeros);
      }
      cs = oddZeros > evenZeros ? "utf-16le" : "utf-16be";
    }
  }
  iconv_t cd = iconv_open("UTF-8", cs.c_str());
  if (cd == reinterpret_cast<iconv_t>(-1)) {
    return utf8OrLatin1(bytes);
  }
  std::string out(bytes.size() * 4 + 16, '\0');
  char* in = const_cast<char*>(bytes.data());
  std::size_t inLeft = bytes.size();
  char* outPtr = out.data();
  std::size_t outLeft = out.size();
  bool ok = true;
  while (inLeft > 0) {
    if (iconv(cd, &in, &inLeft, &outPtr, &outLeft) == static_cast<std::size_t>(-1)) {
      ok = false;
      break;
    }
  }
  if (ok) iconv(cd, nullptr, nullptr, &outPtr, &outLeft);
  iconv_close(cd);
  if (!ok) return utf8OrLatin1(bytes);
  out.resize(out.size() - outLeft);
  return out;
}

std::string utf8OrLatin1(std::string_view bytes) {
  return isValidUtf8(bytes) ? std::string(bytes) : latin1ToUtf8(bytes);
}

}  // namespace bccsink
