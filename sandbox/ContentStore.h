#pragma once
// Selected files' bytes, kept for the analyzers under DataDir/files/ab/abcdef... (the
// SHA-256): written once (temp file, fsync, rename), shared by every message that
// carries the same file, read by analyzers that run later or in another thread; removed by
// retention (sink/retention) when no copy whose content is kept refers to it.

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

namespace bccsink::sandbox {

class ContentStore {
 public:
  // Creates the folder when missing; throws std::runtime_error on failure.
  explicit ContentStore(std::string dir);

  // Stores `bytes` under `sha256` unless already there; returns the path. Throws
  // std::runtime_error (disk full, permissions) with the reason.
  std::string put(const std::string& sha256, std::string_view bytes) const;
  std::string pathOf(const std::string& sha256) const;
  bool has(const std::string& sha256) const;
  // Deletes the stored file (retention, once no kept copy refers to it); the bytes it
  // took on disk, 0 when it was not there. Throws std::runtime_error when it cannot.
  std::uint64_t remove(const std::string& sha256) const;
  // remove(), unless the file was stored or met again (put() of a file already there)
  // after `since` (seconds since the epoch): an extraction that just found it in another
  // copy uses it before that copy's rows are committed. 0 when it stayed.
  std::uint64_t removeIfUntouchedSince(const std::string& sha256, std::time_t since) const;

 private:
  std::string dir_;
};

}  // namespace bccsink::sandbox
