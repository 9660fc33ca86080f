#pragma once
// The names an archive's user sees where libarchive reports others. A zip names each
// member twice, in its local header and in the central directory; Explorer and 7-Zip show
// the central directory's name, libarchive the local one, and a sender who makes them
// differ ("readme.txt" locally, "invoice.exe" in the directory) shows a scanner one file
// and the user another. A gzip stream may carry the original file name (RFC 1952 section
// 2.3.1, FNAME), which gunzip and archive tools restore. Read from the bytes, bounded, no
// allocation beyond the names.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink::sandbox {

struct ZipName {
  std::uint64_t localOffset = 0;  // where the member's local header starts
  std::string central;            // the central directory's name (raw bytes)
  std::string local;              // the local header's name at that offset (raw bytes)
};

// The central directory's entries (at most `maxEntries`), in the order of their local
// headers (the order libarchive's reader delivers them). Empty when there is no readable
// central directory (not a zip, truncated, zip64 offsets not followed).
std::vector<ZipName> zipNames(std::string_view bytes, std::size_t maxEntries);

// The FNAME of a gzip stream (raw bytes, without folders), or "" when it has none.
std::string gzipStoredName(std::string_view bytes);

}  // namespace bccsink::sandbox
