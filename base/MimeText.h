#pragma once
// Header text of MIME parts as people meant it: parameters (RFC 2045 section 5.1) with
// RFC 2231 continuations and charsets, RFC 2047 encoded-words, any charset to UTF-8.
// Everything here takes hostile input and returns valid UTF-8 without control characters.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bccsink {

// "text/plain; charset=utf-8; name=\"a;b.txt\"" -> value "text/plain", params with
// lowercase names and unquoted values, in order. Text after a closing quote is kept
// (`"file".zip` is file.zip, as clients repair it). Never throws.
struct HeaderValue {
  std::string value;  // the part before the first ';', trimmed, lowercase
  std::vector<std::pair<std::string, std::string>> params;
};
HeaderValue parseHeaderValue(std::string_view text);

// A parameter's value with RFC 2231 applied (name*=charset'lang'%XX, name*0=, name*1*=),
// else the plain name= (with RFC 2047 encoded-words decoded, as mail clients write them).
// '' when absent. Returns UTF-8, cleaned as a file name (cleanFileName).
// RFC 2231 pieces are read leniently, as clients do: the pieces present are joined in
// index order and a gap does not end the value (section 3 would stop at it).
std::string paramValue(const HeaderValue& header, std::string_view name);

// The same value as text, not cleaned as a file name (a multipart boundary).
std::string paramText(const HeaderValue& header, std::string_view name);

// Every value a client might take for parameter `name` of a field that occurs in
// `headers` (all instances of one header field, in order), the one to show first: the
// RFC 2231 pieces gathered from all instances in index order, the first instance's own
// paramValue, the pieces in document order, every plain `name=` (a repeated one
// included), and a value wrapped in single quotes without them (first when the first
// value is so wrapped). No duplicates or empty names; cleaned as file names.
std::vector<std::string> paramCandidates(const std::vector<HeaderValue>& headers,
                                         std::string_view name);

// Decodes RFC 2047 encoded-words (=?charset?B?...?= and ?Q?) in a header's text; white
// space between adjacent encoded-words is dropped (RFC 2047 section 6.2).
std::string decodeEncodedWords(std::string_view text);

// Bytes in `charset` to UTF-8 (iconv). UTF-16 without a byte-order mark is read in the
// byte order its zero bytes show, else big-endian (RFC 2781 section 4.3), never in the
// host's order. An unknown charset or bytes invalid in it: kept when
// they are valid UTF-8, else read as ISO-8859-1, so that nothing is ever lost or rejected.
std::string toUtf8(std::string_view bytes, std::string_view charset);

// `bytes` as they are when they are valid UTF-8, else read as ISO-8859-1 (every byte is a
// character there, so nothing is lost).
std::string utf8OrLatin1(std::string_view bytes);

}  // namespace bccsink
