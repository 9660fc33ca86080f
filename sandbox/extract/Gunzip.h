#pragma once
// gzip (or zlib) data inflated in memory within a size limit, for the gzip64 transfer
// encoding (base64 of gzip, RFC 1952), damage-safe: a truncated or corrupt stream gives
// what inflated before the fault and says so.

#include <cstddef>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

// Appends the inflated bytes of `in` (gzip members one after the other, or zlib) to `out`,
// at most `maxOutput` of them. Returns "" when the whole stream inflated, else why not
// ("corrupt after N bytes", "truncated", "more than N bytes").
std::string gunzip(std::string_view in, std::string& out, std::size_t maxOutput);

}  // namespace bccsink::sandbox
