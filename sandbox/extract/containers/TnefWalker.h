#pragma once
// TNEF (winmail.dat, application/ms-tnef; [MS-OXTNEF]): Outlook's wrapper for a rich
// message. Outlook and Thunderbird show the files inside it as ordinary attachments, so an
// attacker can hide an executable in a winmail.dat that a scanner takes for data. Each
// attachment is handed on by its long file name (PR_ATTACH_LONG_FILENAME, Unicode or 8-bit),
// else its 8.3 title; an attached object (PT_OBJECT: an embedded message) is handed on
// whole, without its 16-byte interface id, for the Extractor to walk in turn.
//
// Read with libytnef (Debian's libytnef0, GPL-2+), from a private copy of the bytes (its
// parser takes a non-const buffer), whose attribute checksums are set right first: libytnef
// stops at a wrong one, mail clients do not (one plain error says how many were wrong).
// Damage gives one error after what could be read.
// libytnef prints some damage ("ERROR: Checksum mismatch") on stdout whatever its Debug
// flag: a line in the daemon's log per damaged winmail.dat, left as is.

#include <cstddef>
#include <string_view>

#include "sandbox/extract/FoundFile.h"
#include "sandbox/extract/containers/ContainerLimits.h"

namespace bccsink::sandbox {

// True when `bytes` start with the TNEF signature 0x223E9F78 (little-endian).
bool isTnef(std::string_view bytes);

// Hands on each attachment with where = container.where + {container.name}. Returns the
// number of files handed on. Never throws.
std::size_t walkTnef(std::string_view bytes, const FoundFile& container,
                     const ContainerLimits& limits, FileVisitor& visitor);

}  // namespace bccsink::sandbox
