#pragma once
// The payloads of the parser processes' frames (Frame.h): an ExtractedFile, a Kept file
// (its description and bytes) and a whole Extraction, as fields in a fixed order, each
// integer 8 bytes little-endian, each string its length then its bytes. Decoding reads
// what a subverted parser may have written: any count or length past the payload's end,
// a flag that is not 0 or 1, or bytes left over is a FrameError.

#include <string>
#include <string_view>

#include "sandbox/extract/Extraction.h"
#include "sandbox/extract/isolation/Frame.h"

namespace bccsink::sandbox {

std::string encodeFile(const ExtractedFile& f);
std::string encodeExtraction(const Extraction& e);
// A Kept payload: the file's description, then its bytes.
std::string encodeKeptHead(const ExtractedFile& f, std::uint64_t bytes);

Extraction decodeExtraction(std::string_view payload);
struct KeptFile {
  ExtractedFile file;
  std::string_view bytes;  // inside the payload given to decodeKept
};
KeptFile decodeKept(std::string_view payload);

}  // namespace bccsink::sandbox
