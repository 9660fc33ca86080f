#pragma once
// Every file a person could open from one message, each with its true type, hashes and
// whether it is sent for analysis: the MIME walker, the archive walker and attached
// messages, recursively, within the configured limits. What cannot be read (encrypted,
// over a limit, damaged) is listed as unscanned with its reason, never dropped; a reason a
// sender controls (a limit, an archive no password opened) is an evasion ("evasion: ...",
// sandbox/extract/Evasion.h). Encrypted archives are tried with the passwords the message
// itself offers (PasswordCandidates) and the configured ones.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/extract/ArchiveWalker.h"
#include "sandbox/extract/FileType.h"
#include "sandbox/extract/MimeWalker.h"
#include "sandbox/extract/Selection.h"
#include "sandbox/extract/containers/ContainerLimits.h"

namespace bccsink::sandbox {

struct ExtractLimits {
  MimeLimits mime;
  ArchiveLimits archive;
  ContainerLimits containers;  // PDF, TNEF, OLE2, OneNote, HTML smuggling (containers/)
  std::size_t maxDepth = 10;   // archives and attached messages inside each other
  std::uint64_t maxTotalBytes = 1024ull << 20;  // decoded bytes of all files of one message
  // Tried on encrypted archives after the words the message offers (PasswordCandidates):
  // BccArchivePasswords.
  std::vector<std::string> archivePasswords;
};

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

class Extractor {
 public:
  Extractor(const FileTyper& typer, SelectionRules rules, ExtractLimits limits);

  // `keep` sees each selected file's bytes once, while they are in memory (to store them
  // for the analyzers). Never throws for anything in the message.
  Extraction extract(std::string_view message,
                     const std::function<void(const ExtractedFile&, std::string_view)>& keep) const;

 private:
  const FileTyper& typer_;
  SelectionRules rules_;
  ExtractLimits limits_;
};

}  // namespace bccsink::sandbox
