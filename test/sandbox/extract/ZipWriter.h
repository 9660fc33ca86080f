#pragma once
// A zip written in memory with libarchive, for tests that need an archive or an OOXML file.

#include <archive.h>
#include <archive_entry.h>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bccsink::test {

// A zip of `members` (name, bytes), written by libarchive into memory; with a passphrase,
// members are encrypted (ZipCrypto).
inline std::string zip(const std::vector<std::pair<std::string, std::string>>& members,
                       const std::string& passphrase = "") {
  std::size_t total = 64 << 10;
  for (const auto& [name, bytes] : members) total += name.size() + bytes.size() + 1024;
  std::string buffer(total, '\0');
  std::size_t used = 0;
  archive* a = archive_write_new();
  auto check = [&](int r, const char* what) {
    if (r != ARCHIVE_OK) {
      std::string message = std::string(what) + ": " + archive_error_string(a);
      archive_write_free(a);
      throw std::runtime_error(message);
    }
  };
  check(archive_write_set_format_zip(a), "format");
  if (!passphrase.empty()) {
    check(archive_write_set_options(a, "zip:encryption=zipcrypt"), "options");
    check(archive_write_set_passphrase(a, passphrase.c_str()), "passphrase");
  }
  check(archive_write_open_memory(a, buffer.data(), buffer.size(), &used), "open");
  for (const auto& [name, bytes] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_mtime(e, 1700000000, 0);
    archive_entry_set_size(e, static_cast<la_int64_t>(bytes.size()));
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    check(r, "header");
    if (archive_write_data(a, bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size()))
      check(ARCHIVE_FATAL, "data");
  }
  check(archive_write_close(a), "close");
  archive_write_free(a);
  buffer.resize(used);
  return buffer;
}

}  // namespace bccsink::test
