#pragma once
// The one entry point to the container walkers of this folder: given a file's true type,
// name and bytes, it picks the walker that opens what the user's programs open (a PDF's
// embedded files, a winmail.dat's attachments, an Office document's OLE objects, a OneNote
// section's embedded files, an HTML page's smuggled blobs; a UDF-only disk image, which
// nothing reads, gives an "evasion: " error) and hands each embedded file to the visitor,
// one level deep, like ArchiveWalker.
//
// How the Extractor calls it (sandbox/extract/Extractor.cpp, Visit::onFile): after a file
// was typed and listed, when it is neither a message nor an archive libarchive opened,
//   FoundFile container = found;  container.name = f.name;
//   if (walkContainer(f.type, container, found.content, containerLimits, *this)) ...
// within the same depth check as archives (`inside.size() > limits_.maxDepth` first), so
// that what comes out (a smuggled zip, an exe in a PDF) is typed, selected and walked in
// turn. ContainerLimits come from ExtractLimits: maxMembers and maxMemberSize as for
// archives, maxTotalBytes the message's remaining budget, maxSeconds a share of the
// message's time. Limit hits and unreadable members arrive as "evasion: ..." reasons or
// errors (sandbox/extract/Evasion.h). An HTML part's inline `data:` images come out as
// smuggled-N.bin too (typed image, not selected); if listing them for every HTML mail body
// is too noisy, call it for HTML attachments and not for the message's own text/html body.
// Any compound document is walked (doc, xls, msi, msg): keep calling it for ole-office files
// even though they are analysed whole as well.

#include <string_view>

#include "sandbox/extract/FileType.h"
#include "sandbox/extract/FoundFile.h"
#include "sandbox/extract/containers/ContainerLimits.h"

namespace bccsink::sandbox {

// Walks `bytes` as the container its type says (libmagic's MIME type and family first,
// the extension of container.name where libmagic cannot tell, e.g. an HTML page typed as
// text). Embedded files get where = container.where + {container.name}. Returns false,
// calling nothing, when the file is no container this folder knows. Never throws.
bool walkContainer(const TrueType& type, const FoundFile& container, std::string_view bytes,
                   const ContainerLimits& limits, FileVisitor& visitor);

}  // namespace bccsink::sandbox
