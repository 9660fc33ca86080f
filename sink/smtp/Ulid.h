#pragma once
// ULIDs (https://github.com/ulid/spec): 48-bit ms timestamp + 80 random bits in
// Crockford base32. Sortable by time and unique across sinks, unlike engine row ids.

#include <chrono>
#include <string>

namespace bccsink {

std::string newUlid(std::chrono::system_clock::time_point t = std::chrono::system_clock::now());

// ISO 8601 UTC with milliseconds: 2026-11-25T04:05:18.123Z.
std::string isoTime(std::chrono::system_clock::time_point t);

}  // namespace bccsink
