#include "sink/DbRebuild.h"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <set>

#include "base/MappedFile.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/MessageRecord.h"
#include "db/SegmentReader.h"
#include "db/SpoolRecord.h"
#include "sink/smtp/Ulid.h"

namespace bccsink {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kBatch = 500;

std::string stamp() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

// The recipient bccsink's own Received header names ("\tfor <a@b>;"), when it names one
// (the intake writes it for a single recipient: SmtpSession::receivedHeader). Only its
// third line is read ("Received: from", "\tby ... (bccsink)", "\tfor <...>"): a "for <"
// further down is the sender's. The intake wrote it as printable ASCII; anything else is
// not ours.
std::string receivedFor(std::string_view message) {
  const auto head = message.substr(0, std::min<std::size_t>(message.size(), 4096));
  if (head.rfind("Received: from ", 0) != 0) return "";
  const auto byLine = head.find("\r\n");
  if (byLine == std::string_view::npos || head.compare(byLine, 5, "\r\n\tby") != 0) return "";
  const auto forLine = head.find("\r\n", byLine + 2);
  if (forLine == std::string_view::npos || head.compare(forLine, 8, "\r\n\tfor <") != 0) return "";
  const auto from = forLine + 8;
  const auto close = head.find('>', from);
  if (close == std::string_view::npos || close - from > 320) return "";
  const auto address = head.substr(from, close - from);
  for (unsigned char c : address) {
    if (c < 0x21 || c > 0x7e) return "";
  }
  return std::string(address);
}

// A row for a message whose envelope the spool does not hold.
db::MessageRecord bareRow(const std::string& id, std::string_view bytes, std::string locator,
                          std::chrono::system_clock::time_point received,
                          const std::string& sinkName) {
  db::MessageRecord r;
  r.id = id;
  r.sink = sinkName;
  r.receivedAt = isoTime(received);
  r.size = static_cast<std::int64_t>(bytes.size());
  r.sha256 = db::hex(db::sha256Of(bytes));
  r.spoolFile = std::move(locator);
  if (auto rcpt = receivedFor(bytes); !rcpt.empty()) r.recipients.emplace_back(rcpt);
  return r;
}

void moveAside(const std::string& database, RebuildResult& result) {
  if (!fs::exists(database)) return;
  result.movedTo = database + ".corrupt-" + stamp();
  fs::rename(database, result.movedTo);
  // The WAL and its index belong to the damaged file: a new database must not replay them.
  for (const char* suffix : {"-wal", "-shm"}) {
    if (fs::exists(database + suffix)) fs::rename(database + suffix, result.movedTo + suffix);
  }
}

}  // namespace

RebuildResult rebuildDatabase(const std::string& database, const std::string& spoolDir,
                              const std::string& sinkName, std::ostream* progress) {
  RebuildResult result;
  moveAside(database, result);
  if (progress && !result.movedTo.empty())
    *progress << "moved the damaged database to " << result.movedTo << "\n";
  db::Database db("sqlite:" + database);
  db.migrate();
  db::MessageQueue queue(db);

  std::vector<db::MessageRecord> rows;
  std::set<std::string> seen;
  auto add = [&](db::MessageRecord row) {
    if (!seen.insert(row.id).second) return;
    rows.push_back(std::move(row));
  };

  // Segments, oldest first: each live record, its message checked against its SHA-256.
  std::vector<std::pair<std::uint64_t, std::string>> segments;
  const fs::path segmentsDir = fs::path(spoolDir) / "segments";
  if (fs::exists(segmentsDir)) {
    for (const auto& e : fs::directory_iterator(segmentsDir)) {
      const auto name = e.path().filename().string();
      if (name.size() < 4 || name.substr(name.size() - 4) != ".seg") continue;
      if (auto n = db::segmentNumber(name)) segments.emplace_back(n, e.path().string());
    }
  }
  std::sort(segments.begin(), segments.end());
  for (const auto& [number, path] : segments) {
    db::SegmentReader reader(path, db::SegmentReader::Verify::Messages);
    const auto mtime = fs::last_write_time(path);
    const auto received = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
        std::chrono::file_clock::to_sys(mtime));
    for (db::RecordHeader h; reader.next(h);) {
      if (h.dead) {
        ++result.deadRecords;
        continue;
      }
      const auto locator = db::recordLocator(number, h.offset);
      db::MessageRecord row;
      std::string why;
      if (h.version == 2 && db::decodeEnvelope(reader.envelope(h), row, why) && row.id == h.id) {
        row.spoolFile = locator;
        add(std::move(row));
        ++result.fromRecords;
        continue;
      }
      if (h.version == 2) result.problems.push_back(locator + ": envelope unreadable: " + why);
      const auto bytes = reader.bytes().substr(h.payloadOffset(), h.length);
      add(bareRow(h.id, bytes, locator, received, sinkName));
      ++result.withoutEnvelope;
    }
    if (!reader.damage().empty())
      result.problems.push_back(path + ": " + reader.damage() + " (records after it not read)");
  }

  // Standalone files: no envelope.
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(spoolDir)) {
    const auto name = e.path().filename().string();
    if (e.is_regular_file() && name.size() > 4 && name.substr(name.size() - 4) == ".eml")
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    MappedFile mapped(f.string());
    const auto received = std::chrono::time_point_cast<std::chrono::system_clock::duration>(
        std::chrono::file_clock::to_sys(fs::last_write_time(f)));
    const auto name = f.filename().string();
    add(bareRow(name.substr(0, name.size() - 4), mapped.bytes(), name, received, sinkName));
    ++result.withoutEnvelope;
  }

  for (std::size_t i = 0; i < rows.size(); i += kBatch) {
    std::vector<db::MessageRecord> batch(
        rows.begin() + static_cast<std::ptrdiff_t>(i),
        rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), i + kBatch)));
    queue.insertPending(batch);
  }
  return result;
}

}  // namespace bccsink
