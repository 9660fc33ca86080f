#pragma once
// BinHex 4.0 (RFC 1741 appendix), the classic Mac encoding some mailers still accept as a
// transfer encoding (`mac-binhex40`) or paste into a text body: `:`-framed 6-bit text, a
// run-length layer (0x90), then a header (name, type, creator, fork lengths) and the data
// and resource forks. The data fork is the file a reader saves. CRCs are not checked: a
// damaged file is still decoded as far as it goes, as a reader would.

#include <cstddef>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

struct BinHexFile {
  std::string name;
  std::string data;        // the data fork (the resource fork when the data fork is empty)
  bool complete = false;   // false when the text ended before the forks' lengths
  bool truncated = false;  // the fork was longer than maxOutput
};

// Decodes the first BinHex 4.0 block in `text` (from its first `:` after the "(This file
// must be converted with BinHex" line, or after the first `:` starting a line), writing at
// most `maxOutput` bytes. Returns false when `text` holds no BinHex header.
bool decodeBinHex(std::string_view text, BinHexFile& file, std::size_t maxOutput);

}  // namespace bccsink::sandbox
