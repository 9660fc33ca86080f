#pragma once
// What the walkers hand on: one file a person could open, found in a message or inside
// an archive, with its bytes (valid only during the visitor's call) or the reason its
// bytes could not be read. Walkers never recurse into what they find; the Extractor
// decides that.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink::sandbox {

struct FoundFile {
  std::string name;  // decoded file name in UTF-8; may be empty
  // Other names a mail client may show for it (a repeated name=, name= vs filename=,
  // RFC 2231 pieces in another order): checks and selection see every one.
  std::vector<std::string> altNames;
  std::vector<std::string> where;  // the containers it sits in, outermost first
  std::string_view content;        // decoded bytes; empty when `unscanned` is set
  std::uint64_t size = 0;          // bytes of content, or the size declared when unread
  std::string unscanned;           // why the bytes could not be read (limit, encrypted...)
  std::string note;                // how it was read, for the report ("opened with password")
  std::string declaredType;        // MIME type the message declared, lowercase; '' in archives
  bool attachedMessage = false;    // a message/rfc822 part: walk it as a message
};

class FileVisitor {
 public:
  virtual ~FileVisitor() = default;
  virtual void onFile(const FoundFile& file) = 0;
  // Something could not be read (damaged part, broken archive); the walk goes on with
  // what it can read, and the message records the error.
  virtual void onError(const std::string& what) = 0;
};

}  // namespace bccsink::sandbox
