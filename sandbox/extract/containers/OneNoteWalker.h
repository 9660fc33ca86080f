#pragma once
// The files embedded in a OneNote section (.one; [MS-ONESTORE]): attackers attach a .one
// whose page shows a "double-click to view" button over an embedded .hta, .cmd or .exe,
// which OneNote runs on a click. Each embedded file is stored whole as a
// FileDataStoreObject ([MS-ONESTORE] 2.6.13): a header GUID, its length (8 bytes), 12
// reserved bytes, the file's bytes, padding to 8 bytes and a footer GUID. This walker finds
// those blocks by their header GUID in one linear pass and hands on each file as
// "onenote-embedded-N.bin" (the names sit in the revision store's property sets, which are
// not parsed here; the analyzers go by the bytes).
//
// No Debian library reads OneNote, so this is a small bounded parser of its own, under
// test/fuzz/container_fuzzer. A block whose length runs past the end of the file is handed
// on truncated, unscanned as "evasion: ...". .onepkg packages are CAB archives
// (ArchiveWalker).

#include <cstddef>
#include <string_view>

#include "sandbox/extract/FoundFile.h"
#include "sandbox/extract/containers/ContainerLimits.h"

namespace bccsink::sandbox {

// True when `bytes` start with a OneNote section's file-format GUID
// {7B5C52E4-D88C-4DA7-AEB1-5378D02996D3} ([MS-ONESTORE] 2.3.1, guidFileType).
bool isOneNote(std::string_view bytes);

// Hands on each embedded file with where = container.where + {container.name}. Returns the
// number of files handed on. Never throws; linear in the input's size.
std::size_t walkOneNote(std::string_view bytes, const FoundFile& container,
                        const ContainerLimits& limits, FileVisitor& visitor);

}  // namespace bccsink::sandbox
