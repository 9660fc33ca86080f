#pragma once
// Lists the members of one archive (or the one file inside a compressed stream) with
// libarchive, reading from memory, one level deep, within limits that keep a hostile
// archive (zip bomb, millions of members, a lying header) from costing more than a bounded
// amount of memory and time. It never writes a member to disk and never recurses: a member
// that is itself an archive is handed on whole, and the Extractor decides.
//
// Formats: zip, 7z, rar (4 and 5), tar, cpio, cab, iso9660, ar, lha, each also inside
// gzip, bzip2, xz, lzma, lzip, zstd, lz4 or compress (.Z) streams; a compressed stream that
// holds no archive is one member. mtree is left out on purpose: libarchive reads an mtree
// "archive" by opening the files it names on the local disk.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/extract/FoundFile.h"

namespace bccsink::sandbox {

// Every limit is something a sender can make bccsink hit on purpose, so what it keeps from
// analysis is listed as an unscanned file whose reason is an evasion ("evasion: ...",
// sandbox/extract/Evasion.h), never dropped.
struct ArchiveLimits {
  // Headers read per archive (directories and links count too); the members past it are
  // summed up in one unscanned entry ("evasion: 90,001 more members not listed (limit
  // 10,000)") and the walk stops.
  std::uint64_t maxMembers = 10000;
  // A member larger than this is "over size limit": name and declared size, bytes not read.
  std::uint64_t maxMemberSize = 100 << 20;
  // Total unpacked bytes of this archive; members beyond it are unscanned with
  // "archive unpacks to more than N bytes".
  std::uint64_t maxTotalBytes = 500 << 20;
  // Unpacked/packed ratio (zip bombs), PER MEMBER: a zip member against its own compressed
  // bytes, a member of another format (whose packed bytes are not its own: solid blocks,
  // compressed streams) against the archive's whole size; over it: "compression ratio
  // over N". The ratio is only judged past 1 MiB unpacked, so small, very compressible
  // files pass, and a bomb never costs the members after it.
  double maxRatio = 100;
  // Wall time for one archive (including the password tries); past it the rest is one
  // unscanned entry.
  std::chrono::milliseconds maxTime{60000};
};

// A password to try on an encrypted archive, and where it came from ("the message body",
// "the subject", "BccArchivePasswords"): the report says which one opened it.
struct ArchivePassword {
  std::string word;
  std::string source;
};
// Called only when an encrypted member is met (finding the candidates costs a reading of
// the message's text): the passwords to try, in order.
using ArchivePasswords = std::function<std::vector<ArchivePassword>()>;

class ArchiveWalker {
 public:
  explicit ArchiveWalker(ArchiveLimits limits);

  // True when libarchive can open `bytes` as an archive or as a compressed single file.
  bool isArchive(std::string_view bytes) const;

  // Walks ONE level: calls visitor.onFile once per regular-file member, with name = the
  // member's path inside the archive (UTF-8, a leading "./" removed, otherwise as given),
  // where = archive.where + {archive.name}, content = the member's bytes (at most one member
  // in memory at a time). `unscanned` is set and content empty for encrypted members that
  // no password opened ("evasion: encrypted zip, no password opened it"), members over a
  // limit ("evasion: ...") and damaged members ("damaged: <libarchive message>"). A damaged
  // archive gives onError("<archive name>: <reason>") after what could be read was
  // delivered. An encrypted archive is tried with each of `passwords()` (in order, within
  // maxTime); the members the first that works opens carry the note "opened with password
  // '<word>' from <source>". Returns the number of onFile calls. Safe to call from several
  // threads at once.
  std::size_t walk(std::string_view bytes, const FoundFile& archive, FileVisitor& visitor,
                   const ArchivePasswords& passwords = {}) const;

 private:
  ArchiveLimits limits_;
};

}  // namespace bccsink::sandbox
