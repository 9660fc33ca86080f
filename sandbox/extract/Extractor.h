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
#include "sandbox/extract/Extraction.h"
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

class Extractor : public MessageExtractor {
 public:
  Extractor(const FileTyper& typer, SelectionRules rules, ExtractLimits limits);

  // `keep` sees each selected file's bytes once, while they are in memory (to store them
  // for the analyzers). Never throws for anything in the message.
  Extraction extract(std::string_view message, const KeepFile& keep) const override;

 private:
  const FileTyper& typer_;
  SelectionRules rules_;
  ExtractLimits limits_;
};

}  // namespace bccsink::sandbox
