#pragma once
// A MIME part's body decoded as mail clients decode it, whatever the sender wrote in
// Content-Transfer-Encoding (RFC 2045 section 6): the value normalised the way lenient
// readers take it (`base64 (binary)`, `x-base64`, `Quoted-Printabl`, `uue`), decoders that
// never throw and ignore what RFC 2045 says to ignore, and, where clients differ (an `=`
// inside base64, an invalid QP escape, a body whose header says nothing but that is
// base64), every distinct reading, so that the walker scans what any client would show.
// Bounded: at most kMaxReadings readings, none larger than the body (gzip64 and BinHex,
// whose run-length layer expands: maxOutput).

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink::sandbox {

struct DecodedReading {
  std::string bytes;
  std::string label;  // "" for the main reading, else e.g. "base64 first segment"
};

struct TransferDecoding {
  std::vector<DecodedReading> readings;  // readings[0] is what a mail client shows
  std::vector<std::string> errors;       // evasion("...") when readings differ or bytes were lost
};

inline constexpr std::size_t kMaxReadings = 4;
inline constexpr std::size_t kDefaultMaxDecodedOutput = 100u * 1024 * 1024;

// The transfer encoding a lenient reader takes from the raw header value: "base64",
// "quoted-printable", "x-uuencode", "x-gzip64", "x-yencode", "binhex"; "" for 7bit, 8bit,
// binary, none and an empty value; any other value lowercased (its first token).
std::string normalizeTransferEncoding(std::string_view rawHeaderValue);

// Decodes `body` by its header value. An unknown or identity encoding keeps the raw bytes
// as the main reading and adds what sniffing finds (base64 lines, dense `=XX`, yEnc, BinHex).
// `maxOutput` bounds what gzip64 inflates to and what BinHex expands to.
TransferDecoding decodeTransfer(std::string_view body, std::string_view rawHeaderValue,
                                std::size_t maxOutput = kDefaultMaxDecodedOutput);

}  // namespace bccsink::sandbox
