#pragma once
// Writes archives with libarchive's writer, in memory, for the archive tests: any format
// and filter libarchive writes, encrypted ones too (options "zip:encryption=zipcrypt" and a
// passphrase), so the tests need no binary fixtures.

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace bccsink::test {

// Writes archives with libarchive's writer, so the tests need no binary fixtures.
struct Member {
  std::string name;
  std::string content{};
  std::uint64_t zeros = 0;  // instead of content: this many zero bytes, written in pieces
  unsigned type = AE_IFREG;
  std::string linkTarget{};
};

inline la_ssize_t appendTo(archive*, void* out, const void* buffer, size_t length) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

inline std::string buildArchive(const std::string& format, const std::string& filter,
                                const std::vector<Member>& members, const std::string& options = "",
                                const std::string& passphrase = "") {
  // Names are given in UTF-8; the writer converts them through the thread's locale.
  locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  locale_t previous = uselocale(utf8);
  std::string out;
  archive* a = archive_write_new();
  auto check = [&](int r, const char* what) {
    if (r != ARCHIVE_OK) {
      std::string message = std::string(what) + ": " + archive_error_string(a);
      archive_write_free(a);
      uselocale(previous);
      freelocale(utf8);
      throw std::runtime_error(message);
    }
  };
  check(archive_write_set_format_by_name(a, format.c_str()), "format");
  if (!filter.empty()) check(archive_write_add_filter_by_name(a, filter.c_str()), "filter");
  if (!options.empty()) check(archive_write_set_options(a, options.c_str()), "options");
  if (!passphrase.empty()) check(archive_write_set_passphrase(a, passphrase.c_str()), "pass");
  check(archive_write_set_bytes_in_last_block(a, 1), "block");
  check(archive_write_open(a, &out, nullptr, appendTo, nullptr), "open");
  const std::string zeros(1 << 20, '\0');
  for (const auto& m : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname_utf8(e, m.name.c_str());
    archive_entry_set_filetype(e, m.type);
    archive_entry_set_perm(e, m.type == AE_IFDIR ? 0755 : 0644);
    archive_entry_set_mtime(e, 1700000000, 0);
    if (!m.linkTarget.empty()) archive_entry_set_symlink(e, m.linkTarget.c_str());
    archive_entry_set_size(
        e, m.type == AE_IFREG ? static_cast<la_int64_t>(m.content.size() + m.zeros) : 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    check(r, "header");
    if (m.type != AE_IFREG) continue;
    if (!m.content.empty() && archive_write_data(a, m.content.data(), m.content.size()) !=
                                  static_cast<la_ssize_t>(m.content.size())) {
      check(ARCHIVE_FATAL, "data");
    }
    for (std::uint64_t left = m.zeros; left > 0;) {
      std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, zeros.size()));
      if (archive_write_data(a, zeros.data(), n) != static_cast<la_ssize_t>(n)) {
        check(ARCHIVE_FATAL, "zeros");
      }
      left -= n;
    }
  }
  check(archive_write_close(a), "close");
  archive_write_free(a);
  uselocale(previous);
  freelocale(utf8);
  return out;
}

}  // namespace bccsink::test
