#include "sandbox/extract/ArchiveReader.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "base/FileName.h"
#include "base/Text.h"

namespace bccsink::sandbox {

namespace {

// Only decompressors that run inside the process: for a missing library libarchive would
// otherwise start an external program (lzop, lrzip, grzip) on hostile bytes.
using FilterSupport = int (*)(archive*);
const std::vector<FilterSupport>& inProcessFilters() {
  static const std::vector<FilterSupport> filters = [] {
    std::vector<FilterSupport> ok;
    for (FilterSupport f :
         {archive_read_support_filter_gzip, archive_read_support_filter_bzip2,
          archive_read_support_filter_xz, archive_read_support_filter_lzma,
          archive_read_support_filter_lzip, archive_read_support_filter_zstd,
          archive_read_support_filter_lz4, archive_read_support_filter_compress}) {
      ArchivePtr probe(archive_read_new());
      if (probe && f(probe.get()) == ARCHIVE_OK) ok.push_back(f);
    }
    return ok;
  }();
  return filters;
}

}  // namespace

void supportFilters(archive* a) {
  for (FilterSupport f : inProcessFilters()) f(a);
}

void supportFormats(archive* a) {
  // Not archive_read_support_format_all: it brings mtree, which opens local files.
  archive_read_support_format_zip(a);
  archive_read_support_format_7zip(a);
  archive_read_support_format_rar(a);
  archive_read_support_format_rar5(a);
  archive_read_support_format_tar(a);
  archive_read_support_format_cpio(a);
  archive_read_support_format_cab(a);
  archive_read_support_format_iso9660(a);
  archive_read_support_format_ar(a);
  archive_read_support_format_lha(a);
  // Not xar: libarchive before 3.8.2 reports wrong offsets for the second and later members
  // of a xar, and archive_read_data pads the bytes with zeros to match them.
}

// One compressed file (x.exe.gz). The raw format takes anything, so it only counts when a
// decompressor recognised the stream.
Opened openCompressedFile(std::string_view bytes) {
  ArchivePtr a(archive_read_new());
  if (!a) return {};
  supportFilters(a.get());
  archive_read_support_format_raw(a.get());
  int r = archive_read_open_memory(a.get(), bytes.data(), bytes.size());
  if ((r == ARCHIVE_OK || r == ARCHIVE_WARN) && archive_filter_count(a.get()) > 1 &&
      archive_filter_code(a.get(), 0) != ARCHIVE_FILTER_NONE) {
    return {std::move(a), Kind::CompressedFile};
  }
  return {};
}

Opened openArchive(std::string_view bytes, archive_passphrase_callback* passphrase, void* data) {
  if (bytes.empty()) return {};
  ArchivePtr a(archive_read_new());
  if (!a) return {};
  supportFilters(a.get());
  supportFormats(a.get());
  if (passphrase != nullptr) archive_read_set_passphrase_callback(a.get(), data, passphrase);
  int r = archive_read_open_memory(a.get(), bytes.data(), bytes.size());
  if (r == ARCHIVE_OK || r == ARCHIVE_WARN) return {std::move(a), Kind::Archive};
  a.reset();
  return openCompressedFile(bytes);
}

// libarchive's messages go into reports and logs, and may quote a member's name: one
// line of valid UTF-8, bounded.
constexpr std::size_t kMaxErrorText = 300;

std::string errorText(archive* a) {
  const char* text = archive_error_string(a);
  return oneLineUtf8(text != nullptr && *text != '\0' ? text : "unknown error", kMaxErrorText);
}

bool mentionsEncryption(const std::string& message) {
  const std::string text = lower(message);
  return text.find("passphrase") != std::string::npos ||
         text.find("encrypt") != std::string::npos || text.find("decrypt") != std::string::npos;
}

// Names in a zip without the UTF-8 flag are in some DOS code page we cannot know: each
// byte that starts no valid UTF-8 sequence becomes U+FFFD.
std::string memberName(archive_entry* entry) {
  const char* utf8 = archive_entry_pathname_utf8(entry);
  const char* raw = utf8 != nullptr ? utf8 : archive_entry_pathname(entry);
  std::string name = toValidUtf8(raw != nullptr ? raw : "");
  // Reported as given ("../x", "/etc/x" included: nothing is written to disk), but the
  // "./" that tar and cpio put in front of every name says nothing.
  while (name.size() > 2 && name.compare(0, 2, "./") == 0) name.erase(0, 2);
  // As an attachment's name is shown: no control characters, long names cut in the middle
  // keeping the extension.
  return cleanFileName(name);
}

// x.exe.gz -> x.exe; x.tgz -> x.tar; no name -> "data".
std::string compressedFileName(const std::string& archiveName) {
  static const std::pair<std::string_view, std::string_view> kSuffixes[] = {
      {".gz", ""},      {".gzip", ""},    {".bz2", ""},     {".bz", ""},      {".xz", ""},
      {".lzma", ""},    {".lz", ""},      {".zst", ""},     {".zstd", ""},    {".lz4", ""},
      {".z", ""},       {".tgz", ".tar"}, {".taz", ".tar"}, {".tbz", ".tar"}, {".tbz2", ".tar"},
      {".txz", ".tar"}, {".tlz", ".tar"}, {".tzst", ".tar"}};
  std::string lower = archiveName;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  });
  for (const auto& [suffix, replacement] : kSuffixes) {
    if (lower.size() > suffix.size() &&
        lower.compare(lower.size() - suffix.size(), suffix.size(), suffix) == 0) {
      return archiveName.substr(0, archiveName.size() - suffix.size()) + std::string(replacement);
    }
  }
  return archiveName.empty() ? "data" : archiveName;
}

// What the reason calls an encrypted archive.
std::string formatWord(archive* a) {
  switch (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) {
    case ARCHIVE_FORMAT_ZIP:
      return "zip";
    case ARCHIVE_FORMAT_7ZIP:
      return "7z";
    case ARCHIVE_FORMAT_RAR:
    case ARCHIVE_FORMAT_RAR_V5:
      return "rar";
    default:
      return "archive";
  }
}

}  // namespace bccsink::sandbox
