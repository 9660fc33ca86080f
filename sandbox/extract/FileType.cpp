#include "sandbox/extract/FileType.h"

#include <archive.h>
#include <archive_entry.h>
#include <magic.h>

#include <algorithm>
#include <array>
#include <mutex>
#include <stdexcept>

#include "base/FileName.h"
#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

// A zip is looked into as far as its first kMaxZipEntries members; an OOXML package names
// [Content_Types].xml and its parts in far fewer.
constexpr int kMaxZipEntries = 1000;
// How much of [Content_Types].xml is read to look for a macro-enabled content type; real
// ones are a few KiB, and the bound keeps a deflate bomb named like one harmless.
constexpr std::size_t kMaxContentTypesBytes = 256 * 1024;
// Descriptions quote document metadata (title, author) that the sender chose; keep rows
// and log lines bounded. libmagic escapes unprintable bytes, so the text is ASCII.
constexpr std::size_t kMaxDescription = 512;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool startsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Whether `word` is one of the space-separated words of `list`.
bool isOneOf(std::string_view word, std::string_view list) {
  while (!list.empty()) {
    auto space = list.find(' ');
    if (list.substr(0, space) == word) return true;
    if (space == std::string_view::npos) break;
    list.remove_prefix(space + 1);
  }
  return false;
}

// What member names (and the content-type list) of a zip say about an OPC package.
struct ZipLook {
  bool listed = false;        // libarchive read the central directory
  bool contentTypes = false;  // holds [Content_Types].xml: an OOXML package
  bool macros = false;        // holds vbaProject.bin, or a macroEnabled/vbaProject content type
};

bool readContentTypesSaysMacros(archive* a) {
  std::string text;
  std::array<char, 16 * 1024> buf;
  while (text.size() < kMaxContentTypesBytes) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n <= 0) break;  // end, or an error (encrypted, damaged): use what was read
    text.append(buf.data(), static_cast<std::size_t>(n));
  }
  text = lower(text);
  return contains(text, "macroenabled") || contains(text, "vbaproject");
}

// Lists member names only; the one member read is [Content_Types].xml, bounded. The
// seekable reader alone is registered: it finds members through the central directory, so
// moving past a member is a seek, never an inflate of its data (the streaming reader
// inflates a member of unknown length to find its end, which a bomb turns into minutes).
ZipLook lookIntoZip(std::string_view bytes) {
  ZipLook look;
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  if (!a) return look;
  archive_read_support_format_zip_seekable(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) return look;
  for (int i = 0; i < kMaxZipEntries; ++i) {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) {
      look.listed = true;
      break;
    }
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) break;
    look.listed = true;
    const char* raw = archive_entry_pathname(entry);
    if (!raw) continue;
    // OPC part names compare case-insensitively (ECMA-376 part 2, 6.2.2.3).
    std::string name = lower(raw);
    std::string_view base = name;
    if (auto slash = base.find_last_of('/'); slash != std::string_view::npos) {
      base.remove_prefix(slash + 1);
    }
    if (name == "[content_types].xml") {
      look.contentTypes = true;
      if (readContentTypesSaysMacros(a.get())) look.macros = true;
    } else if (base == "vbaproject.bin") {
      look.macros = true;
    }
  }
  return look;
}

bool looksLikeZip(std::string_view bytes, std::string_view mime) {
  return startsWith(bytes, "PK\x03\x04") || mime == "application/zip" ||
         startsWith(mime, "application/vnd.openxmlformats-officedocument.") ||
         contains(mime, "macroenabled");
}

// MIME types (lowercase) as libmagic 5.44 and later name them, older names beside.
constexpr std::string_view kPeTypes =
    "application/vnd.microsoft.portable-executable application/x-dosexec "
    "application/x-msdownload application/x-ms-ne-executable";
constexpr std::string_view kElfTypes =
    "application/x-executable application/x-sharedlib application/x-pie-executable "
    "application/x-object application/x-coredump";
constexpr std::string_view kDiskImageTypes =
    "application/x-iso9660-image application/x-compressed-iso application/x-apple-diskimage "
    "application/x-raw-disk-image application/x-qemu-disk application/x-virtualbox-vhd "
    "application/x-virtualbox-vdi application/x-vhd application/x-udf-image";
constexpr std::array<std::string_view, 9> kDiskImageDescriptions = {
    "ISO 9660",           "UDF filesystem",     "Microsoft Disk Image",  "DOS/MBR boot sector",
    "QEMU QCOW",          "VMware4 disk image", "VirtualBox Disk Image", "Apple Driver Map",
    "Apple Partition Map"};
constexpr std::string_view kOleTypes =
    "application/x-ole-storage application/msword application/vnd.ms-excel "
    "application/vnd.ms-powerpoint application/vnd.ms-office application/vnd.ms-outlook "
    "application/vnd.visio application/vnd.ms-project application/vnd.ms-publisher "
    "application/cdfv2 application/x-cdf";
constexpr std::string_view kScriptTypes =
    "text/x-shellscript text/x-python text/x-script.python text/x-perl text/x-ruby text/x-php "
    "text/x-tcl text/x-lua text/x-awk text/x-msdos-batch application/javascript "
    "text/javascript application/x-javascript";
constexpr std::string_view kArchiveTypes =
    "application/zip application/x-zip application/x-zip-compressed application/java-archive "
    "application/x-7z-compressed application/x-rar application/vnd.rar "
    "application/x-rar-compressed application/gzip application/x-gzip application/x-bzip "
    "application/x-bzip2 application/x-xz application/x-lzma application/x-lzip "
    "application/x-lz4 application/zstd application/x-zstd application/x-compress "
    "application/x-tar application/x-gtar application/x-ustar "
    "application/vnd.ms-cab-compressed application/x-arj application/x-cpio "
    "application/x-lzh-compressed application/x-lha application/x-ace-compressed "
    "application/x-xar application/x-ms-compress-szdd";
// Scripts that libmagic has no rule for (VBScript, PowerShell, JScript...) come out as
// plain text, or as "C source" / "Java source" for JavaScript: the name decides for text.
constexpr std::string_view kScriptExtensions =
    "js jse vbs vbe wsf wsh wsc sct hta ps1 psm1 bat cmd sh py pl";

std::string familyOf(std::string_view bytes, std::string_view mimeType,
                     std::string_view description, std::string_view name) {
  const std::string mime = lower(mimeType);
  const std::string_view desc = description;

  if (mime == "application/x-ms-shortcut" || contains(desc, "MS Windows shortcut")) return "lnk";
  // An MSI is an OLE2 file whose root storage has MSI's CLSID; libmagic says so in both.
  if (mime == "application/x-msi" || mime == "application/vnd.ms-msi" ||
      contains(desc, "MSI Installer")) {
    return "msi";
  }
  if (isOneOf(mime, kPeTypes) || startsWith(desc, "PE32") ||
      startsWith(desc, "MS-DOS executable")) {
    return "pe";
  }
  if (isOneOf(mime, kElfTypes) || startsWith(desc, "ELF ")) return "elf";
  if (mime == "application/x-mach-binary" || startsWith(desc, "Mach-O")) return "macho";
  // Before archives: an ISO or a disk image may also match an archive rule.
  if (isOneOf(mime, kDiskImageTypes) ||
      std::any_of(kDiskImageDescriptions.begin(), kDiskImageDescriptions.end(),
                  [&](std::string_view d) { return contains(desc, d); })) {
    return "disk-image";
  }

  if (looksLikeZip(bytes, mime)) {
    ZipLook look = lookIntoZip(bytes);
    if (look.contentTypes) {
      return look.macros || contains(mime, "macroenabled") ? "ooxml-macro" : "ooxml";
    }
    // Listed without [Content_Types].xml: no Office application opens it, whatever libmagic
    // guessed from a first member named word/... (it says "Microsoft Word 2007+" then).
    if (look.listed) return "archive";  // jar, odt, epub, apk and plain zips
    // Not listable (cut, damaged) but libmagic read an OOXML header: believe it.
    if (contains(mime, "macroenabled")) return "ooxml-macro";
    if (startsWith(mime, "application/vnd.openxmlformats-officedocument.")) return "ooxml";
  }

  if (isOneOf(mime, kOleTypes) || startsWith(desc, "Composite Document File") ||
      startsWith(desc, "CDFV2")) {
    return "ole-office";
  }
  if (mime == "application/pdf" || startsWith(desc, "PDF document")) return "pdf";
  if (mime == "text/rtf" || mime == "application/rtf" || startsWith(desc, "Rich Text Format")) {
    return "rtf";
  }
  if (mime == "text/html" || mime == "application/xhtml+xml") return "html";
  if (isOneOf(mime, kScriptTypes)) return "script";
  // Scripts with a #! line libmagic has no MIME type for: "a /usr/bin/env node script, ...".
  if (startsWith(mime, "text/") && contains(desc, " script")) return "script";
  if (startsWith(mime, "image/")) return "image";
  if (isOneOf(mime, kArchiveTypes) || contains(desc, "archive data") ||
      contains(desc, "compressed data") || contains(desc, "tar archive")) {
    return "archive";
  }
  if (startsWith(mime, "text/")) {
    return isOneOf(extensionOf(name), kScriptExtensions) ? "script" : "text";
  }
  return "other";
}

}  // namespace

struct FileTyper::Impl {
  std::mutex mutex;
  magic_t mime = nullptr;
  magic_t description = nullptr;

  ~Impl() {
    if (mime) magic_close(mime);
    if (description) magic_close(description);
  }

  // Never decompress: MAGIC_COMPRESS stays off, and MAGIC_NO_CHECK_COMPRESS skips the
  // compressed-file pass altogether. gzip, xz... are still named by their magic rules.
  static magic_t open(int flags) {
    magic_t cookie = magic_open(flags | MAGIC_NO_CHECK_COMPRESS);
    if (!cookie) throw std::runtime_error("libmagic: magic_open failed");
    if (magic_load(cookie, nullptr) != 0) {
      std::string why = magic_error(cookie) ? magic_error(cookie) : "unknown error";
      magic_close(cookie);
      throw std::runtime_error("libmagic: cannot load the magic database: " + why);
    }
    return cookie;
  }

  // Caller holds the mutex. magic_buffer() fails only on resource trouble (bytes it cannot
  // name are "data"); then the answer is `fallback` and libmagic's reason.
  static std::string ask(magic_t cookie, std::string_view bytes, const std::string& fallback,
                         bool withReason) {
    static const char empty = 0;
    const char* answer = magic_buffer(cookie, bytes.empty() ? &empty : bytes.data(), bytes.size());
    if (!answer) {
      const char* why = magic_error(cookie);
      return withReason && why ? fallback + " (libmagic: " + why + ")" : fallback;
    }
    std::string out(answer);
    if (out.size() > kMaxDescription) out.resize(kMaxDescription);
    return out;
  }
};

FileTyper::FileTyper() : impl_(std::make_unique<Impl>()) {
  impl_->mime = Impl::open(MAGIC_MIME_TYPE);
  impl_->description = Impl::open(MAGIC_NONE);
}

FileTyper::~FileTyper() = default;

TrueType FileTyper::classify(std::string_view bytes, std::string_view name) const {
  TrueType type;
  {
    std::lock_guard lock(impl_->mutex);
    type.mimeType = Impl::ask(impl_->mime, bytes, "application/octet-stream", false);
    type.description = Impl::ask(impl_->description, bytes, "data", true);
  }
  type.family = familyOf(bytes, type.mimeType, type.description, name);
  return type;
}

namespace {

struct Claim {
  std::string_view extensions;  // space separated
  std::string_view families;    // space separated families a file so named may be
};

// What an extension claims to be. A few claims allow more than one family where benign
// files really come that way: a .com or .pif is often no PE at all, a .docm need not hold
// macros, a raw .img or a compressed .dmg has no magic libmagic knows, a script is text to
// libmagic unless it knows the language, and zip-based office formats that were not read
// as OOXML are archives.
constexpr Claim kClaims[] = {
    {"exe dll scr cpl ocx sys drv efi xll", "pe"},
    {"com pif", "pe other"},
    {"so", "elf"},
    {"dylib", "macho"},
    {"msi", "msi"},
    {"msp mst", "msi ole-office"},
    {"doc dot xls xlt xla ppt pps pot msg vsd pub mpp", "ole-office"},
    {"docx dotx xlsx xltx pptx ppsx potx vsdx", "ooxml archive"},
    {"docm dotm xlsm xltm xlam xlsb pptm ppsm", "ooxml-macro ooxml archive"},
    {"odt ods odp odg", "archive"},
    {"pdf", "pdf"},
    {"rtf", "rtf"},
    {"js jse vbs vbe wsf wsh ps1 psm1 bat cmd sh py pl", "script text"},
    {"hta", "html script text"},
    {"lnk", "lnk"},
    {"iso vhd vhdx", "disk-image"},
    {"img", "disk-image other"},
    {"dmg", "disk-image archive other"},
    {"zip jar 7z rar gz tgz bz2 xz zst tar cab arj lzh cpio", "archive"},
    {"html htm xhtml shtml", "html"},
    {"jpg jpeg png gif bmp tif tiff webp ico", "image"},
    {"svg", "image text html"},
    {"txt csv", "text"},
};

}  // namespace

bool extensionMismatch(std::string_view extension, const TrueType& type) {
  if (extension.empty() || type.mimeType == "application/x-empty") return false;
  const std::string ext = lower(extension);
  for (const Claim& claim : kClaims) {
    if (isOneOf(ext, claim.extensions)) return !isOneOf(type.family, claim.families);
  }
  return false;
}

}  // namespace bccsink::sandbox
