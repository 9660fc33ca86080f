#pragma once
// The spool: one file per accepted message under DataDir/spool, written as ID.eml.tmp
// first, fsync'd, then renamed to ID.eml in the same folder (a commit is a rename). The directory
// entry is made durable by the group committer with one fsync of the directory per batch.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink {

class SpoolFile {
 public:
  ~SpoolFile();  // removes the temporary file unless finished
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;

  const std::string& id() const { return id_; }
  bool write(std::string_view bytes);
  // Flushes, fsyncs, closes and renames into the spool. False (with errno text in
  // error()) on any failure; the temporary file is then removed.
  bool finish();
  // Removes the finished file again (when its row could not be committed).
  void discard();

  std::uint64_t size() const { return size_; }
  const std::string& sha256() const { return sha256_; }
  std::string fileName() const { return id_ + ".eml"; }
  const std::string& error() const { return error_; }

 private:
  friend class Spool;
  SpoolFile(std::string dir, std::string id, int fd);
  bool flush();

  std::string dir_;
  std::string id_;
  int fd_;
  std::string buffer_;
  std::uint64_t size_ = 0;
  std::string sha256_;
  std::string error_;
  bool finished_ = false;
  struct Digest;
  std::unique_ptr<Digest> digest_;
};

class Spool {
 public:
  // Creates DataDir/spool when missing; throws on failure.
  explicit Spool(std::string dir);
  ~Spool();

  const std::string& dir() const { return dir_; }
  // A new file for message `id`; nullptr with the reason in `error` on failure.
  std::unique_ptr<SpoolFile> create(const std::string& id, std::string& error);
  // fsync of the spool directory: makes the renames of finished files durable.
  bool syncDirectory(std::string& error);
  // Free bytes for unprivileged writers on the spool's file system.
  std::uint64_t freeBytes() const;
  // Removes temporary files a crashed run left behind (never acknowledged); returns
  // their names for the log.
  std::vector<std::string> removeTemporaries();
  // The names of the finished message files (for the consistency check).
  std::vector<std::string> files() const;

 private:
  std::string dir_;
  int dirFd_ = -1;
};

}  // namespace bccsink
