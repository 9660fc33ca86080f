#pragma once
// What extracting one message gives (its files and errors), and the interface of whoever
// does it: the Extractor in this process, or isolation/ExtractPool, which runs the same
// Extractor in forked, seccomp-confined worker processes (BccExtractIsolation). The
// Pipeline and `scan` see only this interface.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/extract/FileType.h"

namespace bccsink::sandbox {

struct ExtractedFile {
  std::string name;                   // decoded name ('' when the part had none)
  std::vector<std::string> altNames;  // other names a client may show (FoundFile::altNames)
  std::vector<std::string> where;     // containers, outermost first
  std::uint64_t size = 0;
  std::string md5, sha256;  // '' when the bytes could not be read
  TrueType type;
  std::string extension;
  bool extensionMismatch = false;
  bool selected = false;
  std::string reason;  // why not selected, or why unscanned
  // The bytes, or a container's contents, could not be read: the file is unscanned
  // (digests and type are kept when the file itself was read).
  bool unreadable = false;

  // "invoice.zip > docs/a.exe": the containers and the name, as reports show it.
  std::string path() const;
};

struct Extraction {
  std::vector<ExtractedFile> files;
  std::vector<std::string> errors;  // what could not be read, for the message's record
};

// Sees each selected file's bytes once, while they are in memory (to store them for the
// analyzers).
using KeepFile = std::function<void(const ExtractedFile&, std::string_view)>;

class MessageExtractor {
 public:
  virtual ~MessageExtractor() = default;
  // Never throws for anything in the message.
  virtual Extraction extract(std::string_view message, const KeepFile& keep) const = 0;
};

}  // namespace bccsink::sandbox
