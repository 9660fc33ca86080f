#pragma once
// The bounds every container walker (TNEF, OLE2, PDF, CHM, OneNote, HTML smuggling) keeps:
// a hostile document may declare millions of embedded files, huge sizes or loop its own
// structure; a walk costs at most these many files, bytes and seconds.

#include <cstdint>

namespace bccsink::sandbox {

struct ContainerLimits {
  // Embedded files handed on per container; past it one evasion error and the walk stops.
  std::uint64_t maxMembers = 1000;
  // An embedded file larger than this is listed unscanned, its bytes not handed on.
  std::uint64_t maxMemberSize = 100 << 20;
  // Total bytes handed on per container; files beyond it are listed unscanned.
  std::uint64_t maxTotalBytes = 500 << 20;
  // Wall-clock seconds per container; past it one evasion error and the walk stops.
  double maxSeconds = 30;
  // HTML smuggling: a base64 blob decoding to fewer bytes than this is not handed on
  // (small inline icons and tokens are not payloads).
  std::uint64_t minSmuggledBytes = 64;
};

}  // namespace bccsink::sandbox
