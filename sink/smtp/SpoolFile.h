#pragma once
// A large message's own file in the spool (more than a segment record takes): written as
// DataDir/spool/ID.eml.tmp while it arrives, then, in the group committer's round,
// fdatasync'd and renamed to ID.eml (a commit is a rename; the round fsyncs the folder
// once for all of its files).

#include <cstdint>
#include <string>
#include <string_view>

namespace bccsink {

class SpoolFile {
 public:
  // Creates DIR/ID.eml.tmp; check error() (empty when it is open).
  SpoolFile(std::string dir, std::string id);
  ~SpoolFile();  // removes the temporary file unless finished
  SpoolFile(const SpoolFile&) = delete;
  SpoolFile& operator=(const SpoolFile&) = delete;

  const std::string& id() const { return id_; }
  // False once writing failed (the reason in error()).
  bool write(std::string_view bytes);
  // Flushes, fdatasyncs, closes and renames into place. False (with errno text in
  // error()) on any failure; the temporary file is then removed.
  bool finish();
  // Removes the finished file again (its row could not be committed).
  void discard();

  std::uint64_t size() const { return size_; }
  std::string fileName() const { return id_ + ".eml"; }
  const std::string& error() const { return error_; }

 private:
  bool flush();
  std::string path(bool temporary) const;

  std::string dir_;
  std::string id_;
  int fd_ = -1;
  std::string buffer_;
  std::uint64_t size_ = 0;
  std::string error_;
  bool created_ = false;  // the temporary file is ours to remove
  bool renamed_ = false;
};

}  // namespace bccsink
