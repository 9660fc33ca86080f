#pragma once
// A file, or a range of one, mapped read-only into memory: readers take the bytes in
// place (the MIME walker, YARA, the header reader), so a message costs page cache, not a
// heap copy.

#include <cstdint>
#include <string>
#include <string_view>

namespace bccsink {

class MappedFile {
 public:
  // The whole file. Throws std::runtime_error naming the file and the reason.
  explicit MappedFile(const std::string& path);
  // `length` bytes from `offset` of the open file `fd` (not taken over; it may be closed
  // once this returns). `name` is for errors. Throws when the file does not hold them.
  MappedFile(int fd, const std::string& name, std::uint64_t offset, std::uint64_t length);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&&) = delete;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view bytes() const { return {static_cast<const char*>(data_) + skip_, size_}; }

 private:
  void map(int fd, const std::string& name, std::uint64_t offset, std::uint64_t length);

  void* data_ = nullptr;    // the mapping, from a page boundary
  std::size_t mapped_ = 0;  // its length
  std::size_t skip_ = 0;    // from the page boundary to the first byte asked for
  std::size_t size_ = 0;
};

}  // namespace bccsink
