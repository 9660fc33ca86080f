#pragma once
// A spooled message mapped read-only into memory: the MIME walker reads it in place,
// so a message costs page cache, not a heap copy.

#include <string>
#include <string_view>

namespace bccsink::sandbox {

class MappedFile {
 public:
  // Throws std::runtime_error naming the file and the reason.
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {static_cast<const char*>(data_), size_}; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace bccsink::sandbox
