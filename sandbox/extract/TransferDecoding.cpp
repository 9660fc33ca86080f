#include "sandbox/extract/TransferDecoding.h"

#include <algorithm>
#include <cctype>

#include "base/MimeText.h"
#include "base/Text.h"
#include "sandbox/extract/Base64.h"
#include "sandbox/extract/BinHex.h"
#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/Gunzip.h"
#include "sandbox/extract/QuotedPrintable.h"
#include "sandbox/extract/Uuencode.h"
#include "sandbox/extract/Yenc.h"

namespace bccsink::sandbox {
namespace {

// Collects readings: the first is the main one; later ones only when they hold bytes and
// differ from every reading so far, and never more than kMaxReadings.
struct Readings {
  TransferDecoding result;

  bool add(std::string bytes, std::string label) {
    auto& list = result.readings;
    if (list.size() >= kMaxReadings) return false;
    if (!list.empty()) {
      if (bytes.empty()) return false;
      for (const auto& r : list)
        if (r.bytes == bytes) return false;
    }
    list.push_back({std::move(bytes), std::move(label)});
    return true;
  }
  void error(std::string text) { result.errors.push_back(std::move(text)); }
  std::string labels() const {
    std::vector<std::string> names;
    for (std::size_t i = 1; i < result.readings.size(); ++i)
      names.push_back(result.readings[i].label);
    return join(names, ", ");
  }
};

// Comments (nested), quotes and quoting backslashes removed (RFC 822 3.4.3, 3.4.4): what a
// lenient reader sees of `"base64" (binary)`.
std::string withoutComments(std::string_view text) {
  std::string out;
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      if (depth == 0 && i + 1 < text.size()) out += text[i + 1];
      ++i;
    } else if (c == '(') {
      ++depth;
    } else if (c == ')') {
      if (depth > 0) --depth;
    } else if (depth == 0 && c != '"') {
      out += c;
    }
  }
  return out;
}

bool startsWith(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::string_view base64Run(std::string_view body);
bool denseWithQpEscapes(std::string_view body);

// True when an empty (or white-space) line separates two lines that hold data.
bool hasBlankLineInside(std::string_view body) {
  bool data = false, blankAfterData = false;
  for (std::size_t pos = 0; pos < body.size();) {
    auto nl = body.find('\n', pos);
    std::size_t next = nl == std::string_view::npos ? body.size() : nl + 1;
    auto line = body.substr(pos, next - pos);
    bool blank = std::all_of(line.begin(), line.end(), [](char c) {
      return c == ' ' || c == '\t' || c == '\r' || c == '\n';
    });
    if (!blank && blankAfterData) return true;
    if (blank && data) blankAfterData = true;
    data = data || !blank;
    pos = next;
  }
  return false;
}

void decodeBase64Readings(std::string_view body, Readings& r) {
  std::string main;
  Base64Stats stats = decodeBase64(body, main, Base64Mode::Resync);
  r.add(std::move(main), "");
  // `Content-Transfer-Encoding: base64,quoted-printable` on a QP body: some readers take
  // the last name. A real base64 body holds no `=XX` at all.
  if (denseWithQpEscapes(body)) {
    std::string qp;
    decodeQuotedPrintable(body, qp);
    r.add(std::move(qp), "sniffed quoted-printable");
  }
  if (stats.padStops > 0) {
    // An `=` inside the data: some clients skip it, some stop at the first padded segment.
    std::string skipped, first;
    decodeBase64(body, skipped, Base64Mode::Skip);
    r.add(std::move(skipped), "base64 skipping =");
    decodeBase64FirstSegment(body, first);
    r.add(std::move(first), "base64 first segment");
  }
  if (stats.junk > 0) {
    // Junk inside the data: a line of it may be a header to drop whole, or junk that
    // ends the line's data.
    std::string clean, prefixes;
    decodeBase64CleanLines(body, clean);
    r.add(std::move(clean), "base64 clean lines");
    decodeBase64LinePrefixes(body, prefixes);
    r.add(std::move(prefixes), "base64 line prefixes");
  }
  if (stats.lostChars > 0 || hasBlankLineInside(body)) {
    // A stray character before an empty line shifts what follows by 6 bits (or by 12,
    // 18: a short junk block "AB" then the real data); each block on its own does not.
    std::string blocks;
    if (decodeBase64Blocks(body, blocks) > 1) r.add(std::move(blocks), "base64 blocks");
  }
  if (base64RaggedLines(body) >= 2) {
    // Lines that are no whole quanta ("QUJDX"): junk alphabet characters at line ends.
    std::string quanta;
    decodeBase64LineQuanta(body, quanta);
    r.add(std::move(quanta), "base64 lines cut to quanta");
  }
  if (r.result.readings.size() > 1) {
    r.error(evasion("base64 damaged: " + std::to_string(r.result.readings.size()) +
                    " readings differ (resync, " + r.labels() + ")"));
  } else if (stats.lostChars > 0) {
    r.error(evasion("base64 damaged: " + std::to_string(stats.lostChars) +
                    " quantum(s) of one character, 6 bits each lost"));
  } else if (stats.junk > 0) {
    r.error("base64: " + std::to_string(stats.junk) + " bytes outside the alphabet ignored");
  }
}

void decodeQpReadings(std::string_view body, Readings& r) {
  std::string main;
  std::size_t invalid = decodeQuotedPrintable(body, main, QpInvalid::Keep);
  r.add(std::move(main), "");
  // `quoted-printable,base64` on a base64 body: QP leaves base64 text as it is.
  if (auto run = base64Run(body); !run.empty()) {
    std::string data;
    decodeBase64(run, data);
    r.add(std::move(data), "sniffed base64");
  }
  if (invalid == 0) return;
  std::string dropEq, dropJunk;
  decodeQuotedPrintable(body, dropEq, QpInvalid::DropEq);
  r.add(std::move(dropEq), "quoted-printable without invalid =");
  decodeQuotedPrintable(body, dropJunk, QpInvalid::DropJunk);
  r.add(std::move(dropJunk), "quoted-printable without invalid escapes");
  // Every reading is scanned, so nothing is hidden: a plain note (sloppy mailers write a
  // bare `=` often enough that it must not make a message suspicious on its own).
  r.error("quoted-printable: " + std::to_string(invalid) + " '=' starting no escape");
}

void decodeUuReadings(std::string_view body, Readings& r) {
  std::size_t files = 0;
  findUuencoded(body, [&](const UuFile& f) {
    ++files;
    r.add(f.data, files == 1 ? "" : "uuencoded file " + std::to_string(files));
    if (!f.complete) r.error("uuencoded '" + f.name + "' ends before 'end'");
  });
  if (files > 0) return;
  std::string data;
  std::size_t skipped = decodeUuLines(body, data);
  r.add(std::move(data), "");
  if (skipped > 0)
    r.error("x-uuencode: " + std::to_string(skipped) + " lines that are not uu skipped");
}

void decodeGzip64Readings(std::string_view body, Readings& r, std::size_t maxOutput) {
  std::string compressed, inflated;
  decodeBase64(body, compressed);
  std::string why = gunzip(compressed, inflated, maxOutput);
  r.add(std::move(inflated), "");
  if (why.empty()) return;
  r.add(std::move(compressed), "gzip64 compressed");
  r.error(evasion("gzip64 damaged: " + why));
}

void decodeYencReadings(std::string_view body, Readings& r) {
  auto blocks = findYencBlocks(body, kMaxReadings);
  if (blocks.empty()) {
    std::string data;
    decodeYencData(body, data);
    r.add(std::move(data), "");
    return;
  }
  for (std::size_t i = 0; i < blocks.size(); ++i)
    r.add(std::move(blocks[i]), i == 0 ? "" : "yenc block " + std::to_string(i + 1));
}

void decodeBinHexReadings(std::string_view body, Readings& r, std::size_t maxOutput) {
  BinHexFile file;
  if (!decodeBinHex(body, file, maxOutput)) {
    r.error("binhex: no BinHex 4.0 data found");
    r.add(std::string(body), "");
    return;
  }
  r.add(std::move(file.data), "");
  if (file.truncated)
    r.error(evasion("binhex: '" + file.name + "' larger than " + std::to_string(maxOutput) +
                    " bytes, the rest not decoded"));
  else if (!file.complete)
    r.error(evasion("binhex damaged: '" + file.name + "' ends before its forks"));
}

// The longest run of consecutive lines made only of base64 characters (and `=`, trailing
// white space), when it is long enough not to be a few words or a hash in a text: at least
// 64 characters, a line of 16 or more (mailers that vary the line length still write some
// long ones; a list of short words has none), 6 a line on average, and two lines or 120
// characters.
std::string_view base64Run(std::string_view body) {
  struct Run {
    std::size_t start = 0, end = 0, chars = 0, lines = 0, longest = 0;
  } best, run;
  std::size_t pos = 0;
  while (pos < body.size()) {
    auto nl = body.find('\n', pos);
    std::size_t next = nl == std::string_view::npos ? body.size() : nl + 1;
    auto line = body.substr(pos, next - pos);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ' ||
                             line.back() == '\t'))
      line.remove_suffix(1);
    bool ok = line.size() >= 4 && std::all_of(line.begin(), line.end(), [](char c) {
                return isBase64Char(static_cast<unsigned char>(c)) || c == '=';
              });
    if (ok) {
      if (run.lines == 0) run.start = pos;
      run.chars += line.size();
      run.longest = std::max(run.longest, line.size());
      ++run.lines;
      run.end = next;
      if (run.chars > best.chars) best = run;
    } else {
      run = {};
    }
    pos = next;
  }
  if (best.chars < 64 || best.longest < 16 || best.chars / best.lines < 6 ||
      (best.lines < 2 && best.chars < 120))
    return {};
  return body.substr(best.start, best.end - best.start);
}

// At least 8 `=XX` escapes, making up an eighth of the body or more.
bool denseWithQpEscapes(std::string_view body) {
  std::size_t escapes = countQpEscapes(body);
  return escapes >= 8 && escapes * 3 * 8 >= body.size();
}

// Identity or unknown encoding: the raw bytes, and what the body looks like it holds.
void sniffReadings(std::string_view body, Readings& r, std::size_t maxOutput) {
  r.add(std::string(body), "");
  if (auto run = base64Run(body); !run.empty()) {
    std::string data;
    decodeBase64(run, data);
    r.add(std::move(data), "sniffed base64");
  }
  if (denseWithQpEscapes(body)) {
    std::string data;
    decodeQuotedPrintable(body, data);
    r.add(std::move(data), "sniffed quoted-printable");
  }
  if (body.find("(This file must be converted with BinHex") != std::string_view::npos) {
    BinHexFile file;
    if (decodeBinHex(body, file, maxOutput)) r.add(std::move(file.data), "sniffed binhex");
  }
  if (body.find("=ybegin ") != std::string_view::npos) {
    auto blocks = findYencBlocks(body, 1);
    if (!blocks.empty()) r.add(std::move(blocks[0]), "sniffed yenc");
  }
}

}  // namespace

std::string normalizeTransferEncoding(std::string_view rawHeaderValue) {
  std::string text = lower(withoutComments(decodeEncodedWords(rawHeaderValue)));
  // The first token: lenient readers stop at white space, `,` and `;` (`base64; x`,
  // `base64,quoted-printable`) and pass over leading punctuation (`: base64`).
  std::size_t begin = 0;
  while (begin < text.size() && !std::isalnum(static_cast<unsigned char>(text[begin]))) ++begin;
  std::size_t end = text.find_first_of(" \t\r\n,;", begin);
  std::string token =
      text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  std::string_view name = token;
  if (startsWith(name, "x-")) name.remove_prefix(2);
  std::string compact;
  for (char c : name)
    if (c != '-' && c != '_') compact += c;
  if (compact.empty() || compact == "7bit" || compact == "8bit" || compact == "binary" ||
      compact == "none")
    return "";
  if (startsWith(compact, "base64")) return "base64";
  if (startsWith(compact, "quotedprint") ||
      (compact.size() >= 6 && startsWith("quotedprintable", compact)))
    return "quoted-printable";
  if (compact == "uu" || compact == "uue" || startsWith(compact, "uuencode")) return "x-uuencode";
  if (compact == "gzip64") return "x-gzip64";
  if (compact == "yenc" || startsWith(compact, "yencode")) return "x-yencode";
  if (compact == "binhex" || compact == "binhex40" || compact == "macbinhex" ||
      compact == "macbinhex40")
    return "binhex";
  return token;
}

TransferDecoding decodeTransfer(std::string_view body, std::string_view rawHeaderValue,
                                std::size_t maxOutput) {
  Readings r;
  std::string encoding = normalizeTransferEncoding(rawHeaderValue);
  if (encoding == "base64") {
    decodeBase64Readings(body, r);
  } else if (encoding == "quoted-printable") {
    decodeQpReadings(body, r);
  } else if (encoding == "x-uuencode") {
    decodeUuReadings(body, r);
  } else if (encoding == "x-gzip64") {
    decodeGzip64Readings(body, r, maxOutput);
  } else if (encoding == "x-yencode") {
    decodeYencReadings(body, r);
  } else if (encoding == "binhex") {
    decodeBinHexReadings(body, r, maxOutput);
  } else {
    if (!encoding.empty())
      r.error("unknown Content-Transfer-Encoding '" + printableAscii(encoding, 60) + "'");
    sniffReadings(body, r, maxOutput);
  }
  if (r.result.readings.empty()) r.add(std::string(), "");
  return std::move(r.result);
}

}  // namespace bccsink::sandbox
