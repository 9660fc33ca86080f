#pragma once
// Finds every file in one RFC 5322 message: parts with a file name, non-text leaf parts,
// uuencoded blocks in text bodies, and attached messages (handed on whole, for the
// Extractor to walk in turn). The structure is read by the project's own parser
// (MimeHeaders, MimeBoundary) straight from the caller's bytes (a memory-mapped spool
// file), as lenient mail clients read it: where readings differ (two boundaries, a
// guessed boundary, a header line without a colon) every plausible reading is walked and
// the union of the files handed on, and the message gets an "evasion: ambiguous MIME"
// error. Linear, with an explicit stack: no recursion on input. Transfer encodings are
// decoded one part at a time.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/extract/FoundFile.h"

namespace bccsink::sandbox {

struct MimeLimits {
  std::size_t maxDepth = 20;     // nested multiparts
  std::size_t maxParts = 10000;  // MIME parts in one message, every reading counted
};

class MimeWalker {
 public:
  explicit MimeWalker(MimeLimits limits = {});

  // Walks `message`; every file found gets `where` as its location. Errors (damaged
  // parts, limits, ambiguous structure) go to visitor.onError and the walk goes on with
  // what it can read. Returns the number of files handed to the visitor.
  std::size_t walk(std::string_view message, const std::vector<std::string>& where,
                   FileVisitor& visitor) const;

 private:
  MimeLimits limits_;
};

}  // namespace bccsink::sandbox
