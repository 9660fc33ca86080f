#include "db/SegmentReader.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

namespace bccsink::db {

SegmentReader::SegmentReader(const std::string& path, Verify verify)
    : file_(path), bytes_(file_.bytes()), verify_(verify) {}

bool SegmentReader::next(RecordHeader& out) {
  if (ended_) return false;
  ended_ = true;  // until a record is read whole
  auto rest = bytes_.substr(offset_);
  if (rest.size() < kRecordHeaderSize) {
    if (!std::all_of(rest.begin(), rest.end(), [](char c) { return c == 0; })) {
      damage_ = "the segment ends inside a record header";
    }
    return false;
  }
  RecordHeader h;
  std::string why;
  switch (decodeRecordHeader(rest, offset_, h, why)) {
    case HeaderState::Zero:
      return false;
    case HeaderState::Invalid:
      damage_ = why;
      return false;
    case HeaderState::Valid:
      break;
  }
  auto room = rest.size() - kRecordHeaderSize;
  if (h.envelopeLength > room || h.length > room - h.envelopeLength) {
    damage_ = "the record runs past the end of the segment";
    return false;
  }
  // The envelope is small: its checksum is checked on every walk, as the header's is.
  if (!h.dead && h.version == 2 &&
      !envelopeIntact(rest.substr(kRecordHeaderSize, h.envelopeLength))) {
    damage_ = "the record's envelope does not match its checksum";
    return false;
  }
  if (verify_ == Verify::Messages && !h.dead &&
      sha256Of(rest.substr(kRecordHeaderSize + h.envelopeLength, h.length)) != h.sha256) {
    damage_ = "the message does not match its SHA-256";
    return false;
  }
  offset_ = h.end();
  ended_ = false;
  out = std::move(h);
  return true;
}

std::string_view SegmentReader::envelope(const RecordHeader& h) const {
  return bytes_.substr(h.envelopeOffset(), h.envelopeLength);
}

bool SegmentReader::zeroFromTail() const {
  // Most of a segment is zeros prepared ahead of use: read them a chunk at a time and let
  // each chunk's pages go again, so that looking at 64 MB of zeros does not add 64 MB to
  // the daemon's resident memory (they stay in the page cache, not in the process).
  constexpr std::size_t kChunk = 1 << 20;
  const long page = sysconf(_SC_PAGESIZE);
  for (auto at = std::min<std::uint64_t>(offset_, bytes_.size()); at < bytes_.size();) {
    auto chunk = bytes_.substr(at, kChunk);
    bool zero = std::all_of(chunk.begin(), chunk.end(), [](char c) { return c == 0; });
    auto begin = reinterpret_cast<std::uintptr_t>(chunk.data());
    auto aligned = begin - begin % static_cast<std::uintptr_t>(page);
    madvise(reinterpret_cast<void*>(aligned), chunk.size() + (begin - aligned), MADV_DONTNEED);
    if (!zero) return false;
    at += chunk.size();
  }
  return true;
}

}  // namespace bccsink::db
