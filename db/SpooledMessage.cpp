#include "db/SpooledMessage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "db/SpoolRecord.h"

namespace bccsink::db {
namespace {

std::runtime_error unreadable(const std::string& locator, const std::string& reason) {
  return std::runtime_error("cannot read the spooled message " + locator + ": " + reason);
}

// Closes the descriptor on every way out.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::uint64_t fileSize(int fd) {
  off_t end = lseek(fd, 0, SEEK_END);
  if (end < 0) throw std::runtime_error(std::strerror(errno));
  return static_cast<std::uint64_t>(end);
}

MappedFile mapMessage(const std::string& spoolDir, const std::string& locator,
                      std::string& recordId) {
  Locator where;
  if (!parseLocator(locator, where)) throw unreadable(locator, "not a spool locator");
  std::string path = spoolDir + "/" + where.file;
  Fd file{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw unreadable(locator, std::strerror(errno));
  try {
    if (!where.record) return MappedFile(file.fd, path, 0, fileSize(file.fd));
    char header[kRecordHeaderSize];
    ssize_t n = pread(file.fd, header, sizeof header, static_cast<off_t>(where.offset));
    if (n < 0) throw std::runtime_error(std::strerror(errno));
    RecordHeader h;
    std::string why;
    auto state = decodeRecordHeader(std::string_view(header, static_cast<std::size_t>(n)),
                                    where.offset, h, why);
    if (state == HeaderState::Zero) throw std::runtime_error("no record there");
    if (state == HeaderState::Invalid) throw std::runtime_error(why);
    if (h.dead)
      throw std::runtime_error(
          "the record is marked dead (never acknowledged, or its content expired)");
    recordId = h.id;
    return MappedFile(file.fd, path, h.payloadOffset(), h.length);
  } catch (const std::exception& e) {
    throw unreadable(locator, e.what());
  }
}

}  // namespace

SpooledMessage::SpooledMessage(const std::string& spoolDir, const std::string& locator)
    : mapped_(mapMessage(spoolDir, locator, recordId_)) {}

}  // namespace bccsink::db
