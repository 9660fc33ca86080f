#pragma once
// The objects embedded in an OLE2 compound document (Word .doc, Excel .xls, .msg, .pub and
// any other "Compound File Binary", [MS-CFB]): what Office opens when the reader
// double-clicks an icon in the document. Handed on, found anywhere in the storage tree:
// - "\1Ole10Native" streams (the Packager object: any file, with its original name) as
//   the packaged file, named by its label;
// - "Package" streams (an embedded OOXML document, docx/xlsx/pptx) and "CONTENTS"
//   streams (an embedded PDF or other document) whole, named "<storage path>/<stream>";
// - "Equation Native" streams (Equation Editor objects, the carrier of CVE-2017-11882)
//   whole, for the signatures to judge.
// Not read: PowerPoint's embedded objects (ExOleObjStg records, zlib-compressed inside the
// "PowerPoint Document" stream), and a nested storage is not re-assembled into a document
// of its own; their streams are still visited here.
//
// Read with libgsf (Debian's libgsf-1, LGPL-2.1), from memory. The tree is walked with an
// explicit stack, at most 32 storages deep and 100,000 entries, within the time limit.

#include <cstddef>
#include <string_view>

#include "sandbox/extract/FoundFile.h"
#include "sandbox/extract/containers/ContainerLimits.h"

namespace bccsink::sandbox {

// True when `bytes` start with the compound file signature D0 CF 11 E0 A1 B1 1A E1.
bool isOle2(std::string_view bytes);

// Hands on each embedded object with where = container.where + {container.name}. Returns
// the number of files handed on. Never throws.
std::size_t walkOle(std::string_view bytes, const FoundFile& container,
                    const ContainerLimits& limits, FileVisitor& visitor);

}  // namespace bccsink::sandbox
