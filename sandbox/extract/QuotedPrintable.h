#pragma once
// Quoted-printable as mail clients read it (RFC 2045 section 6.7), never throwing: `=XX`
// in either case, soft line breaks with white space after the `=`, white space before a
// line end deleted (rule 3). What a client does with an `=` that starts no escape differs:
// the RFC reading keeps it literally (note 1), a lenient one drops it, and one drops it
// with the characters after it that cannot start an escape (`=0=3C` -> `<`). The walker
// scans every reading that differs.

#include <cstddef>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

enum class QpInvalid {
  Keep,      // RFC 2045 6.7 note (1): the `=` and what follows stay as they are
  DropEq,    // only the `=` is dropped
  DropJunk,  // the `=` and the following characters up to the next `=` or line end
};

// Appends the decoded bytes of `in` to `out`; returns how many `=` started no escape.
std::size_t decodeQuotedPrintable(std::string_view in, std::string& out,
                                  QpInvalid invalid = QpInvalid::Keep);

// How many valid `=XX` escapes `in` holds (for sniffing a body of unknown encoding).
std::size_t countQpEscapes(std::string_view in);

}  // namespace bccsink::sandbox
