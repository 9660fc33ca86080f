#include "sandbox/extract/isolation/Frame.h"

#include <algorithm>

namespace bccsink::sandbox {
namespace {

constexpr std::uint64_t kReserveAhead = 4u << 20;

}  // namespace

std::string frameHeader(FrameType type, std::uint64_t length) {
  std::string h(kFrameHeaderBytes, '\0');
  h[0] = static_cast<char>(type);
  for (int i = 0; i < 8; ++i) h[1 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return h;
}

void FrameDecoder::feed(std::string_view bytes) {
  // What was consumed is dropped once it is most of the buffer: linear overall.
  if (start_ > 0 && start_ >= buffer_.size() / 2) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<Frame> FrameDecoder::next() {
  const std::string_view rest = std::string_view(buffer_).substr(start_);
  if (rest.empty()) return std::nullopt;
  const auto type = static_cast<std::uint8_t>(rest[0]);
  if (type < static_cast<std::uint8_t>(FrameType::Message) ||
      type > static_cast<std::uint8_t>(FrameType::Result)) {
    throw FrameError("unknown frame type " + std::to_string(type));
  }
  if (rest.size() < kFrameHeaderBytes) return std::nullopt;
  std::uint64_t length = 0;
  for (int i = 0; i < 8; ++i)
    length |= std::uint64_t(static_cast<unsigned char>(rest[1 + i])) << (8 * i);
  if (length > maxPayload_) {
    throw FrameError("frame of " + std::to_string(length) + " bytes, more than " +
                     std::to_string(maxPayload_));
  }
  if (rest.size() - kFrameHeaderBytes < length) {
    // A large frame arrives in many reads: room for the first few MiB at once, then the
    // buffer grows with what arrives (geometric: linear overall). Not the whole announced
    // length: a header alone from a subverted worker must not make the daemon allocate
    // up to the frame limit for every slot.
    const std::size_t want =
        start_ + kFrameHeaderBytes + std::min<std::uint64_t>(length, kReserveAhead);
    if (buffer_.capacity() < want) buffer_.reserve(want);
    return std::nullopt;
  }
  Frame f;
  f.type = static_cast<FrameType>(type);
  if (start_ == 0 && buffer_.size() == kFrameHeaderBytes + length) {
    // The buffer is this frame (the usual case for a file's bytes): taken, not copied.
    f.storage = std::move(buffer_);
    f.offset = kFrameHeaderBytes;
    buffer_.clear();
    return f;
  }
  f.storage.assign(rest.substr(kFrameHeaderBytes, length));
  start_ += kFrameHeaderBytes + length;
  return f;
}

}  // namespace bccsink::sandbox
