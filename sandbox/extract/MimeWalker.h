#pragma once
// Finds every file in one RFC 5322 message: parts with a file name, non-text leaf parts,
// uuencoded blocks in text bodies, and attached messages (handed on whole, for the
// Extractor to walk in turn). mimetic parses the structure straight from the caller's
// bytes (a memory-mapped spool file) and records where each body lies instead of
// copying it; transfer encodings are decoded with Poco, one part at a time.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/extract/FoundFile.h"

namespace bccsink::sandbox {

struct MimeLimits {
  std::size_t maxDepth = 20;     // nested multiparts and attached messages
  std::size_t maxParts = 10000;  // MIME parts in one message
};

class MimeWalker {
 public:
  explicit MimeWalker(MimeLimits limits = {});

  // Walks `message`; every file found gets `where` as its location. Errors (damaged
  // parts, limits) go to visitor.onError and the walk goes on with what it can read.
  // Returns the number of files handed to the visitor.
  std::size_t walk(std::string_view message, const std::vector<std::string>& where,
                   FileVisitor& visitor) const;

 private:
  MimeLimits limits_;
};

}  // namespace bccsink::sandbox
