#pragma once
// A PDF's embedded files (PDF 1.7, ISO 32000-1 section 7.11.4, "Embedded File Streams"):
// the attachments a reader lists in its paperclip panel, the file-attachment annotations
// on a page, and any stream typed /EmbeddedFile that nothing points to, each handed on as
// a file named as the reader names it (/UF, else /F of its file specification).
//
// Read with qpdf (Debian's libqpdf, Apache-2.0), which repairs damaged cross-reference
// tables as readers do and decodes every stream filter. Every object of the file is
// visited, not only the EmbeddedFiles name tree, so an attachment hidden from the tree is
// still found. A stream is decoded through a pipeline that stops at the size limit and
// the deadline, so a Flate bomb costs bounded memory and time. A PDF encrypted with a user
// password cannot be opened: one "evasion: " error says so.

#include <cstddef>
#include <string_view>

#include "sandbox/extract/FoundFile.h"
#include "sandbox/extract/containers/ContainerLimits.h"

namespace bccsink::sandbox {

// Hands on each embedded file with where = container.where + {container.name}; a stream
// that could not be decoded is listed unscanned. Returns the number of files handed on.
// Never throws.
std::size_t walkPdf(std::string_view bytes, const FoundFile& container,
                    const ContainerLimits& limits, FileVisitor& visitor);

}  // namespace bccsink::sandbox
