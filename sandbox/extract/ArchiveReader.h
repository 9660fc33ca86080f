#pragma once
// The libarchive side of the archive walker: a reader set up with the formats and
// in-process filters bccsink allows, opened from memory, with the UTF-8 locale libarchive
// needs for names, and the names and messages it hands back made fit to show. Used only
// by ArchiveWalker (its own file so that the walk's logic stays readable).

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <memory>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

// libarchive converts names between the archive's charset and the thread's locale. In the
// "C" locale that daemons start in, it cannot convert UTF-16 (7z) or UTF-8-flagged (zip,
// pax) names at all and hands back no name. So a walk runs with LC_CTYPE = C.UTF-8 in
// its own thread (uselocale), and the visitor is called back under the caller's locale.
class Utf8Ctype {
 public:
  Utf8Ctype() {
    static const locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
    if (utf8 != locale_t{}) {
      mine_ = utf8;
      previous_ = uselocale(utf8);
    }
  }
  ~Utf8Ctype() {
    if (previous_ != locale_t{}) uselocale(previous_);
  }
  Utf8Ctype(const Utf8Ctype&) = delete;
  Utf8Ctype& operator=(const Utf8Ctype&) = delete;

  template <typename F>
  void outside(F&& f) const {
    if (previous_ != locale_t{}) uselocale(previous_);
    f();
    if (mine_ != locale_t{}) uselocale(mine_);
  }

 private:
  locale_t mine_{};
  locale_t previous_{};
};

enum class Kind { None, Archive, CompressedFile };

struct Opened {
  ArchivePtr a;
  Kind kind = Kind::None;
};

// The formats bccsink reads (never mtree, which opens local files; not xar) and the
// decompressors that run inside the process.
void supportFilters(archive* a);
void supportFormats(archive* a);

// One compressed file (x.exe.gz): only when a decompressor recognised the stream.
Opened openCompressedFile(std::string_view bytes);
// An archive, else a compressed file, else Kind::None. `passphrase`: asked when an
// encrypted member is read and no passphrase is known (a passphrase can only be added
// before the reader is opened, so a password found later is handed over through it).
Opened openArchive(std::string_view bytes, archive_passphrase_callback* passphrase = nullptr,
                   void* data = nullptr);

// libarchive's last message: one line of valid UTF-8, bounded.
std::string errorText(archive* a);
// Whether a message says the bytes are encrypted.
bool mentionsEncryption(const std::string& message);
// A member's name as the user sees it (UTF-8, without a leading "./", cleaned).
std::string memberName(archive_entry* entry);
// x.exe.gz -> x.exe; x.tgz -> x.tar; no name -> "data".
std::string compressedFileName(const std::string& archiveName);
// What a reason calls an encrypted archive of this reader: zip, 7z, rar or archive.
std::string formatWord(archive* a);

}  // namespace bccsink::sandbox
