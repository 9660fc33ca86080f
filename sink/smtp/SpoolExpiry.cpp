#include "sink/smtp/SpoolExpiry.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <utility>

#include "db/SegmentReader.h"
#include "db/SpoolRecord.h"

namespace bccsink {
namespace {

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

std::uint64_t allocated(int fd) {
  struct stat st {};
  if (fstat(fd, &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_blocks) * 512;
}

bool pwriteAll(int fd, std::string_view bytes, std::uint64_t offset) {
  while (!bytes.empty()) {
    ssize_t n = pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

// Whether any segment numbered after `number` in `segmentsDir` starts with a record: then
// the committer appends there (or further on), never to `number`.
bool laterSegmentHoldsRecords(const std::string& segmentsDir, std::uint64_t number) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(segmentsDir, ec)) {
    auto n = db::segmentNumber(e.path().filename().string());
    if (n <= number) continue;
    int fd = open(e.path().c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    char header[db::kRecordHeaderSize];
    db::RecordHeader h;
    std::string why;
    bool holds =
        pread(fd, header, sizeof header, 0) == static_cast<ssize_t>(sizeof header) &&
        db::decodeRecordHeader({header, sizeof header}, 0, h, why) == db::HeaderState::Valid;
    close(fd);
    if (holds) return true;
  }
  return false;
}

}  // namespace

SpoolExpiry::SpoolExpiry(std::string spoolDir) : dir_(std::move(spoolDir)) {}

bool SpoolExpiry::expire(const std::vector<ExpiringContent>& copies, SpoolExpiryResult& result,
                         std::vector<std::string>& done) {
  done.clear();
  std::map<std::string, std::vector<const ExpiringContent*>> bySegment;
  bool ok = true;
  for (const auto& c : copies) {
    db::Locator l;
    if (!db::parseLocator(c.locator, l)) {
      result.problems.push_back(c.id + ": " + c.locator + " is not a spool locator");
      done.push_back(c.id);  // nothing of ours to free
      continue;
    }
    if (l.record) {
      bySegment[l.file].push_back(&c);
      continue;
    }
    std::string path = dir_ + "/" + l.file;
    struct stat st {};
    bool there = stat(path.c_str(), &st) == 0;
    if (there && unlink(path.c_str()) != 0) {
      result.problems.push_back(errnoText("cannot remove " + path));
      ok = false;
      continue;
    }
    if (there && st.st_nlink == 1)
      result.bytesFreed += static_cast<std::uint64_t>(st.st_blocks) * 512;
    ++result.files;
    done.push_back(c.id);
  }
  for (const auto& [file, list] : bySegment) {
    std::string path = dir_ + "/" + file;
    int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) {  // the segment went already (a sweep cut short)
        for (const auto* c : list) done.push_back(c->id);
        continue;
      }
      result.problems.push_back(errnoText("cannot open " + path));
      ok = false;
      continue;
    }
    // First every record dead, synced; only then may the rows say the content is gone.
    std::vector<db::RecordHeader> marked;
    std::vector<std::string> ids;
    bool segmentOk = true;
    for (const auto* c : list) {
      db::Locator l;
      db::parseLocator(c->locator, l);
      char header[db::kRecordHeaderSize];
      db::RecordHeader h;
      std::string why;
      const auto got = pread(fd, header, sizeof header, static_cast<off_t>(l.offset));
      if (got < 0) {  // an I/O error: the record may be live, its row must stay as it is
        result.problems.push_back(errnoText("cannot read " + c->locator));
        segmentOk = false;
        continue;
      }
      if (got != static_cast<ssize_t>(sizeof header) ||
          db::decodeRecordHeader({header, sizeof header}, l.offset, h, why) !=
              db::HeaderState::Valid ||
          h.id != c->id) {
        // Not this copy's record: leave the bytes alone, nothing to free.
        result.problems.push_back(c->id + ": no record of it at " + c->locator);
        ids.push_back(c->id);
        continue;
      }
      if (!h.dead && !pwriteAll(fd, db::deadMagic(h.version), l.offset)) {
        result.problems.push_back(errnoText("cannot mark dead in " + path));
        segmentOk = false;
        continue;
      }
      marked.push_back(h);
      ids.push_back(c->id);
    }
    if (fdatasync(fd) != 0) {
      result.problems.push_back(errnoText("cannot fdatasync " + path));
      segmentOk = false;
    }
    if (!segmentOk) {
      close(fd);
      ok = false;
      continue;  // none of this segment's rows may say expired yet
    }
    result.records += marked.size();
    done.insert(done.end(), ids.begin(), ids.end());
    // Then the message bytes, page by page, inside each record: never the header nor the
    // envelope before them, never the next record's header after them.
    auto before = allocated(fd);
    const auto page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
    for (const auto& h : marked) {
      if (!punch_) break;
      auto from = (h.payloadOffset() + page - 1) / page * page;
      auto to = h.end() / page * page;
      if (to <= from) continue;
      if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                    static_cast<off_t>(to - from)) != 0) {
        if (errno == EOPNOTSUPP) {
          punch_ = false;  // the file system keeps its blocks: nothing freed, no error
        } else {
          result.problems.push_back(errnoText("cannot free the bytes of " + h.id + " in " + path));
        }
      }
    }
    auto after = allocated(fd);
    if (before > after) result.bytesFreed += before - after;
    close(fd);
    removeIfAllDead(file, result);
  }
  return ok;
}

bool SpoolExpiry::removeIfAllDead(const std::string& segment, SpoolExpiryResult& result) {
  auto slash = segment.rfind('/');
  auto number = db::segmentNumber(segment.substr(slash == std::string::npos ? 0 : slash + 1));
  std::string path = dir_ + "/" + segment;
  std::string segmentsDir = path.substr(0, path.rfind('/'));
  try {
    db::SegmentReader r(path, db::SegmentReader::Verify::Headers);
    for (db::RecordHeader h; r.next(h);) {
      if (!h.dead) return false;
    }
    // Damage: records after it may still be someone's; a walk that ends short keeps it.
    if (!r.damage().empty()) return false;
  } catch (const std::exception&) {
    return false;
  }
  if (!laterSegmentHoldsRecords(segmentsDir, number)) return false;
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && unlink(path.c_str()) == 0) {
    result.bytesFreed += static_cast<std::uint64_t>(st.st_blocks) * 512;
    result.segmentsRemoved.push_back(segment);
    int dfd = open(segmentsDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      fsync(dfd);
      close(dfd);
    }
    return true;
  }
  return false;
}

}  // namespace bccsink
