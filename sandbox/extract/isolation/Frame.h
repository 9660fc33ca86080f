#pragma once
// The framing between the daemon and its parser processes (ExtractPool, ExtractWorker):
// one byte of type, the payload's length as 8 bytes little-endian, the payload. The
// daemon sends a Message; the worker answers with a Kept per selected file (its
// description and bytes, as they are found) and one Result (every file's description
// and the errors). The daemon's side reads what a possibly subverted parser wrote, so
// its decoder checks everything: an unknown type, a length past the limit, a payload
// that does not parse to the end are FrameError, never a crash or a huge allocation.

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

enum class FrameType : std::uint8_t { Message = 1, Kept = 2, Result = 3 };

struct Frame {
  FrameType type = FrameType::Message;
  std::string storage;  // holds the payload from `offset` on (a large one is not moved)
  std::size_t offset = 0;
  std::string_view payload() const { return std::string_view(storage).substr(offset); }
};

class FrameError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kFrameHeaderBytes = 9;

// The 9-byte header of a frame whose payload has `length` bytes.
std::string frameHeader(FrameType type, std::uint64_t length);

// Frames out of a byte stream, fed as it arrives.
class FrameDecoder {
 public:
  // Payloads longer than `maxPayload` are refused (FrameError) before any is buffered.
  explicit FrameDecoder(std::uint64_t maxPayload) : maxPayload_(maxPayload) {}

  void feed(std::string_view bytes);
  // The next whole frame, or nothing when more bytes are needed. Throws FrameError.
  std::optional<Frame> next();
  // Bytes fed and not yet returned as a frame (a stream that ends with some is truncated).
  std::size_t pending() const { return buffer_.size() - start_; }
  // The bytes the decoder holds room for (tests: a header alone reserves a few MiB at most).
  std::size_t capacity() const { return buffer_.capacity(); }

 private:
  std::uint64_t maxPayload_;
  std::string buffer_;
  std::size_t start_ = 0;
};

}  // namespace bccsink::sandbox
