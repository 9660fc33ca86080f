#include "sink/SpoolCheck.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include "base/MappedFile.h"
#include "db/SegmentReader.h"
#include "db/SpoolRecord.h"
#include "db/SpoolRows.h"

namespace bccsink {
namespace {

// A row's message as the spool holds it: a record found by walking the segments.
struct FoundRecord {
  db::RecordHeader header;
  bool named = false;  // by a row
};

// Every record of every segment, each message checked against its SHA-256. A segment
// whose walk stops at damage is named (a torn tail before recovery ran is expected after
// a crash; rows pointing past it are problems of their own). Returns the segment count.
std::size_t walkSegments(const std::string& spoolDir, std::map<std::string, FoundRecord>& found,
                         std::ostream& out) {
  std::size_t segments = 0;
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(spoolDir + "/segments", ec)) {
    if (db::segmentNumber(e.path().filename().string())) names.push_back(e.path().filename());
  }
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    ++segments;
    auto number = db::segmentNumber(name);
    try {
      db::SegmentReader r(spoolDir + "/segments/" + name, db::SegmentReader::Verify::Messages);
      for (db::RecordHeader h; r.next(h);) found[db::recordLocator(number, h.offset)] = {h};
      if (!r.damage().empty() || !r.zeroFromTail()) {
        out << "note: spool/" << db::recordLocator(number, r.tail()) << ": "
            << (r.damage().empty() ? "stale bytes after the last record" : r.damage())
            << " (not read further)\n";
      }
    } catch (const std::exception& e) {
      out << "note: " << e.what() << "\n";
    }
  }
  return segments;
}

// Why the spool does not hold a row's message as the row says ('' when it does).
std::string rowProblem(const db::SpoolRow& row, const std::string& spoolDir,
                       std::map<std::string, FoundRecord>& records,
                       std::map<std::string, bool>& files) {
  db::Locator where;
  if (!db::parseLocator(row.locator, where)) return "not a spool locator";
  db::Sha256 sha{};
  std::uint64_t size = 0;
  if (where.record) {
    auto it = records.find(row.locator);
    if (it == records.end()) return "no record there";
    it->second.named = true;
    const auto& h = it->second.header;
    if (h.dead) return "the record is marked dead";
    if (h.id != row.id) return "the record is " + h.id + "'s";
    sha = h.sha256;
    size = h.length;
  } else {
    auto it = files.find(row.locator);
    if (it == files.end()) return "no such file";
    it->second = true;
    try {
      MappedFile file(spoolDir + "/" + row.locator);
      sha = db::sha256Of(file.bytes());
      size = file.bytes().size();
    } catch (const std::exception& e) {
      return e.what();
    }
  }
  if (size != static_cast<std::uint64_t>(row.size)) {
    return std::to_string(size) + " bytes, the row says " + std::to_string(row.size);
  }
  if (db::hex(sha) != row.sha256) return "SHA-256 differs from the row's";
  return "";
}

}  // namespace

int checkSpool(db::Database& database, const std::string& spoolDir, std::ostream& out,
               const std::string& sink) {
  auto rows = db::SpoolRows(database).all(sink);
  std::map<std::string, FoundRecord> records;
  std::map<std::string, bool> files;  // standalone file -> named by a row
  std::size_t segments = 0;
  segments = walkSegments(spoolDir, records, out);
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(spoolDir, ec)) {
    if (e.path().extension() == ".eml" && e.is_regular_file()) files[e.path().filename()] = false;
  }
  int problems = 0;
  for (const auto& row : rows) {
    auto why = rowProblem(row, spoolDir, records, files);
    if (!why.empty()) {
      out << "row without spool file: " << row.id << " (" << spoolDir << "/" << row.locator
          << "): " << why << "\n";
      ++problems;
    }
  }
  std::size_t live = 0, dead = 0;
  for (const auto& [locator, found] : records) {
    if (found.header.dead) {
      ++dead;
      continue;
    }
    ++live;
    if (!found.named) {
      out << "orphan spool record (no row): " << spoolDir << "/" << locator
          << " id=" << found.header.id << "\n";
      ++problems;
    }
  }
  for (const auto& [name, named] : files) {
    if (!named) {
      out << "orphan spool file (no row): " << spoolDir << "/" << name << "\n";
      ++problems;
    }
  }
  out << "spool: " << segments << " segments, " << live << " records (" << dead
      << " marked dead: never acknowledged or expired), " << files.size() << " standalone files\n";
  // "spool files": the messages the spool holds, records and standalone files.
  out << "check: " << rows.size() << " rows, " << live + files.size() << " spool files, "
      << problems << " problems\n";
  return problems;
}

}  // namespace bccsink
