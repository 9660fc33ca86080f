#pragma once
// How a message sits in a spool segment (DataDir/spool/segments/NNNNNNNNNNNN.seg), and the
// locator a row keeps to find it. A segment is written front to back, one record after
// the other from offset 0, and is zero-filled ahead of use: the first all-zero header is
// the end of its data.
//
// A record is a 96-byte header, then (version 2) the row's envelope, then the message:
//   0  magic      "BCCSREC2" (live), "BCCSDED2" (no row will ever name it); version 1
//                 records, written before envelopes were, say "BCCSREC1" / "BCCSDEAD"
//   8  id         the queue id (26 characters), zero-padded to 32 bytes
//   40 length     of the message, u64 little-endian
//   48 sha256     of the message, 32 raw bytes
//   80 offset     where this header starts in its segment, u64 little-endian
//   88 crc32      zlib CRC-32 of bytes 8..88 (version 2: and 92..96), u32 little-endian
//   92 envelope   length of the envelope block, u32 little-endian (version 1: 0)
// The envelope block is a u32 CRC-32 of what follows it, then the row as the intake fills
// it (encodeEnvelope): every field a length-prefixed string or a fixed-size integer, so
// whatever bytes a client sent come back exactly. The record is the write-ahead log of its
// row: the intake commits rows without waiting for SQLite's own fsync, and recovery
// re-inserts the row of a live version 2 record that has none (a commit lost with the
// machine). The checksum leaves the magic out, so a record is marked dead by rewriting 8
// bytes. The offset makes a header that is read at the wrong place (stale bytes after a
// torn tail) fail its check. A torn record, the last batch of a crashed run cut short,
// fails the header's checksum, the envelope's, or the message's SHA-256.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "db/MessageRecord.h"

namespace bccsink::db {

constexpr std::size_t kRecordHeaderSize = 96;
constexpr std::size_t kRecordIdSize = 32;
using Sha256 = std::array<unsigned char, 32>;

struct RecordHeader {
  int version = 2;
  bool dead = false;
  std::string id;
  std::uint64_t offset = 0;  // of the header, in its segment
  std::uint64_t length = 0;  // of the message
  Sha256 sha256{};
  std::uint32_t envelopeLength = 0;  // of the envelope block; 0 in version 1
  std::uint64_t envelopeOffset() const { return offset + kRecordHeaderSize; }
  std::uint64_t payloadOffset() const { return offset + kRecordHeaderSize + envelopeLength; }
  std::uint64_t end() const { return payloadOffset() + length; }
};

// The header of a live record of `length` bytes at `offset`, with an envelope block of
// `envelopeLength` bytes (version 2), or without one when it is 0 (version 1: what old
// segments hold, written by tests only).
std::array<char, kRecordHeaderSize> encodeRecordHeader(std::string_view id, std::uint64_t offset,
                                                       std::uint64_t length, const Sha256& sha256,
                                                       std::uint32_t envelopeLength = 0);
// The 8 bytes that mark a record of `version` dead, written over its magic.
std::string_view deadMagic(int version);
// Every magic a record header may start with, live and dead, both versions.
const std::array<std::string_view, 4>& recordMagics();

// The envelope block of a version 2 record: what the pending row of `row` needs, every
// field but spoolFile (the record's own locator) and those a pending row leaves at their
// defaults.
std::string encodeEnvelope(const MessageRecord& row);
// Whether the block's checksum holds (a torn write fails it).
bool envelopeIntact(std::string_view block);
// The row back from its block; false with `why` when it is damaged or malformed.
bool decodeEnvelope(std::string_view block, MessageRecord& out, std::string& why);

enum class HeaderState { Valid, Zero, Invalid };
// Reads the header at the start of `bytes` (at least kRecordHeaderSize of them), which
// sits at `offset` of its segment. Zero: every byte is 0 (the end of the data). Invalid:
// anything else that is not a header written there; `why` says what.
HeaderState decodeRecordHeader(std::string_view bytes, std::uint64_t offset, RecordHeader& out,
                               std::string& why);

Sha256 sha256Of(std::string_view bytes);
std::string hex(const Sha256& digest);

// "000000000042.seg"
std::string segmentFileName(std::uint64_t number);
// 42 for "000000000042.seg"; 0 for any other name.
std::uint64_t segmentNumber(std::string_view fileName);

// Where a row's message is, as its spool_file column says, relative to DataDir/spool:
//   "ID.eml"                               a standalone (or pre-segment) file, all of it
//   "segments/000000000042.seg#1048576"   the record at that offset of that segment
struct Locator {
  std::string file;  // relative to the spool folder
  bool record = false;
  std::uint64_t offset = 0;
};
std::string recordLocator(std::uint64_t segment, std::uint64_t offset);
// False for anything else (a path leaving the spool folder, a bad offset).
bool parseLocator(std::string_view text, Locator& out);

}  // namespace bccsink::db
