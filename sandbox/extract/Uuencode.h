#pragma once
// uuencoded files inside text bodies ("begin 644 name" ... "end"), as old mailers and
// some malware droppers still send them. POSIX uuencode format.

#include <functional>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

struct UuFile {
  std::string name;       // as written after the mode, not yet cleaned
  std::string data;       // decoded bytes
  bool complete = false;  // false when the text ended before "end"
};

// Calls `onFile` for each uuencoded block in `text`, in order, one decoded file at a
// time. Returns how many were found.
std::size_t findUuencoded(std::string_view text, const std::function<void(const UuFile&)>& onFile);

// The uuencode transfer encoding without a `begin` line (some mailers' `x-uuencode`,
// `uue`): every line of `text` decoded as a uu line (length character, then data) and
// appended to `out`; `begin`/`end` lines are passed over. Returns how many non-empty lines
// were not uu lines (skipped).
std::size_t decodeUuLines(std::string_view text, std::string& out);

}  // namespace bccsink::sandbox
