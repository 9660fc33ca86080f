#include "sandbox/extract/PasswordCandidates.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <exception>
#include <set>
#include <utility>

#include "base/MimeText.h"
#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

// Bounds: the reading of the text is a side path, it must stay cheap on any message.
constexpr std::size_t kMaxText = 256 * 1024;  // decoded text read, all parts together
constexpr std::size_t kMaxParts = 200;
constexpr std::size_t kMaxDepth = 8;
constexpr std::size_t kMaxWord = 64;

// The word for "password" in the languages phishing mails are written in, lowercase (the
// text is lowered for ASCII and for Cyrillic's capital first letter below).
constexpr std::array<std::string_view, 22> kKeywords = {
    "password", "passwort", "kennwort", "mot de passe", "contraseña", "contrasena",
    "senha",    "parola",   "пароль",   "wachtwoord",   "hasło",      "haslo",
    "heslo",    "lösenord", "passord",  "salasana",     "jelszó",     "şifre",
    "sifre",    "密码",     "pwd",      "pass"};

std::pair<std::string_view, std::string_view> splitHead(std::string_view part) {
  for (std::size_t i = 0; i < part.size(); ++i) {
    if (part[i] != '\n') continue;
    std::size_t j = i + 1;
    if (j < part.size() && part[j] == '\r') ++j;
    if (j < part.size() && part[j] == '\n') return {part.substr(0, i), part.substr(j + 1)};
    if (i == 0) return {{}, part.substr(1)};
  }
  return {part, {}};
}

// The unfolded value of the first header `name` (RFC 5322 section 2.2.3), or "".
std::string header(std::string_view head, std::string_view name) {
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t end = head.find('\n', pos);
    if (end == std::string_view::npos) end = head.size();
    std::string_view line = head.substr(pos, end - pos);
    if (line.size() > name.size() && line[name.size()] == ':' && startsWithNoCase(line, name)) {
      std::string value(line.substr(name.size() + 1));
      pos = end + 1;
      while (pos < head.size() && (head[pos] == ' ' || head[pos] == '\t')) {
        end = head.find('\n', pos);
        if (end == std::string_view::npos) end = head.size();
        value += " ";
        value += head.substr(pos, end - pos);
        pos = end + 1;
      }
      std::erase(value, '\r');
      return std::string(trim(value));
    }
    pos = end + 1;
  }
  return {};
}

int base64Value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// RFC 2045 section 6.8: what is outside the alphabet is ignored.
std::string fromBase64(std::string_view text) {
  std::string out;
  unsigned bits = 0;
  int count = 0;
  for (unsigned char c : text) {
    int v = base64Value(c);
    if (v < 0) continue;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xff);
    }
  }
  return out;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string fromQuotedPrintable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out += text[i];
      continue;
    }
    if (i + 2 < text.size() && hexValue(text[i + 1]) >= 0 && hexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
      i += 2;
    } else if (i + 1 < text.size() && (text[i + 1] == '\r' || text[i + 1] == '\n')) {
      ++i;  // soft line break
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else {
      out += '=';
    }
  }
  return out;
}

// Tags become spaces; the few entities a password line may hold are read. One pass, and
// at most kMaxText of the page: a page of a million entities must not cost more.
std::string htmlText(std::string_view html) {
  html = html.substr(0, kMaxText);
  static constexpr std::pair<std::string_view, std::string_view> kEntities[] = {
      {"&nbsp;", " "}, {"&quot;", "\""}, {"&#58;", ":"}, {"&amp;", "&"}};
  std::string out;
  bool inTag = false;
  for (std::size_t i = 0; i < html.size(); ++i) {
    const char c = html[i];
    if (c == '<') {
      inTag = true;
    } else if (c == '>' && inTag) {
      inTag = false;
      out += ' ';
    } else if (inTag) {
      continue;
    } else if (c == '&') {
      bool replaced = false;
      for (auto [entity, text] : kEntities) {
        if (html.substr(i).starts_with(entity)) {
          out += text;
          i += entity.size() - 1;
          replaced = true;
          break;
        }
      }
      if (!replaced) out += c;
    } else {
      out += c;
    }
  }
  return out;
}

class TextReader {
 public:
  std::string text;

  void part(std::string_view bytes, std::size_t depth) {
    if (depth > kMaxDepth || ++parts_ > kMaxParts || text.size() >= kMaxText) return;
    auto [head, body] = splitHead(bytes);
    auto type = parseHeaderValue(header(head, "Content-Type"));
    if (type.value.empty()) type.value = "text/plain";
    if (type.value.starts_with("multipart/")) {
      multipart(body, paramValue(type, "boundary"), depth);
    } else if (type.value == "message/rfc822") {
      part(body, depth + 1);
    } else if (type.value == "text/plain" || type.value == "text/html") {
      const std::string cte = lower(trim(header(head, "Content-Transfer-Encoding")));
      std::string decoded = cte.starts_with("base64")             ? fromBase64(body)
                            : cte.starts_with("quoted-printable") ? fromQuotedPrintable(body)
                                                                  : std::string(body);
      std::string utf8 = toUtf8(decoded, paramValue(type, "charset"));
      if (type.value == "text/html") utf8 = htmlText(utf8);
      text += utf8.substr(0, kMaxText - text.size());
      text += '\n';
    }
  }

 private:
  void multipart(std::string_view body, const std::string& boundary, std::size_t depth) {
    if (boundary.empty()) return;
    const std::string delimiter = "--" + boundary;
    std::size_t start = std::string_view::npos;
    std::size_t pos = 0;
    while (pos < body.size()) {
      std::size_t end = body.find('\n', pos);
      if (end == std::string_view::npos) end = body.size();
      std::string_view line = body.substr(pos, end - pos);
      if (line.starts_with(delimiter)) {
        if (start != std::string_view::npos) part(body.substr(start, pos - start), depth + 1);
        if (line.substr(delimiter.size()).starts_with("--")) return;
        start = end + 1;
      }
      pos = end + 1;
    }
    if (start != std::string_view::npos && start < body.size()) {
      part(body.substr(start), depth + 1);
    }
  }

  std::size_t parts_ = 0;
};

// ASCII lowercase, and the capitals of the Cyrillic and Latin-1 letters the keywords use.
std::string folded(std::string_view text) {
  std::string out = lower(text);
  for (auto [upper, lowerCase] : {std::pair<std::string_view, std::string_view>{"П", "п"},
                                  {"Ñ", "ñ"},
                                  {"Ö", "ö"},
                                  {"Ł", "ł"},
                                  {"Ş", "ş"}}) {
    for (std::size_t at = out.find(upper); at != std::string::npos;
         at = out.find(upper, at + lowerCase.size())) {
      out.replace(at, upper.size(), lowerCase);
    }
  }
  return out;
}

bool isSpace(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

// What surrounds a password in prose: quotes, brackets, the sentence's full stop.
std::string_view stripPunctuation(std::string_view word) {
  constexpr std::string_view kOpen = "\"'([{<*`";
  constexpr std::string_view kClose = "\"')]}>*`.,;:!?";
  while (!word.empty() && kOpen.find(word.front()) != std::string_view::npos) word.remove_prefix(1);
  while (!word.empty() && kClose.find(word.back()) != std::string_view::npos) word.remove_suffix(1);
  // Typographic quotes « » “ ” ‘ ’ (UTF-8).
  for (std::string_view q : {"«", "»", "“", "”", "„", "‘", "’"}) {
    if (word.starts_with(q)) word.remove_prefix(q.size());
    if (word.ends_with(q)) word.remove_suffix(q.size());
  }
  return word;
}

// Words beyond what can be tried are not collected: the list stays small, so the look for
// a repeat stays cheap.
void add(std::vector<std::string>& words, std::string_view word) {
  if (word.empty() || word.size() > kMaxWord || words.size() >= PasswordCandidates::kMaxFromMessage)
    return;
  if (std::find(words.begin(), words.end(), word) == words.end()) words.emplace_back(word);
}

}  // namespace

std::string PasswordCandidates::bodyText(std::string_view message) {
  TextReader reader;
  reader.part(message, 0);
  return reader.text;
}

namespace {

// `after`: the words that follow a keyword; `other`: short words with a digit in them.
void scan(std::string_view text, std::vector<std::string>& after, std::vector<std::string>& other) {
  // The folding keeps every byte offset (each capital it lowers has a lowercase of the
  // same length), so a word found in `low` is cut from `text` as written.
  const std::string low = folded(text);
  const std::string_view source = low.size() == text.size() ? text : std::string_view(low);
  for (std::string_view keyword : kKeywords) {
    for (std::size_t at = low.find(keyword); at != std::string::npos;
         at = low.find(keyword, at + 1)) {
      std::size_t i = at + keyword.size();
      // "password:", "password is", "Passwort =", "пароль -", "(password: ...)".
      while (i < low.size() && std::isalpha(static_cast<unsigned char>(low[i]))) ++i;
      for (;;) {
        while (i < low.size() &&
               (isSpace(low[i]) || low[i] == ':' || low[i] == '=' || low[i] == '-')) {
          ++i;
        }
        bool skipped = false;
        // A filler word ("is", "lautet") is followed by white space or a colon.
        for (std::string_view filler : {"is", "est", "ist", "lautet", "es", "é", "è", "e", "for",
                                        "to open", "for the file", "to the archive"}) {
          const std::size_t end = i + filler.size();
          if (std::string_view(low).substr(i).starts_with(filler) && end < low.size() &&
              (isSpace(low[end]) || low[end] == ':')) {
            i = end;
            skipped = true;
            break;
          }
        }
        if (!skipped) break;
      }
      std::size_t end = i;
      while (end < low.size() && !isSpace(low[end])) ++end;
      if (end == i) continue;
      std::string_view word = std::string_view(source).substr(i, end - i);
      add(after, stripPunctuation(word));
      add(after, word);
    }
  }
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && isSpace(text[i])) ++i;
    std::size_t end = i;
    while (end < text.size() && !isSpace(text[end])) ++end;
    std::string_view word = stripPunctuation(text.substr(i, end - i));
    if (word.size() >= 3 && word.size() <= 32 &&
        std::any_of(word.begin(), word.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      add(other, word);
    }
    i = end;
  }
}

}  // namespace

std::vector<std::string> PasswordCandidates::wordsIn(std::string_view text) {
  std::vector<std::string> after, other;
  scan(text, after, other);
  for (auto& w : other) add(after, w);
  return after;
}

std::vector<ArchivePassword> PasswordCandidates::of(std::string_view message,
                                                    const std::vector<std::string>& configured) {
  std::vector<ArchivePassword> out;
  std::set<std::string> seen;
  auto take = [&](const std::vector<std::string>& words, const std::string& source) {
    for (const auto& w : words) {
      if (out.size() >= kMaxFromMessage) return;
      if (seen.insert(w).second) out.push_back({w, source});
    }
  };
  try {
    auto [head, body] = splitHead(message);
    const std::string subject = decodeEncodedWords(header(head, "Subject").substr(0, kMaxText));
    const std::string text = bodyText(message);
    // Keyword hits first, from either place, then the other words.
    std::vector<std::string> subjectAfter, subjectOther, bodyAfter, bodyOther;
    scan(subject, subjectAfter, subjectOther);
    scan(text, bodyAfter, bodyOther);
    take(subjectAfter, "the subject");
    take(bodyAfter, "the message body");
    take(subjectOther, "the subject");
    take(bodyOther, "the message body");
  } catch (const std::exception&) {
    // The message's own words are a bonus; the configured list is still tried.
  }
  for (const auto& w : configured) {
    if (!w.empty() && seen.insert(w).second) out.push_back({w, "BccArchivePasswords"});
  }
  return out;
}

}  // namespace bccsink::sandbox
