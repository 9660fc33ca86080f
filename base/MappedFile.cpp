#include "base/MappedFile.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace bccsink {
namespace {

// A regular file's size; throws otherwise.
std::uint64_t regularFileSize(int fd, const std::string& name) {
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    throw std::runtime_error(name + ": cannot stat: " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw std::runtime_error(name + ": not a readable regular file");
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

MappedFile::MappedFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  try {
    map(fd, path, 0, regularFileSize(fd, path));
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
}

MappedFile::MappedFile(int fd, const std::string& name, std::uint64_t offset,
                       std::uint64_t length) {
  auto size = regularFileSize(fd, name);
  if (offset > size || length > size - offset) {
    throw std::runtime_error(name + ": ends at byte " + std::to_string(size) + ", before " +
                             std::to_string(offset + length));
  }
  map(fd, name, offset, length);
}

void MappedFile::map(int fd, const std::string& name, std::uint64_t offset, std::uint64_t length) {
  size_ = static_cast<std::size_t>(length);
  if (size_ == 0) return;
  static const std::uint64_t page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
  std::uint64_t start = offset - offset % page;
  skip_ = static_cast<std::size_t>(offset - start);
  mapped_ = skip_ + size_;
  data_ = mmap(nullptr, mapped_, PROT_READ, MAP_SHARED, fd, static_cast<off_t>(start));
  if (data_ == MAP_FAILED) {
    data_ = nullptr;
    throw std::runtime_error("cannot map " + name + ": " + std::strerror(errno));
  }
  madvise(data_, mapped_, MADV_SEQUENTIAL);
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(other.data_), mapped_(other.mapped_), skip_(other.skip_), size_(other.size_) {
  other.data_ = nullptr;
  other.mapped_ = other.skip_ = other.size_ = 0;
}

MappedFile::~MappedFile() {
  if (data_) munmap(data_, mapped_);
}

}  // namespace bccsink
