#include "db/SpoolRecord.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace bccsink::db {
namespace {

constexpr std::string_view kLive = "BCCSREC1";
constexpr std::string_view kDead = "BCCSDEAD";
constexpr std::size_t kIdAt = 8, kLengthAt = 40, kShaAt = 48, kOffsetAt = 80, kCrcAt = 88;
constexpr std::size_t kSegmentDigits = 12;
constexpr std::string_view kSegmentSuffix = ".seg";
constexpr std::string_view kSegmentFolder = "segments/";

void putU64(char* p, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint64_t getU64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

std::uint32_t crcOf(const char* header) {
  return static_cast<std::uint32_t>(
      crc32(0L, reinterpret_cast<const Bytef*>(header + kIdAt), kCrcAt - kIdAt));
}

bool queueIdChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace

std::array<char, kRecordHeaderSize> encodeRecordHeader(std::string_view id, std::uint64_t offset,
                                                       std::uint64_t length, const Sha256& sha256) {
  if (id.empty() || id.size() > kRecordIdSize) {
    throw std::invalid_argument("spool record: bad queue id '" + std::string(id) + "'");
  }
  std::array<char, kRecordHeaderSize> h{};
  std::memcpy(h.data(), kLive.data(), kLive.size());
  std::memcpy(h.data() + kIdAt, id.data(), id.size());
  putU64(h.data() + kLengthAt, length);
  std::memcpy(h.data() + kShaAt, sha256.data(), sha256.size());
  putU64(h.data() + kOffsetAt, offset);
  auto crc = crcOf(h.data());
  for (int i = 0; i < 4; ++i) h[kCrcAt + i] = static_cast<char>((crc >> (8 * i)) & 0xff);
  return h;
}

std::string_view deadMagic() {
  return kDead;
}

HeaderState decodeRecordHeader(std::string_view bytes, std::uint64_t offset, RecordHeader& out,
                               std::string& why) {
  if (bytes.size() < kRecordHeaderSize) {
    why = "the segment ends inside a record header";
    return HeaderState::Invalid;
  }
  const char* h = bytes.data();
  if (std::all_of(h, h + kRecordHeaderSize, [](char c) { return c == 0; })) {
    return HeaderState::Zero;
  }
  std::string_view magic(h, 8);
  if (magic != kLive && magic != kDead) {
    why = "no record header";
    return HeaderState::Invalid;
  }
  std::uint32_t stored = 0;
  for (int i = 3; i >= 0; --i) stored = (stored << 8) | static_cast<unsigned char>(h[kCrcAt + i]);
  if (stored != crcOf(h)) {
    why = "record header checksum mismatch";
    return HeaderState::Invalid;
  }
  if (getU64(h + kOffsetAt) != offset) {
    why = "record header written for offset " + std::to_string(getU64(h + kOffsetAt));
    return HeaderState::Invalid;
  }
  std::string_view id(h + kIdAt, kRecordIdSize);
  id = id.substr(0, std::min(id.find('\0'), id.size()));
  if (id.empty() || !std::all_of(id.begin(), id.end(), queueIdChar)) {
    why = "record header without a queue id";
    return HeaderState::Invalid;
  }
  out.dead = magic == kDead;
  out.id = std::string(id);
  out.offset = offset;
  out.length = getU64(h + kLengthAt);
  std::memcpy(out.sha256.data(), h + kShaAt, out.sha256.size());
  return HeaderState::Valid;
}

Sha256 sha256Of(std::string_view bytes) {
  Sha256 d{};
  unsigned len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 failed");
  }
  return d;
}

std::string hex(const Sha256& digest) {
  static const char* digits = "0123456789abcdef";
  std::string out(2 * digest.size(), '0');
  for (std::size_t i = 0; i < digest.size(); ++i) {
    out[2 * i] = digits[digest[i] >> 4];
    out[2 * i + 1] = digits[digest[i] & 15];
  }
  return out;
}

std::string segmentFileName(std::uint64_t number) {
  std::string digits = std::to_string(number);
  if (digits.size() < kSegmentDigits) digits.insert(0, kSegmentDigits - digits.size(), '0');
  return digits + std::string(kSegmentSuffix);
}

std::uint64_t segmentNumber(std::string_view name) {
  if (name.size() != kSegmentDigits + kSegmentSuffix.size() ||
      name.substr(kSegmentDigits) != kSegmentSuffix) {
    return 0;
  }
  std::uint64_t n = 0;
  auto digits = name.substr(0, kSegmentDigits);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return 0;
  return n;
}

std::string recordLocator(std::uint64_t segment, std::uint64_t offset) {
  return std::string(kSegmentFolder) + segmentFileName(segment) + "#" + std::to_string(offset);
}

bool parseLocator(std::string_view text, Locator& out) {
  auto hash = text.find('#');
  if (hash == std::string_view::npos) {
    // A file directly in the spool folder: no folder, no hidden or relative name.
    if (text.empty() || text.front() == '.' || text.find('/') != std::string_view::npos ||
        text.find('\0') != std::string_view::npos) {
      return false;
    }
    out = {std::string(text), false, 0};
    return true;
  }
  auto file = text.substr(0, hash), offset = text.substr(hash + 1);
  if (file.substr(0, kSegmentFolder.size()) != kSegmentFolder ||
      segmentNumber(file.substr(kSegmentFolder.size())) == 0 || offset.empty()) {
    return false;
  }
  std::uint64_t at = 0;
  auto [end, ec] = std::from_chars(offset.data(), offset.data() + offset.size(), at);
  if (ec != std::errc() || end != offset.data() + offset.size()) return false;
  out = {std::string(file), true, at};
  return true;
}

}  // namespace bccsink::db
