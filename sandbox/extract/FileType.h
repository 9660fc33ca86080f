#pragma once
// The true type of a file: what its bytes are, whatever its name says. libmagic gives a
// MIME type and a description; both are folded into one of a few families that selection
// rules, statistics and reports speak of. Zip containers are looked into (member names
// through libarchive, never extracted to disk) to tell OOXML, and OOXML with macros, from
// plain archives. The extension helpers compare the name's claim with the true family
// (".doc that is really .exe").

#include <memory>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

struct TrueType {
  std::string mimeType;     // libmagic MIME type, e.g. "application/x-dosexec"
  std::string description;  // libmagic description, e.g. "PE32 executable (GUI) Intel 80386..."
  // One of: pe elf macho msi ole-office ooxml ooxml-macro pdf rtf script lnk disk-image
  // archive html image text other.
  std::string family;
};

// Thread-safe. One pair of magic_t cookies behind a mutex, not one per thread: a cookie
// keeps per-call state (it is not reentrant), a typer is shared by every worker, and
// a magic_buffer() call is short next to an analysis that takes seconds to minutes, so
// the lock is cheap; per-thread cookies would need a per-instance thread_local map and a
// database load per thread. The look into zip containers runs outside the lock.
class FileTyper {
 public:
  // Throws std::runtime_error with libmagic's error text if the database cannot load.
  FileTyper();
  ~FileTyper();
  FileTyper(const FileTyper&) = delete;
  FileTyper& operator=(const FileTyper&) = delete;

  // `name` is used only where the bytes cannot tell: a text file named .js/.vbs/.ps1/...
  // is a script. Never throws for any content.
  TrueType classify(std::string_view bytes, std::string_view name) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when the extension claims a different kind than the true family: ".doc" that is
// PE, ".pdf" that is an executable, ".jpg" that is html... Extensions with no claim (unknown
// ones, "") never mismatch, nor does an empty file; an archive family with a zip-based office
// extension (docx/xlsx/pptx/odt...) is not a mismatch.
bool extensionMismatch(std::string_view extension, const TrueType& type);

}  // namespace bccsink::sandbox
