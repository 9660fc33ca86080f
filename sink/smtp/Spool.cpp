#include "sink/smtp/Spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>
#include <tuple>
#include <utility>

#include "db/SegmentReader.h"
#include "sink/smtp/SegmentPreparer.h"

namespace bccsink {
namespace {

constexpr const char* kSegmentsFolder = "segments";

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

void makeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::runtime_error(errnoText("cannot create " + path));
  }
}

int openDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(errnoText("cannot open " + path));
  return fd;
}

std::vector<std::string> namesEndingWith(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (auto* e = readdir(d)) {
    std::string_view name = e->d_name;
    if (name.size() > suffix.size() && name.substr(name.size() - suffix.size()) == suffix) {
      out.emplace_back(name);
    }
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::uint64_t> segmentNumbers(const std::string& segmentsDir) {
  std::vector<std::uint64_t> out;
  for (const auto& name : namesEndingWith(segmentsDir, ".seg")) {
    if (auto n = db::segmentNumber(name)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Writes all of `iov` at `offset`, in as few pwritev calls as IOV_MAX allows.
bool writeAll(int fd, std::vector<iovec>& iov, std::uint64_t offset) {
  std::size_t first = 0;
  while (first < iov.size()) {
    int count = static_cast<int>(std::min<std::size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = pwritev(fd, &iov[first], count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    offset += static_cast<std::uint64_t>(n);
    auto left = static_cast<std::size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return true;
}

bool pwriteAll(int fd, std::string_view bytes, std::uint64_t offset) {
  iovec one{const_cast<char*>(bytes.data()), bytes.size()};
  std::vector<iovec> iov{one};
  return writeAll(fd, iov, offset);
}

// Valid record headers in `bytes` from `from` on: what a torn batch may have left behind
// its first damaged record.
std::vector<db::RecordHeader> headersAfter(std::string_view bytes, std::uint64_t from) {
  std::vector<db::RecordHeader> out;
  for (std::string_view magic : db::recordMagics()) {
    for (auto at = bytes.find(magic, from); at != std::string_view::npos;
         at = bytes.find(magic, at + 1)) {
      db::RecordHeader h;
      std::string why;
      if (db::decodeRecordHeader(bytes.substr(at), at, h, why) == db::HeaderState::Valid) {
        out.push_back(std::move(h));
      }
    }
  }
  return out;
}

// Overwrites with zeros every 64 KiB stretch of [from, end of `bytes`) that is not zero.
bool zeroFrom(int fd, std::string_view bytes, std::uint64_t from) {
  static const std::string zeros(64 * 1024, '\0');
  for (std::uint64_t at = from; at < bytes.size(); at += zeros.size()) {
    auto piece = bytes.substr(at, zeros.size());
    if (piece == std::string_view(zeros).substr(0, piece.size())) continue;
    if (!pwriteAll(fd, std::string_view(zeros).substr(0, piece.size()), at)) return false;
  }
  return fdatasync(fd) == 0;
}

}  // namespace

Spool::Spool(std::string dir, std::uint64_t segmentSize)
    : dir_(std::move(dir)), segmentsDir_(dir_ + "/" + kSegmentsFolder), segmentSize_(segmentSize) {
  makeDir(dir_);
  dirFd_ = openDir(dir_);
  makeDir(segmentsDir_);
  segmentsFd_ = openDir(segmentsDir_);
  preparer_ = std::make_unique<SegmentPreparer>(segmentsDir_, segmentsFd_, segmentSize_);
}

Spool::~Spool() {
  preparer_.reset();
  if (fd_ >= 0) close(fd_);
  if (segmentsFd_ >= 0) close(segmentsFd_);
  if (dirFd_ >= 0) close(dirFd_);
}

std::string Spool::segmentPath(std::uint64_t number) const {
  return segmentsDir_ + "/" + db::segmentFileName(number);
}

SpoolRecovery Spool::recover(const RowLookup& rows) {
  SpoolRecovery report;
  // Standalone files still named *.tmp and segments never finished preparing were never
  // acknowledged: the MTA still holds those messages.
  for (const auto& name : namesEndingWith(dir_, ".eml.tmp")) {
    unlink((dir_ + "/" + name).c_str());
    report.removedTemporaries.push_back(name);
  }
  for (const auto& name : namesEndingWith(segmentsDir_, ".seg.prep")) {
    unlink((segmentsDir_ + "/" + name).c_str());
  }
  auto numbers = segmentNumbers(segmentsDir_);
  std::string error;
  if (numbers.empty()) {
    if (!preparer_->prepareNow(1, error)) throw std::runtime_error(error);
    numbers.push_back(1);
  }
  // The current segment is the last with any byte written; the empty ones after it were
  // prepared ahead.
  std::uint64_t current = numbers.front();
  for (auto it = numbers.rbegin(); it != numbers.rend(); ++it) {
    db::SegmentReader r(segmentPath(*it), db::SegmentReader::Verify::Headers);
    db::RecordHeader h;
    if (r.next(h) || !r.damage().empty() || !r.zeroFromTail()) {
      current = *it;
      break;
    }
  }

  std::vector<std::string> dead;
  std::vector<db::MessageRecord> restorable;
  // Live records that no row names. With an envelope: acknowledged once the record was on
  // disk, their rows' commit lost with the machine (or never made: a crash between the
  // fdatasync and the commit); their rows are restored. Without one (version 1): from a
  // batch whose rows were never committed, marked dead. A failed commit's records were
  // marked dead before its 451. Returns how many there were.
  auto markRowless = [&](std::uint64_t number, const db::SegmentReader& reader,
                         const std::vector<db::RecordHeader>& records) {
    if (!rows) return std::size_t{0};
    std::size_t before = dead.size() + restorable.size();
    std::vector<std::string> ids;
    for (const auto& h : records) {
      if (!h.dead) ids.push_back(h.id);
    }
    auto found = rows(ids);
    for (const auto& h : records) {
      if (h.dead) continue;
      auto locator = db::recordLocator(number, h.offset);
      auto row = found.find(h.id);
      if (row != found.end() && row->second == locator) continue;
      db::MessageRecord restored;
      std::string why;
      if (row == found.end() && h.version == 2) {
        if (!db::decodeEnvelope(reader.envelope(h), restored, why)) {
          report.problems.push_back(locator + ": " + why + " (marked dead)");
        } else if (restored.id != h.id || restored.sha256 != db::hex(h.sha256) ||
                   restored.size != static_cast<std::int64_t>(h.length)) {
          report.problems.push_back(locator + ": the envelope is not its message's (marked dead)");
        } else {
          restored.spoolFile = locator;
          restorable.push_back(std::move(restored));
          report.restorable.push_back(locator);
          continue;
        }
      }
      dead.push_back(locator);
    }
    return dead.size() + restorable.size() - before;
  };

  std::uint64_t tail = 0;
  std::size_t rowless = 0;
  {
    db::SegmentReader r(segmentPath(current), db::SegmentReader::Verify::Messages);
    std::vector<db::RecordHeader> records;
    for (db::RecordHeader h; r.next(h);) records.push_back(h);
    tail = r.tail();
    rowless = markRowless(current, r, records);
    if (!r.damage().empty() || !r.zeroFromTail()) {
      auto where = db::recordLocator(current, tail);
      auto why = r.damage().empty() ? std::string("stale bytes after the last record") : r.damage();
      // A record beyond the damage that a row names was acknowledged: the damage is not a
      // torn write but a broken disk. Nothing is zeroed then; appends go to a new segment.
      auto beyond = headersAfter(r.bytes(), tail);
      bool named = !rows && !beyond.empty();
      if (rows && !beyond.empty()) {
        std::vector<std::string> ids;
        for (const auto& h : beyond) ids.push_back(h.id);
        auto found = rows(ids);
        for (const auto& h : beyond) {
          auto row = found.find(h.id);
          named =
              named || (row != found.end() && row->second == db::recordLocator(current, h.offset));
        }
      }
      if (named) {
        report.problems.push_back(where + ": " + why + "; records after it " +
                                  (rows ? "have rows" : "may have rows") +
                                  ", so nothing was zeroed; new records go to the next segment");
        mustRotate_ = true;
      } else {
        int fd = open(segmentPath(current).c_str(), O_WRONLY | O_CLOEXEC);
        if (fd < 0 || !zeroFrom(fd, r.bytes(), tail)) {
          std::string text = errnoText("cannot zero the torn tail of " + where);
          if (fd >= 0) close(fd);
          throw std::runtime_error(text);
        }
        close(fd);
        report.droppedTail = where + ": " + why + " (" + std::to_string(r.size() - tail) +
                             " bytes zeroed, never acknowledged)";
      }
    }
  }
  // Rounds are committed in the order they were flushed: the segment before the current
  // one may hold rounds still in flight across a rotation, and while a segment holds
  // records without rows, so may the one before it.
  rowless = std::max<std::size_t>(rowless, 1);
  for (auto it = std::find(numbers.begin(), numbers.end(), current);
       rowless > 0 && it != numbers.begin();) {
    --it;
    db::SegmentReader r(segmentPath(*it), db::SegmentReader::Verify::Headers);
    std::vector<db::RecordHeader> records;
    for (db::RecordHeader h; r.next(h);) records.push_back(h);
    rowless = markRowless(*it, r, records);
  }
  if (!dead.empty()) {
    if (!markDead(dead, error)) throw std::runtime_error(error);
    report.markedDead = dead;
  }
  // Oldest first, as they were committed.
  std::sort(restorable.begin(), restorable.end(), [](const auto& a, const auto& b) {
    db::Locator la, lb;
    db::parseLocator(a.spoolFile, la);
    db::parseLocator(b.spoolFile, lb);
    return std::tie(la.file, la.offset) < std::tie(lb.file, lb.offset);
  });
  restorable_ = std::move(restorable);
  if (!openSegment(current, tail, error)) throw std::runtime_error(error);
  recovered_ = true;
  prepareAheadIfHalfFull();
  report.segment = std::string(kSegmentsFolder) + "/" + db::segmentFileName(current);
  report.tail = tail;
  return report;
}

std::vector<db::MessageRecord> Spool::takeRestorable() {
  return std::exchange(restorable_, {});
}

bool Spool::openSegment(std::uint64_t number, std::uint64_t used, std::string& error) {
  int fd = open(segmentPath(number).c_str(), O_RDWR | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || fstat(fd, &st) != 0) {
    error = errnoText("cannot open " + segmentPath(number));
    if (fd >= 0) close(fd);
    return false;
  }
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  number_ = number;
  used_ = used;
  capacity_ = static_cast<std::uint64_t>(st.st_size);
  return true;
}

bool Spool::rotate(std::string& error) {
  auto next = number_ + 1;
  if (!preparer_->wait(next, error) || !openSegment(next, 0, error)) return false;
  mustRotate_ = false;
  prepareAheadIfHalfFull();
  return true;
}

bool Spool::append(const std::vector<RecordInput>& records, std::vector<std::string>& locators,
                   std::string& error) {
  locators.clear();
  if (records.empty()) return true;
  if (!recovered_) {
    try {
      recover(nullptr);
    } catch (const std::exception& e) {
      error = e.what();
      return false;
    }
  }
  std::uint64_t bytes = 0;
  for (const auto& r : records) {
    bytes += db::kRecordHeaderSize + r.envelope.size() + r.bytes.size();
  }
  // A batch bigger than a whole segment (one message above the segment size) makes the
  // segment longer instead.
  if (mustRotate_ || (used_ > 0 && used_ + bytes > capacity_)) {
    if (!rotate(error)) return false;
  }
  std::vector<std::array<char, db::kRecordHeaderSize>> headers;
  headers.reserve(records.size());
  std::vector<iovec> iov;
  iov.reserve(3 * records.size());
  std::uint64_t offset = used_;
  for (const auto& r : records) {
    if (r.envelope.size() > UINT32_MAX) {
      error = "spool record: envelope too large";
      locators.clear();  // nothing was written
      return false;
    }
    headers.push_back(db::encodeRecordHeader(r.id, offset, r.bytes.size(), r.sha256,
                                             static_cast<std::uint32_t>(r.envelope.size())));
    iov.push_back({headers.back().data(), headers.back().size()});
    if (!r.envelope.empty()) {
      iov.push_back({const_cast<char*>(r.envelope.data()), r.envelope.size()});
    }
    if (!r.bytes.empty()) iov.push_back({const_cast<char*>(r.bytes.data()), r.bytes.size()});
    locators.push_back(db::recordLocator(number_, offset));
    offset += db::kRecordHeaderSize + r.envelope.size() + r.bytes.size();
  }
  auto where = segmentPath(number_);
  if (!writeAll(fd_, iov, used_)) {
    error = errnoText("cannot write " + where);
    mustRotate_ = true;  // what it holds past used_ is unknown now
    return false;
  }
  if (fdatasync(fd_) != 0) {
    // After a failed fdatasync the kernel may have dropped the pages: never trust them.
    error = errnoText("cannot fdatasync " + where);
    mustRotate_ = true;
    return false;
  }
  used_ = offset;
  prepareAheadIfHalfFull();
  return true;
}

void Spool::prepareAheadIfHalfFull() {
  // Half a segment ahead is time enough to write the next one (it takes as many bytes of
  // zeros as half a segment of mail), and a daemon that starts does not write 64 MB at
  // once.
  if (used_ >= capacity_ / 2 && preparing_ != number_ + 1) {
    preparing_ = number_ + 1;
    preparer_->request(preparing_);
  }
}

bool Spool::markDead(const std::vector<std::string>& locators, std::string& error) {
  std::map<std::string, std::vector<std::uint64_t>> bySegment;
  for (const auto& text : locators) {
    db::Locator l;
    if (db::parseLocator(text, l) && l.record) bySegment[l.file].push_back(l.offset);
  }
  bool ok = true;
  for (const auto& [file, offsets] : bySegment) {
    std::string path = dir_ + "/" + file;
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      error = errnoText("cannot open " + path);
      ok = false;
      continue;
    }
    for (auto offset : offsets) {
      // Only over a header that is there and reads as this record's.
      char header[db::kRecordHeaderSize];
      db::RecordHeader h;
      std::string why;
      if (pread(fd, header, sizeof header, static_cast<off_t>(offset)) !=
              static_cast<ssize_t>(sizeof header) ||
          db::decodeRecordHeader({header, sizeof header}, offset, h, why) !=
              db::HeaderState::Valid ||
          h.dead) {
        continue;
      }
      if (!pwriteAll(fd, db::deadMagic(h.version), offset)) {
        error = errnoText("cannot mark dead in " + path);
        ok = false;
      }
    }
    if (fdatasync(fd) != 0) {
      error = errnoText("cannot fdatasync " + path);
      ok = false;
    }
    close(fd);
  }
  return ok;
}

std::unique_ptr<SpoolFile> Spool::create(const std::string& id) {
  return std::make_unique<SpoolFile>(dir_, id);
}

bool Spool::syncDirectory(std::string& error) {
  if (fsync(dirFd_) != 0) {
    error = errnoText("fsync " + dir_);
    return false;
  }
  return true;
}

std::uint64_t Spool::freeBytes() const {
  struct statvfs st {};
  if (fstatvfs(dirFd_, &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

std::vector<std::string> Spool::files() const {
  return namesEndingWith(dir_, ".eml");
}

std::vector<std::string> Spool::segments() const {
  std::vector<std::string> out;
  for (auto n : segmentNumbers(segmentsDir_)) {
    out.push_back(std::string(kSegmentsFolder) + "/" + db::segmentFileName(n));
  }
  return out;
}

std::uint64_t Spool::rotationStalls() const {
  return preparer_->stalls();
}

}  // namespace bccsink
