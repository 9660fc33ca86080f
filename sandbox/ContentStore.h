#pragma once
// Selected files' bytes, kept for the analyzers under DataDir/files/ab/abcdef... (the
// SHA-256): written once (temp file, fsync, rename), shared by every message that
// carries the same file, read by analyzers that run later or in another thread.

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

 private:
  std::string dir_;
};

}  // namespace bccsink::sandbox
