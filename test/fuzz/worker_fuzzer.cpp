// libFuzzer target: any bytes as what a parser process writes back to the daemon
// (sandbox/extract/isolation): the daemon's frame decoder and payload decoders, which read
// what a subverted worker may send. The first byte sets the size of the pieces the
// stream is fed in (as reads return them); every frame is decoded by its type. Garbage is
// a FrameError; anything else (a crash, a read past the end, a huge allocation) is a bug.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sandbox/extract/isolation/ExtractionCodec.h"
#include "sandbox/extract/isolation/Frame.h"

using namespace bccsink::sandbox;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  FrameDecoder decoder(1 << 20);
  unsigned sum = 0;
  try {
    while (!in.empty()) {
      decoder.feed(in.substr(0, piece));
      in.remove_prefix(std::min(piece, in.size()));
      while (auto frame = decoder.next()) {
        if (frame->type == FrameType::Kept) {
          auto kept = decodeKept(frame->payload());
          for (char c : kept.bytes) sum += static_cast<unsigned char>(c);
          sum += kept.file.name.size() + kept.file.where.size();
        } else if (frame->type == FrameType::Result) {
          auto e = decodeExtraction(frame->payload());
          for (const auto& f : e.files) sum += f.path().size() + f.altNames.size();
          for (const auto& s : e.errors) sum += s.size();
        }
      }
    }
  } catch (const FrameError&) {
  }
  return sum == 0xFFFFFFFFu;  // keeps `sum` alive; libFuzzer wants 0 or -1
}
