// decode_bench: base64 decoding speed of sandbox/extract/Base64 (and decodeTransfer, which
// adds the reading's copy) beside Poco::Base64Decoder read the way MimeWalker read it, on
// the same input in the same run. It measures and judges nothing (test/bench/README.md).
//   build/test/decode_bench [MiB of decoded data, default 64]

#include <Poco/Base64Decoder.h>
#include <Poco/Base64Encoder.h>
#include <Poco/MemoryStream.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <sstream>
#include <string>

#include "sandbox/extract/Base64.h"
#include "sandbox/extract/TransferDecoding.h"

namespace {

// Best of `runs` wall-clock seconds.
double best(int runs, const std::function<void()>& work) {
  double fastest = 1e9;
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    work();
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    fastest = std::min(fastest, took.count());
  }
  return fastest;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 64;
  std::string data(mib << 20, '\0');
  std::mt19937_64 rng(1);
  for (std::size_t i = 0; i + 8 <= data.size(); i += 8) {
    auto v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  // 76-character lines with CRLF, as mailers write base64 bodies.
  std::ostringstream encoded;
  {
    Poco::Base64Encoder encoder(encoded);
    encoder.rdbuf()->setLineLength(76);
    encoder << data;
    encoder.close();
  }
  std::string text;
  text.reserve(encoded.str().size() * 78 / 77 + 2);
  for (char c : encoded.str()) {
    if (c == '\n') text += '\r';
    text += c;
  }
  const double mb = static_cast<double>(text.size()) / 1e6;

  std::string out;
  double own = best(5, [&] {
    out.clear();
    bccsink::sandbox::decodeBase64(text, out);
  });
  bool ownOk = out == data;
  double transfer = best(3, [&] {
    auto d = bccsink::sandbox::decodeTransfer(text, "base64");
    ownOk = ownOk && d.readings.size() == 1 && d.readings[0].bytes.size() == data.size();
  });
  double poco = best(2, [&] {
    out.clear();
    out.reserve(text.size() / 4 * 3 + 3);
    Poco::MemoryInputStream in(text.data(), text.size());
    Poco::Base64Decoder decoder(in);
    std::streambuf* buffer = decoder.rdbuf();
    for (int c = buffer->sbumpc(); c != std::char_traits<char>::eof(); c = buffer->sbumpc())
      out += static_cast<char>(c);
  });
  bool pocoOk = out == data;
  // An identity encoding on binary bytes: the copy plus the sniffing (base64 runs, `=XX`
  // density, yEnc and BinHex markers) every such body now goes through.
  double sniff = best(3, [&] {
    auto d = bccsink::sandbox::decodeTransfer(data, "binary");
    ownOk = ownOk && d.readings[0].bytes.size() == data.size();
  });

  std::printf("input: %.1f MB of base64 (%zu MiB decoded), best of several runs, one core\n", mb,
              mib);
  std::printf("decodeBase64          %8.1f MB/s%s\n", mb / own, ownOk ? "" : "  WRONG OUTPUT");
  std::printf("decodeTransfer base64 %8.1f MB/s\n", mb / transfer);
  std::printf("Poco::Base64Decoder   %8.1f MB/s%s\n", mb / poco, pocoOk ? "" : "  WRONG OUTPUT");
  std::printf("decodeTransfer binary  %8.1f MB/s (of %zu MiB raw bytes, sniffed)\n",
              static_cast<double>(data.size()) / 1e6 / sniff, mib);
  std::printf(
      "RESULT own_mb_s=%.0f transfer_mb_s=%.0f poco_mb_s=%.0f speedup=%.1f sniff_mb_s=%.0f\n",
      mb / own, mb / transfer, mb / poco, poco / own,
      static_cast<double>(data.size()) / 1e6 / sniff);
  return ownOk && pocoOk ? 0 : 1;
}
