#include "sandbox/extract/ArchiveWalker.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/FileName.h"
#include "base/Text.h"
#include "sandbox/extract/ArchiveNames.h"
#include "sandbox/extract/ArchiveReader.h"
#include "sandbox/extract/Evasion.h"

namespace bccsink::sandbox {

namespace {

// Below this many unpacked bytes the ratio is not judged: a small file of zeros or a
// short text compresses far beyond 100:1 and is no threat to memory or time.
constexpr std::uint64_t kRatioFloor = 1 << 20;
// ARCHIVE_RETRY/ARCHIVE_WARN/ARCHIVE_FAILED in a row from one reader before we give up
// on it: libarchive does not promise that such a call makes progress.
constexpr int kMaxRepeats = 16;

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// 90001 -> "90,001": a count as the report's reader reads it.
std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// At most this many headers are counted past maxMembers, for the summary's number.
constexpr std::uint64_t kMaxCounted = 10'000'000;
constexpr std::chrono::seconds kCountingTime{1};

// One walk over one archive: the reader, the running totals, the visitor.
class Walk {
 public:
  using Clock = std::chrono::steady_clock;

  Walk(const ArchiveLimits& limits, std::string_view bytes, const FoundFile& archive,
       FileVisitor& visitor, const ArchivePasswords& passwords)
      : limits_(limits),
        bytes_(bytes),
        visitor_(visitor),
        passwords_(passwords),
        label_(archive.name.empty() ? "archive" : archive.name),
        archiveName_(archive.name),
        where_(archive.where),
        deadline_(Clock::now() + limits.maxTime) {
    where_.push_back(archive.name);
  }

  std::size_t run() {
    Opened opened = openArchive(bytes_, &Walk::passphrase, this);
    if (opened.kind == Kind::None) {
      report("not an archive");
      return 0;
    }
    a_ = std::move(opened.a);
    raw_ = opened.kind == Kind::CompressedFile;
    std::uint64_t headers = 0;
    int failures = 0;
    while (!stopped_) {
      archive_entry* entry = nullptr;
      int r = archive_read_next_header(a_.get(), &entry);
      if (r == ARCHIVE_EOF && headers == 0 && !raw_ && archive_filter_count(a_.get()) > 1) {
        // The tar reader takes a stream that starts with zero blocks for an empty tar, so a
        // gzipped disk image "holds nothing": deliver the decompressed stream instead.
        Opened file = openCompressedFile(bytes_);
        if (file.kind == Kind::None) break;
        a_ = std::move(file.a);
        raw_ = true;
        continue;
      }
      if (r == ARCHIVE_EOF) break;
      if (r == ARCHIVE_RETRY || r == ARCHIVE_FAILED) {
        // A header that could not be read, but the reader may go on to the next one.
        report(errorText(a_.get()));
        if (++failures > kMaxRepeats || ++headers > limits_.maxMembers) {
          unreached(headers);
          break;
        }
        continue;
      }
      if (Clock::now() > deadline_) {
        rest(tookTooLong());
        break;
      }
      if ((r != ARCHIVE_OK && r != ARCHIVE_WARN) || entry == nullptr) {
        report(errorText(a_.get()));
        unreached(headers);
        break;
      }
      failures = 0;
      if (++headers > limits_.maxMembers) {
        notListed();
        break;
      }
      index_ = headers - 1;
      if (archive_entry_filetype(entry) != AE_IFREG) continue;  // directory, link, device
      // A hard link to an earlier member carries no bytes of its own.
      if (archive_entry_hardlink(entry) != nullptr && archive_entry_size_is_set(entry) &&
          archive_entry_size(entry) == 0) {
        continue;
      }
      member(entry);
    }
    return delivered_;
  }

 private:
  std::uint64_t budgetLeft() const {
    return unpacked_ < limits_.maxTotalBytes ? limits_.maxTotalBytes - unpacked_ : 0;
  }
  bool overRatio(std::uint64_t unpacked, std::uint64_t packed) const {
    return unpacked > kRatioFloor &&
           static_cast<double>(unpacked) >
               limits_.maxRatio * static_cast<double>(std::max<std::uint64_t>(packed, 1));
  }
  std::string totalReason() const {
    return evasion("archive unpacks to more than " + std::to_string(limits_.maxTotalBytes) +
                   " bytes");
  }
  std::string ratioReason() const {
    return evasion("compression ratio over " + number(limits_.maxRatio));
  }
  std::string sizeReason() const {
    return evasion("over size limit (" + std::to_string(limits_.maxMemberSize) + " bytes)");
  }
  std::string tookTooLong() const {
    return evasion(
        "archive took more than " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(limits_.maxTime).count()) +
        " s to unpack");
  }
  // Why the archive as a whole may not be unpacked further, or "". The ratio is judged per
  // member: a bomb costs its own bytes, not the members after it.
  std::string archiveReason(std::uint64_t more) const {
    if (unpacked_ + more > limits_.maxTotalBytes) return totalReason();
    return {};
  }

  // The members past maxMembers, counted while reading headers is cheap and time is left,
  // as one unscanned entry: an attacker who puts the payload at member 10,001 gets it
  // listed, not lost.
  void notListed() {
    std::uint64_t more = 1;
    bool all = false;
    if (cheapSkip(nullptr)) {
      // Counting is a courtesy to the reader of the report: a second at most.
      const auto until = std::min(deadline_, Clock::now() + kCountingTime);
      archive_entry* entry = nullptr;
      for (;;) {
        if (more >= kMaxCounted || Clock::now() > until) break;
        int r = archive_read_next_header(a_.get(), &entry);
        if (r == ARCHIVE_EOF) {
          all = true;
          break;
        }
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) break;
        ++more;
      }
    }
    const std::string count = (all ? "" : "at least ") + grouped(more);
    FoundFile file;
    file.name = "(" + count + " more members)";
    file.where = where_;
    file.unscanned =
        evasion(count + " more members not listed (limit " + grouped(limits_.maxMembers) + ")");
    deliver(file);
  }

  // The walk cannot go on (a limit on the whole archive): what was not read is one
  // unscanned entry, so it is never taken for clean.
  // The reader stopped at a damaged header: a zip's central directory still names the
  // members after it, which Explorer and 7-Zip open from the directory. They are listed
  // unscanned, as an evasion, instead of vanishing (the damage may be made on purpose).
  void unreached(std::uint64_t read) {
    if (raw_ || (archive_format(a_.get()) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_ZIP) return;
    if (!zipNamesRead_) {
      zipNames_ = zipNames(bytes_, static_cast<std::size_t>(limits_.maxMembers) + 1);
      zipNamesRead_ = true;
    }
    for (std::size_t i = static_cast<std::size_t>(read); i < zipNames_.size(); ++i) {
      if (zipNames_[i].central.empty() || zipNames_[i].central.back() == '/') continue;
      FoundFile file;
      file.name = cleanFileName(toValidUtf8(zipNames_[i].central));
      file.where = where_;
      file.unscanned = evasion("the zip is damaged before this member: not read");
      deliver(file);
    }
  }

  void rest(const std::string& reason) {
    stopped_ = true;
    FoundFile file;
    file.name = "(members not read)";
    file.where = where_;
    file.unscanned = reason + "; the rest of " + label_ + " was not read";
    deliver(file);
  }

  // Opens this encrypted member with the first password that works, or says why not.
  // Each try is a reader of its own that reads the member's first blocks (a wrong zip
  // password passes the one-byte check 1 time in 256, but not the inflating), so the
  // report can name the password; then the walk's reader gets it too.
  std::string unlock() {
    const std::string what = "encrypted " + formatWord(a_.get());
    if (unlocked_) return {};
    if (tried_ || !passwords_) return evasion(what + ", no password opened it");
    tried_ = true;
    std::vector<ArchivePassword> candidates;
    locale_.outside([&] { candidates = passwords_(); });
    for (const auto& password : candidates) {
      if (Clock::now() > deadline_) break;
      if (opens(password.word)) {
        unlocked_ = true;
        word_ = password.word;
        note_ =
            "opened with password '" + oneLineUtf8(password.word, 64) + "' from " + password.source;
        return {};
      }
    }
    return evasion(what + ", no password opened it");
  }

  // libarchive asks when it needs a passphrase it does not have: the one found, once (it
  // keeps it for the members after), then none.
  static const char* passphrase(archive*, void* data) {
    auto* self = static_cast<Walk*>(data);
    if (!self->unlocked_ || self->given_) return nullptr;
    self->given_ = true;
    return self->word_.c_str();
  }

  bool opens(const std::string& word) const {
    ArchivePtr a(archive_read_new());
    if (!a) return false;
    supportFilters(a.get());
    supportFormats(a.get());
    archive_read_add_passphrase(a.get(), word.c_str());
    int r = archive_read_open_memory(a.get(), bytes_.data(), bytes_.size());
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return false;
    archive_entry* entry = nullptr;
    for (std::uint64_t i = 0; i <= index_; ++i) {
      r = archive_read_next_header(a.get(), &entry);
      if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return false;
    }
    std::uint64_t read = 0;
    for (int blocks = 0; blocks < 64 && read < (1u << 20); ++blocks) {
      const void* block = nullptr;
      std::size_t length = 0;
      la_int64_t offset = 0;
      r = archive_read_data_block(a.get(), &block, &length, &offset);
      if (r == ARCHIVE_EOF) return true;
      if (r != ARCHIVE_OK) return false;  // a warning here is a CRC that does not match
      read += length;
    }
    return true;
  }

  void member(archive_entry* entry) {
    FoundFile file;
    file.name = raw_ ? compressedFileName(archiveName_) : memberName(entry);
    if (raw_) {
      // gunzip restores the stored name: the user sees that one.
      if (auto stored = gzipStoredName(bytes_); !stored.empty()) {
        file.name = cleanFileName(toValidUtf8(stored));
      }
    } else {
      centralName(entry, file);
    }
    file.where = where_;
    std::optional<std::uint64_t> declared;
    if (!raw_ && archive_entry_size_is_set(entry) && archive_entry_size(entry) >= 0) {
      declared = static_cast<std::uint64_t>(archive_entry_size(entry));
    }
    file.size = declared.value_or(0);

    if (archive_entry_is_encrypted(entry)) file.unscanned = unlock();
    if (!file.unscanned.empty()) {
      // encrypted, and no password opened it
    } else if (declared && *declared > limits_.maxMemberSize) {
      file.unscanned = sizeReason();
    } else if (declared && *declared > budgetLeft()) {
      file.unscanned = totalReason();
    } else {
      file.unscanned = archiveReason(0);
    }
    if (!file.unscanned.empty()) {
      deliver(file);
      pass(entry);
      return;
    }
    read(entry, file, declared);
  }

  // Reads the member into one buffer, stopping at the first limit it crosses.
  //
  // archive_read_data_block, not archive_read_data: when a block comes with ARCHIVE_WARN
  // (a zip member whose CRC does not match, stored uncompressed), archive_read_data drops
  // the block and the member would look empty; here the bytes are kept and the warning
  // reported.
  void read(archive_entry* entry, FoundFile& file, std::optional<std::uint64_t> declared) {
    const bool zip = (archive_format(a_.get()) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP;
    const la_int64_t packedStart = archive_filter_bytes(a_.get(), -1);
    // Reserve what the header promises, but never more than the limits allow: a header
    // may lie.
    auto ratioRoom =
        static_cast<std::uint64_t>(std::max<double>(kRatioFloor, limits_.maxRatio * bytes_.size()));
    std::uint64_t reserve = std::min({declared.value_or(0), limits_.maxMemberSize, budgetLeft(),
                                      ratioRoom > unpacked_ ? ratioRoom - unpacked_ : 0});
    std::string content;
    content.reserve(static_cast<std::size_t>(reserve));

    std::uint64_t seen = 0;  // bytes unpacked for this member, kept or not
    std::string reason;
    std::string warning;
    std::string fatal;  // the reader's message when nothing after this member can be read
    int repeats = 0;
    for (;;) {
      const void* block = nullptr;
      std::size_t length = 0;
      la_int64_t offset = 0;
      int r = archive_read_data_block(a_.get(), &block, &length, &offset);
      if (r == ARCHIVE_EOF) {
        // A sparse file may end in a hole.
        if (!declared || archive_entry_sparse_count(entry) == 0 || *declared <= content.size()) {
          break;
        }
        offset = static_cast<la_int64_t>(*declared);
        length = 0;
      } else if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
        if (r == ARCHIVE_WARN) warning = errorText(a_.get());
        if (length > 0) {
          repeats = 0;
        } else if (++repeats > kMaxRepeats) {
          reason = "damaged: " + (warning.empty() ? std::string("no progress") : warning);
          break;
        }
      } else if (r == ARCHIVE_RETRY && ++repeats <= kMaxRepeats) {
        continue;
      } else {
        // ARCHIVE_FAILED: this member is lost, the next may be fine; ARCHIVE_FATAL: the
        // rest of the archive is lost too.
        std::string message = errorText(a_.get());
        reason = archive_entry_is_data_encrypted(entry) || mentionsEncryption(message)
                     ? evasion("encrypted " + formatWord(a_.get()) + ", no password opened it")
                     : "damaged: " + message;
        if (r != ARCHIVE_FAILED && r != ARCHIVE_RETRY) fatal = message;
        break;
      }

      // A block starts at `offset` in the member; a gap before it is a hole of zeros.
      if (offset < 0 || static_cast<std::uint64_t>(offset) < content.size()) {
        reason = "damaged: data blocks out of order";
        break;
      }
      const std::uint64_t end = static_cast<std::uint64_t>(offset) + length;
      seen = end;
      la_int64_t packed = archive_filter_bytes(a_.get(), -1) - packedStart;
      if (end > limits_.maxMemberSize) {
        reason = sizeReason();
      } else if (end > budgetLeft()) {
        reason = totalReason();
      } else if (zip ? overRatio(end, packed > 0 ? static_cast<std::uint64_t>(packed) : 0)
                     : overRatio(end, bytes_.size())) {
        reason = ratioReason();
      } else if (Clock::now() > deadline_) {
        reason = tookTooLong();
        fatal = reason;
      }
      if (!reason.empty()) break;
      if (content.capacity() < end) {
        content.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(
            std::max<std::uint64_t>(content.capacity() * 2, end), limits_.maxMemberSize)));
      }
      content.resize(static_cast<std::size_t>(offset), '\0');
      content.append(static_cast<const char*>(block), length);
      if (r == ARCHIVE_EOF) break;
    }

    unpacked_ += std::max<std::uint64_t>(seen, content.size());
    if (!reason.empty()) {
      file.size = std::max({declared.value_or(0), seen, std::uint64_t{content.size()}});
      file.unscanned = reason;
      std::string().swap(content);  // one member in memory at a time, also while draining
      deliver(file);
      if (isEvasion(fatal)) {
        rest(fatal);
      } else if (!fatal.empty()) {
        stop(fatal);
      } else {
        pass(entry);
      }
      return;
    }
    file.content = content;
    file.size = content.size();
    if (archive_entry_is_encrypted(entry) && !note_.empty()) {
      file.note = file.note.empty() ? note_ : file.note + "; " + note_;
    }
    deliver(file);
    // The bytes were all read, but libarchive doubts them (a zip CRC that does not match):
    // they are what a user who ignores the warning gets, so they are scanned, and the
    // doubt is recorded.
    if (!warning.empty()) report(file.name + ": " + warning);
  }

  // A zip member is shown by its central directory's name, as Explorer and 7-Zip show it;
  // when the local header (what libarchive reads) says otherwise, the note says so.
  void centralName(archive_entry* entry, FoundFile& file) {
    if ((archive_format(a_.get()) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_ZIP) return;
    if (!zipNamesRead_) {
      zipNames_ = zipNames(bytes_, static_cast<std::size_t>(limits_.maxMembers) + 1);
      zipNamesRead_ = true;
    }
    if (index_ >= zipNames_.size()) return;
    const ZipName& z = zipNames_[index_];
    const char* raw = archive_entry_pathname(entry);
    // Only where the entry is the one that directory line describes.
    if (raw == nullptr || z.local != raw || z.central == z.local || z.central.empty()) return;
    file.note = "the zip's local header names it '" + oneLineUtf8(toValidUtf8(z.local), 300) + "'";
    std::string name = toValidUtf8(z.central);
    while (name.size() > 2 && name.compare(0, 2, "./") == 0) name.erase(0, 2);
    file.name = cleanFileName(name);
  }

  // Moves past a member whose bytes are not wanted. Where libarchive skips by seeking in
  // the buffer (zip with known sizes; tar, cpio, ar, iso9660, lha uncompressed) it is left
  // to do so; where skipping means decompressing (7z and rar solid blocks, cab folders,
  // anything in a gzip/xz/... stream), the bytes are read here and counted like any
  // others, so that skipping cannot cost more than the archive's limits.
  void pass(archive_entry* entry) {
    if (stopped_ || cheapSkip(entry)) return;
    int repeats = 0;
    for (;;) {
      const void* block = nullptr;
      std::size_t length = 0;
      la_int64_t offset = 0;
      int r = archive_read_data_block(a_.get(), &block, &length, &offset);
      if (r == ARCHIVE_OK || r == ARCHIVE_WARN) {
        if (length == 0) {
          if (++repeats > kMaxRepeats) return;
          continue;
        }
        repeats = 0;
        unpacked_ += length;
        std::string reason = archiveReason(0);
        if (reason.empty() && Clock::now() > deadline_) reason = tookTooLong();
        if (!reason.empty()) {
          rest(reason);
          return;
        }
        continue;
      }
      if (r == ARCHIVE_EOF || r == ARCHIVE_FAILED) return;  // end, or nothing to decode
      if (r == ARCHIVE_RETRY && ++repeats <= kMaxRepeats) continue;
      stop(errorText(a_.get()));
      return;
    }
  }

  // `entry` null: whether skipping members of this archive is cheap in general.
  bool cheapSkip(archive_entry* entry) const {
    if (archive_filter_count(a_.get()) > 1) return false;
    switch (archive_format(a_.get()) & ARCHIVE_FORMAT_BASE_MASK) {
      case ARCHIVE_FORMAT_ZIP:
        return entry == nullptr || archive_entry_size_is_set(entry) != 0;
      case ARCHIVE_FORMAT_TAR:
      case ARCHIVE_FORMAT_CPIO:
      case ARCHIVE_FORMAT_AR:
      case ARCHIVE_FORMAT_ISO9660:
      case ARCHIVE_FORMAT_LHA:
        return true;
      default:
        return false;
    }
  }

  void deliver(const FoundFile& file) {
    ++delivered_;
    locale_.outside([&] { visitor_.onFile(file); });
  }
  void report(const std::string& what) {
    locale_.outside([&] { visitor_.onError(label_ + ": " + what); });
  }
  // Something the walk cannot read past.
  void stop(const std::string& what) {
    stopped_ = true;
    report(what);
  }

  Utf8Ctype locale_;
  const ArchiveLimits& limits_;
  std::string_view bytes_;
  FileVisitor& visitor_;
  const ArchivePasswords& passwords_;
  std::string label_;
  std::string archiveName_;
  std::vector<std::string> where_;
  Clock::time_point deadline_;
  std::uint64_t index_ = 0;        // the current member's header number, from 0
  std::vector<ZipName> zipNames_;  // a zip's central directory, read at its first member
  bool zipNamesRead_ = false;
  bool tried_ = false;     // the passwords were tried
  bool unlocked_ = false;  // ... and one works: the reader has it
  std::string note_;       // which password, for the members it opened
  std::string word_;       // ... the password itself
  bool given_ = false;     // ... handed to the reader
  ArchivePtr a_;
  bool raw_ = false;
  bool stopped_ = false;
  std::uint64_t unpacked_ = 0;
  std::size_t delivered_ = 0;
};

}  // namespace

ArchiveWalker::ArchiveWalker(ArchiveLimits limits) : limits_(limits) {}

bool ArchiveWalker::isArchive(std::string_view bytes) const {
  Utf8Ctype locale;
  return openArchive(bytes).kind != Kind::None;
}

std::size_t ArchiveWalker::walk(std::string_view bytes, const FoundFile& archive,
                                FileVisitor& visitor, const ArchivePasswords& passwords) const {
  return Walk(limits_, bytes, archive, visitor, passwords).run();
}

}  // namespace bccsink::sandbox
