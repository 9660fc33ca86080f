#pragma once
// yEnc (yenc.org 1.3), the Usenet binary encoding some mailers accept as a transfer
// encoding (`x-yencode`) or in a text body between `=ybegin` and `=yend` lines: each byte
// is written as (byte + 42) mod 256, critical ones escaped as `=` + (byte + 42 + 64).
// Line ends are not data. CRC and size lines are not checked: a damaged block is still
// decoded as far as it goes, since that is what would reach a reader.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink::sandbox {

// Decodes yEnc data (no header lines) and appends it to `out`.
void decodeYencData(std::string_view in, std::string& out);

// The blocks between `=ybegin` (and an optional `=ypart`) and `=yend` (or the end of the
// text), decoded, in order; at most `maxBlocks`.
std::vector<std::string> findYencBlocks(std::string_view text, std::size_t maxBlocks);

}  // namespace bccsink::sandbox
