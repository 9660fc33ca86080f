#include "db/SpoolRecord.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <algorithm>
#include <charconv>
#include <climits>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace bccsink::db {
namespace {

constexpr std::string_view kLive1 = "BCCSREC1", kDead1 = "BCCSDEAD";
constexpr std::string_view kLive2 = "BCCSREC2", kDead2 = "BCCSDED2";
constexpr std::size_t kIdAt = 8, kLengthAt = 40, kShaAt = 48, kOffsetAt = 80, kCrcAt = 88,
                      kEnvelopeAt = 92;
// The envelope's own format, its first byte after the checksum.
// 1: the BCC copy's envelope; 2: the same, then what an SMTP-mode message's replay needs
// (the hold flag, SMTPUTF8, the XFORWARD attributes). A BCC copy is still written as 1.
constexpr unsigned char kEnvelopeFormat = 1;
constexpr unsigned char kHoldEnvelopeFormat = 2;
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

std::uint32_t getU32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void putU32(char* p, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint32_t crcOf(std::string_view bytes, uLong crc = 0L) {
  return static_cast<std::uint32_t>(
      crc32(crc, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

// Version 1 covers id..sha256 and the offset; version 2 the envelope's length as well.
std::uint32_t headerCrc(const char* header, int version) {
  auto crc = crcOf({header + kIdAt, kCrcAt - kIdAt});
  if (version == 2) crc = crcOf({header + kEnvelopeAt, 4}, crc);
  return crc;
}

// Reads an envelope, each read bounded by what is left; any shortfall fails.
class EnvelopeReader {
 public:
  explicit EnvelopeReader(std::string_view bytes) : rest_(bytes) {}
  bool byte(unsigned char& out) {
    if (rest_.empty()) return false;
    out = static_cast<unsigned char>(rest_.front());
    rest_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& out) {
    if (rest_.size() < 4) return false;
    out = getU32(rest_.data());
    rest_.remove_prefix(4);
    return true;
  }
  bool u64(std::uint64_t& out) {
    if (rest_.size() < 8) return false;
    out = getU64(rest_.data());
    rest_.remove_prefix(8);
    return true;
  }
  bool text(std::string& out) {
    std::uint32_t n = 0;
    if (!u32(n) || n > rest_.size()) return false;
    out.assign(rest_.data(), n);
    rest_.remove_prefix(n);
    return true;
  }
  std::size_t left() const { return rest_.size(); }

 private:
  std::string_view rest_;
};

void putText(std::string& out, std::string_view text) {
  if (text.size() > UINT32_MAX) throw std::length_error("spool envelope: field too long");
  char n[4];
  putU32(n, static_cast<std::uint32_t>(text.size()));
  out.append(n, 4);
  out.append(text);
}

void putU64To(std::string& out, std::uint64_t v) {
  char b[8];
  putU64(b, v);
  out.append(b, 8);
}

bool queueIdChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

}  // namespace

std::array<char, kRecordHeaderSize> encodeRecordHeader(std::string_view id, std::uint64_t offset,
                                                       std::uint64_t length, const Sha256& sha256,
                                                       std::uint32_t envelopeLength) {
  if (id.empty() || id.size() > kRecordIdSize) {
    throw std::invalid_argument("spool record: bad queue id '" + std::string(id) + "'");
  }
  std::array<char, kRecordHeaderSize> h{};
  int version = envelopeLength > 0 ? 2 : 1;
  auto magic = version == 2 ? kLive2 : kLive1;
  std::memcpy(h.data(), magic.data(), magic.size());
  std::memcpy(h.data() + kIdAt, id.data(), id.size());
  putU64(h.data() + kLengthAt, length);
  std::memcpy(h.data() + kShaAt, sha256.data(), sha256.size());
  putU64(h.data() + kOffsetAt, offset);
  putU32(h.data() + kEnvelopeAt, envelopeLength);
  putU32(h.data() + kCrcAt, headerCrc(h.data(), version));
  return h;
}

std::string_view deadMagic(int version) {
  return version == 2 ? kDead2 : kDead1;
}

const std::array<std::string_view, 4>& recordMagics() {
  static const std::array<std::string_view, 4> all{kLive1, kDead1, kLive2, kDead2};
  return all;
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
  int version = magic == kLive2 || magic == kDead2 ? 2 : magic == kLive1 || magic == kDead1 ? 1 : 0;
  if (version == 0) {
    why = "no record header";
    return HeaderState::Invalid;
  }
  if (getU32(h + kCrcAt) != headerCrc(h, version)) {
    why = "record header checksum mismatch";
    return HeaderState::Invalid;
  }
  auto envelopeLength = getU32(h + kEnvelopeAt);
  if ((version == 1) != (envelopeLength == 0)) {
    why = "record header with a bad envelope length";
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
  out.version = version;
  out.dead = magic == kDead1 || magic == kDead2;
  out.envelopeLength = envelopeLength;
  out.id = std::string(id);
  out.offset = offset;
  out.length = getU64(h + kLengthAt);
  std::memcpy(out.sha256.data(), h + kShaAt, out.sha256.size());
  return HeaderState::Valid;
}

std::string encodeEnvelope(const MessageRecord& row) {
  std::string out(4, '\0');  // the checksum, once the rest is known
  const bool hold = row.hold || row.smtputf8 || !row.xforward.empty();
  out.push_back(static_cast<char>(hold ? kHoldEnvelopeFormat : kEnvelopeFormat));
  for (const std::string* field :
       {&row.id, &row.sink, &row.receivedAt, &row.sender, &row.clientIp, &row.helo,
        &row.headerMessageId, &row.sha256, &row.envid, &row.ret, &row.body}) {
    putText(out, *field);
  }
  out.push_back(row.tls ? 1 : 0);
  putU64To(out, static_cast<std::uint64_t>(row.size));
  putU64To(out, row.recipients.size());
  for (const auto& r : row.recipients) {
    putText(out, r.address);
    putText(out, r.orcpt);
    putText(out, r.notify);
  }
  if (hold) {
    out.push_back(row.hold ? 1 : 0);
    out.push_back(row.smtputf8 ? 1 : 0);
    putText(out, row.xforward);
  }
  putU32(out.data(), crcOf(std::string_view(out).substr(4)));
  return out;
}

bool envelopeIntact(std::string_view block) {
  return block.size() > 4 && getU32(block.data()) == crcOf(block.substr(4));
}

bool decodeEnvelope(std::string_view block, MessageRecord& out, std::string& why) {
  if (!envelopeIntact(block)) {
    why = "envelope checksum mismatch";
    return false;
  }
  EnvelopeReader in(block.substr(4));
  MessageRecord row;
  unsigned char format = 0, tls = 0;
  std::uint64_t size = 0, count = 0;
  bool ok = in.byte(format) && (format == kEnvelopeFormat || format == kHoldEnvelopeFormat);
  for (std::string* field :
       {&row.id, &row.sink, &row.receivedAt, &row.sender, &row.clientIp, &row.helo,
        &row.headerMessageId, &row.sha256, &row.envid, &row.ret, &row.body}) {
    ok = ok && in.text(*field);
  }
  // A recipient takes at least 12 bytes: a count beyond that is damage, not a reason to
  // reserve memory.
  ok = ok && in.byte(tls) && tls <= 1 && in.u64(size) && in.u64(count) && count <= in.left() / 12;
  for (std::uint64_t k = 0; ok && k < count; ++k) {
    Recipient r;
    ok = in.text(r.address) && in.text(r.orcpt) && in.text(r.notify);
    row.recipients.push_back(std::move(r));
  }
  if (ok && format == kHoldEnvelopeFormat) {
    unsigned char hold = 0, utf8 = 0;
    ok = in.byte(hold) && hold <= 1 && in.byte(utf8) && utf8 <= 1 && in.text(row.xforward);
    row.hold = hold == 1;
    row.smtputf8 = utf8 == 1;
  }
  if (!ok || in.left() != 0) {
    why = "malformed envelope";
    return false;
  }
  row.tls = tls == 1;
  row.size = static_cast<std::int64_t>(size);
  row.state = state::kPending;
  out = std::move(row);
  return true;
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
