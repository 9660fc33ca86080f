#pragma once
// Base64 as mail clients read it (RFC 2045 section 6.8), never throwing. The standard says
// characters outside the alphabet are to be ignored; what a client does with an `=` inside
// the data differs, so besides the usual reading ("resync": an `=` ends the quantum and
// decoding goes on) the walker can ask for the others an attacker may aim at: every `=`
// skipped, only the first padded segment, only the lines made of alphabet characters.
// One 256-entry table, no stream and no virtual call per byte: the plain path decodes
// four characters at a time (test/bench/decode_bench).

#include <cstddef>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

// What a decoding met besides the alphabet, so that the caller can tell whether another
// reading could differ and whether bits were lost.
struct Base64Stats {
  std::size_t junk = 0;       // bytes outside the alphabet, `=` and white space (ignored)
  std::size_t padStops = 0;   // `=` that ended a quantum with alphabet data after it
  std::size_t midPads = 0;    // `=` with 1 to 3 characters of its quantum pending
  std::size_t lostChars = 0;  // a lone character ending a quantum: 6 bits, no byte
};

enum class Base64Mode {
  Resync,  // `=` ends the current quantum (2 chars -> 1 byte, 3 -> 2), decoding goes on
  Skip,    // every `=` ignored like any other byte outside the alphabet
};

// Appends the decoded bytes of `in` to `out` (the Resync reading).
void decodeBase64(std::string_view in, std::string& out);
Base64Stats decodeBase64(std::string_view in, std::string& out, Base64Mode mode);

// Decodes up to and including the first quantum that `=` ends when alphabet data follows
// it (a second, concatenated base64 text); returns how many input bytes that took (all of
// `in` when there is no such `=`).
std::size_t decodeBase64FirstSegment(std::string_view in, std::string& out);

// Decodes only the lines made of alphabet characters, `=` and white space: a line with
// anything else (a "begin-base64 644 name" header, a junk line) is dropped whole.
// Returns how many lines were dropped.
std::size_t decodeBase64CleanLines(std::string_view in, std::string& out);

// Decodes each line only up to its first character outside the alphabet (`=` and white
// space aside): "UEs#junk" gives what "UEs" starts. Returns how many lines were cut.
std::size_t decodeBase64LinePrefixes(std::string_view in, std::string& out);

// Decodes each block of lines between empty lines on its own, so that a stray character
// before an empty line does not shift the rest by 6 bits. Returns the number of blocks.
std::size_t decodeBase64Blocks(std::string_view in, std::string& out);

// Each line's alphabet characters cut to whole quanta (a multiple of 4) before decoding: a
// sender that writes one junk alphabet character at the end of every line ("QUJDX") shifts
// every later byte unless the line is read as its own quanta. Returns the lines cut.
std::size_t decodeBase64LineQuanta(std::string_view in, std::string& out);

// Short lines (fewer than 16 alphabet characters; not the last that holds data) whose
// count of alphabet characters is no multiple of 4: real encoders write lines of whole
// quanta, or long lines of any width that read right as one run.
std::size_t base64RaggedLines(std::string_view in);

// True for the 64 alphabet characters.
bool isBase64Char(unsigned char c);

}  // namespace bccsink::sandbox
