// Scanner for Received header values: tokens, the from clause's comments, and the clauses
// after "by". Linear time, bounded memory per input byte, no recursion.

#include "report/spoof/ReceivedHeader.h"

#include <algorithm>
#include <optional>

#include "base/Text.h"
#include "report/spoof/AddressClass.h"

namespace bccsink::report {

namespace {

enum class Kind { Word, Comment, Semicolon };

// A word's span, or a comment's content span (parentheses excluded, nested ones kept).
struct Token {
  Kind kind;
  std::size_t begin;
  std::size_t end;
};

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// Top-level words, comments and semicolons. RFC 5322 section 3.2.2: comments nest and a
// backslash quotes the next character. An unclosed comment runs to the end, so whatever
// it swallowed is still scanned for addresses. Quoted strings are deliberately not
// recognised at the top level: a client's HELO is copied verbatim into the from clause
// and a stray '"' in it must not hide the MTA's own comment that follows.
std::vector<Token> tokenize(std::string_view s, bool& unclosed) {
  std::vector<Token> out;
  unclosed = false;
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    char c = s[i];
    if (isSpace(c)) {
      ++i;
    } else if (c == ';') {
      out.push_back({Kind::Semicolon, i, i + 1});
      ++i;
    } else if (c == '(') {
      std::size_t begin = ++i;
      std::size_t depth = 1;
      while (i < n) {
        if (s[i] == '\\') {
          i += 2;
          continue;
        }
        if (s[i] == '(') {
          ++depth;
        } else if (s[i] == ')' && --depth == 0) {
          break;
        }
        ++i;
      }
      if (i >= n) {
        out.push_back({Kind::Comment, begin, n});
        unclosed = true;
        i = n;
      } else {
        out.push_back({Kind::Comment, begin, i});
        ++i;
      }
    } else {
      std::size_t begin = i;
      while (i < n && !isSpace(s[i]) && s[i] != '(' && s[i] != ';') ++i;
      out.push_back({Kind::Word, begin, i});
    }
  }
  return out;
}

// Whitespace runs (folding included) become one space; ends trimmed.
std::string collapse(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (isSpace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::string stripTrailingDot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return std::string(s);
}

// What the comments of the from clause say about the client.
struct ClauseScan {
  std::vector<std::string> addresses;
  std::string helo;     // from "helo=" (Exim) or "(HELO x)" (qmail)
  std::string reverse;  // word before the first address literal (Postfix, Sendmail, Gmail)
};

// A word inside a comment, split at whitespace and parentheses. `alone` when nothing but
// whitespace separates it from the parentheses around it: "(203.0.113.9)".
struct CommentWord {
  std::string_view text;
  bool alone;
};

// The comment's content spans to its closing parenthesis (or the end, if unclosed); the
// content's ends count as parentheses.
std::vector<CommentWord> commentWords(std::string_view content) {
  std::vector<CommentWord> words;
  std::size_t i = 0;
  bool afterParen = true;
  while (i < content.size()) {
    while (i < content.size() && (isSpace(content[i]) || content[i] == '(' || content[i] == ')')) {
      if (content[i] == '(' || content[i] == ')') afterParen = true;
      ++i;
    }
    std::size_t begin = i;
    while (i < content.size() && !isSpace(content[i]) && content[i] != '(' && content[i] != ')') {
      ++i;
    }
    if (i == begin) break;
    std::size_t next = i;
    while (next < content.size() && isSpace(content[next])) ++next;
    bool beforeParen = next == content.size() || content[next] == '(' || content[next] == ')';
    words.push_back({content.substr(begin, i - begin), afterParen && beforeParen});
    afterParen = false;
  }
  return words;
}

// Collects the addresses of one top-level comment of the from clause, nested comments
// included: a comment left open by a hostile HELO swallows the MTA's own comment, which
// must still be found.
void scanComment(std::string_view content, ClauseScan& scan) {
  auto words = commentWords(content);
  // qmail: "(HELO mail.example.net)", exactly two words; its address is in a separate
  // comment. A longer comment starting "HELO" is a HELO's imitation and is scanned.
  if (words.size() == 2 && equalsNoCase(words.front().text, "HELO")) {
    if (scan.helo.empty()) scan.helo = std::string(words[1].text);
    return;
  }
  bool literal = false;
  for (std::size_t w = 0; w < words.size(); ++w) {
    std::string_view word = words[w].text;
    // Exim: "([192.0.2.1]:1234 helo=mail.example.net)". The HELO is the client's word,
    // even when it is an address literal, so it never counts as the connecting address.
    if (startsWithNoCase(word, "helo=")) {
      if (scan.helo.empty()) scan.helo = std::string(word.substr(5));
      continue;
    }
    // "[192.0.2.1]", "[IPv6:2001:db8::1]", "[192.0.2.1]:1234", "[fe80::1%5]".
    auto open = word.find('[');
    auto close = open == std::string_view::npos ? open : word.find(']', open);
    if (close != std::string_view::npos) {
      auto address = normalizeAddress(word.substr(open, close - open + 1));
      if (!address) continue;
      if (!literal && w > 0 && scan.reverse.empty() &&
          words[w - 1].text.find('[') == std::string_view::npos &&
          !startsWithNoCase(words[w - 1].text, "helo=") &&
          !equalsNoCase(words[w - 1].text, "HELO")) {
        // Sendmail writes "IDENT:user@host"; Gmail ends the name with a dot.
        std::string_view name = words[w - 1].text;
        if (auto at = name.rfind('@'); at != std::string_view::npos) name = name.substr(at + 1);
        scan.reverse = stripTrailingDot(name);
      }
      literal = true;
      scan.addresses.push_back(*address);
    } else if (words[w].alone) {
      // Exchange "(203.0.113.9)", "(2603:10a6:208:122::25)"; qmail "(user@203.0.113.9)".
      if (auto at = word.rfind('@'); at != std::string_view::npos) word = word.substr(at + 1);
      if (auto address = normalizeAddress(word)) scan.addresses.push_back(*address);
    }
  }
}

bool isWord(std::string_view s, const Token& t, std::string_view word) {
  return t.kind == Kind::Word && equalsNoCase(s.substr(t.begin, t.end - t.begin), word);
}

bool isKeyword(std::string_view s, const Token& t) {
  for (std::string_view k : {"from", "by", "via", "with", "id", "for"}) {
    if (isWord(s, t, k)) return true;
  }
  return false;
}

std::string text(std::string_view s, const Token& t) {
  return std::string(s.substr(t.begin, t.end - t.begin));
}

// "by", "with", "id", "for" after the by keyword at `by`.
void parseTail(std::string_view s, const std::vector<Token>& tokens, std::size_t by,
               std::size_t end, ReceivedHeader& out) {
  if (by + 1 < end && tokens[by + 1].kind == Kind::Word && !isKeyword(s, tokens[by + 1])) {
    out.by = text(s, tokens[by + 1]);
  }
  for (std::size_t k = by + 1; k < end; ++k) {
    const Token& t = tokens[k];
    bool hasNext = k + 1 < end && tokens[k + 1].kind == Kind::Word;
    if (isWord(s, t, "with") && out.with.empty()) {
      // Up to the next comment or keyword: "with Microsoft SMTP Server (version=...)".
      for (std::size_t j = k + 1; j < end; ++j) {
        if (tokens[j].kind != Kind::Word || isKeyword(s, tokens[j])) break;
        if (!out.with.empty()) out.with += ' ';
        out.with += text(s, tokens[j]);
      }
    } else if (isWord(s, t, "id") && hasNext && out.id.empty()) {
      out.id = text(s, tokens[k + 1]);
    } else if (isWord(s, t, "for") && hasNext && out.forAddress.empty()) {
      std::string_view f = s.substr(tokens[k + 1].begin, tokens[k + 1].end - tokens[k + 1].begin);
      if (!f.empty() && f.front() == '<') f.remove_prefix(1);
      if (!f.empty() && f.back() == '>') f.remove_suffix(1);
      out.forAddress = std::string(f);
    }
  }
}

}  // namespace

ReceivedHeader parseReceived(std::string_view value) {
  ReceivedHeader out;
  bool unclosed = false;
  auto tokens = tokenize(value, unclosed);

  // RFC 5322 section 3.6.7: the date follows the last ';'.
  std::size_t end = tokens.size();
  for (std::size_t k = tokens.size(); k-- > 0;) {
    if (tokens[k].kind == Kind::Semicolon) {
      end = k;
      out.date = collapse(value.substr(tokens[k].end));
      break;
    }
  }

  // Leading comments such as Sendmail's "(from user@localhost)" or qmail's
  // "(qmail 123 invoked from network)" carry no connecting address.
  std::size_t first = 0;
  while (first < end && tokens[first].kind == Kind::Comment) ++first;
  bool hasFrom = first < end && isWord(value, tokens[first], "from");
  std::size_t clauseBegin = hasFrom ? first + 1 : first;

  // The from clause ends at the LAST top-level "by". A client may put spaces and the word
  // "by" into its HELO (Postfix copies a multi-word HELO verbatim), but it cannot write
  // after the receiving MTA's own "by". If the HELO leaves a comment open, the MTA's text
  // is inside it and no "by" can be trusted, so the clause runs to the end.
  std::size_t by = end;
  for (std::size_t k = end; k-- > clauseBegin;) {
    if (isWord(value, tokens[k], "by")) {
      by = k;
      break;
    }
  }

  if (hasFrom) {
    ClauseScan scan;
    std::size_t clauseEnd = unclosed ? tokens.size() : by;
    if (clauseBegin < clauseEnd && tokens[clauseBegin].kind == Kind::Word) {
      out.fromName = text(value, tokens[clauseBegin]);
    }
    for (std::size_t k = clauseBegin; k < clauseEnd; ++k) {
      if (tokens[k].kind == Kind::Comment) {
        scanComment(value.substr(tokens[k].begin, tokens[k].end - tokens[k].begin), scan);
      }
    }
    // Exim without a reverse name: "from [203.0.113.9] (helo=x)".
    if (scan.addresses.empty()) {
      if (auto address = normalizeAddress(out.fromName)) scan.addresses.push_back(*address);
    }
    out.addresses = std::move(scan.addresses);
    if (!out.addresses.empty()) out.ip = out.addresses.back();
    out.helo = scan.helo.empty() ? out.fromName : scan.helo;
    out.reverseName = scan.reverse;
    // Exim and qmail name the host by its reverse name and give the HELO separately.
    if (out.reverseName.empty() && !scan.helo.empty() && !out.fromName.empty() &&
        out.fromName.front() != '[') {
      out.reverseName = stripTrailingDot(out.fromName);
    }
  }
  if (by < end) parseTail(value, tokens, by, end, out);
  // What a sender wrote reaches reports, the API and the dashboard: every text field is
  // one printable line of at most 255 bytes (the address is canonical already).
  for (auto* field : {&out.fromName, &out.helo, &out.reverseName, &out.by, &out.with, &out.id,
                      &out.forAddress, &out.date}) {
    *field = printableHop(*field, 255);
  }
  return out;
}

std::string printableHop(std::string_view value, std::size_t max) {
  return printableAscii(collapse(value), max);
}

}  // namespace bccsink::report
