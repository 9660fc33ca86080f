#pragma once
// What parsing loads from the file system on first use, loaded in the parser master
// before any worker confines itself (Seccomp.h refuses open): the C.UTF-8 locale libarchive
// names are read under, iconv's modules for the charsets of encoded words and archive
// names (each kept open, so glibc keeps its module loaded), and whatever else a first
// extraction touches, by extracting a small built-in message once.

#include "sandbox/extract/isolation/ExtractWorker.h"

namespace bccsink::sandbox {

void preloadForParsing(const ParseMessage& parse);

}  // namespace bccsink::sandbox
