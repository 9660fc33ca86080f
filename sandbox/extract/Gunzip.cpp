#include "sandbox/extract/Gunzip.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

namespace bccsink::sandbox {

std::string gunzip(std::string_view in, std::string& out, std::size_t maxOutput) {
  z_stream z{};
  // 32 + MAX_WBITS: a gzip or a zlib header, told apart by inflate itself.
  if (inflateInit2(&z, 32 + MAX_WBITS) != Z_OK) return "zlib could not start";
  const std::size_t start = out.size();
  std::string error;
  std::size_t offset = 0;
  char buffer[64 * 1024];
  while (true) {
    std::size_t chunk = std::min<std::size_t>(in.size() - offset, UINT_MAX);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + offset));
    z.avail_in = static_cast<uInt>(chunk);
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    int rc = inflate(&z, Z_NO_FLUSH);
    offset += chunk - z.avail_in;
    std::size_t got = sizeof buffer - z.avail_out;
    std::size_t room = maxOutput - (out.size() - start);
    out.append(buffer, std::min(got, room));
    if (got > room) {
      error = "more than " + std::to_string(maxOutput) + " bytes";
      break;
    }
    if (rc == Z_STREAM_END) {
      // Another gzip member may follow (gzip -c a b); white space or junk after the last
      // one is ignored, as gzip itself does with trailing zeros.
      if (offset < in.size() && static_cast<unsigned char>(in[offset]) == 0x1f &&
          inflateReset(&z) == Z_OK)
        continue;
      break;
    }
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && got == 0) {
      error = "truncated after " + std::to_string(out.size() - start) + " bytes";
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      error = "corrupt after " + std::to_string(out.size() - start) + " bytes";
      break;
    }
    if (got == 0 && z.avail_in == 0 && offset >= in.size()) {
      error = "truncated after " + std::to_string(out.size() - start) + " bytes";
      break;
    }
  }
  inflateEnd(&z);
  return error;
}

}  // namespace bccsink::sandbox
