#pragma once
// The counters of one statistics interval (or of several summed) as plain data, and their
// JSON: what the database keeps per interval, what `bccsink stats --json`, /api/stats and
// the export carry. The keys are those of the issue-6 contract:
//   start, end, partial, messages, recipients, size_histogram, by_ip, by_extension,
//   by_true_type, mismatches, in_archive, size_by_type, verdicts, verdicts_by_analyzer,
//   cache_hits, names.
// No file name is ever held here in clear: names are MD5 and shape (StatsShape).

#include <Poco/JSON/Object.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>

namespace bccsink::report {

using Counts = std::map<std::string, std::int64_t>;

struct IpCounters {
  std::int64_t messages = 0;
  std::int64_t recipients = 0;
  Counts verdicts;  // the messages' verdicts
};

struct SizeCounters {
  std::int64_t files = 0;
  std::int64_t bytes = 0;
};

struct NameCounters {
  std::string shape;
  std::int64_t count = 0;
};

struct IntervalStats {
  std::int64_t startMs = 0, endMs = 0;
  bool partial = false;  // computed on the fly, not (yet) stored
  std::int64_t messages = 0;
  std::int64_t recipients = 0;
  Counts sizeHistogram;  // messages by size: <=10K, <=100K, <=1M, <=10M, >10M (K = 1024)
  std::map<std::string, IpCounters> byIp;
  Counts byExtension;  // files by extension (StatsShape's extensionKey)
  Counts byTrueType;   // files by libmagic's MIME type
  // (extension, family, true type) of files whose extension claims another type.
  std::map<std::tuple<std::string, std::string, std::string>, std::int64_t> mismatches;
  // (member extension, container extension or family) of files inside a container.
  std::map<std::pair<std::string, std::string>, std::int64_t> inArchive;
  std::map<std::string, SizeCounters> sizeByType;    // by family
  Counts verdicts;                                   // the messages' verdicts
  std::map<std::string, Counts> verdictsByAnalyzer;  // selected files, per analyzer
  std::int64_t cacheHits = 0;
  std::map<std::string, NameCounters> names;  // by the name's MD5
};

// Every verdict key a message can have in the counters; all are always present in the
// JSON, 0 or not ("pending": still in analysis when the interval was computed).
inline constexpr const char* kMessageVerdicts[] = {"clean", "suspicious", "dangerous", "unscanned",
                                                   "pending"};
// An analyzer's answers on files.
inline constexpr const char* kFileVerdicts[] = {"clean", "suspicious", "dangerous", "unscanned"};
// The size histogram's buckets, in order, with their upper bounds in bytes (the last: none).
inline constexpr std::pair<const char*, std::int64_t> kSizeBuckets[] = {{"<=10K", 10LL << 10},
                                                                        {"<=100K", 100LL << 10},
                                                                        {"<=1M", 1LL << 20},
                                                                        {"<=10M", 10LL << 20},
                                                                        {">10M", -1}};

// Lists that grow with the traffic are capped in the JSON: the most frequent first, the
// rest summed into "(other)" (by_ip) or left out (names).
inline constexpr std::size_t kMaxIps = 500;
inline constexpr std::size_t kMaxNames = 200;
// Extensions, true types, mismatches and archive members per interval: a message decides
// these keys (a zip of members with random extensions), so past this many the rest are
// counted under "(other)".
inline constexpr std::size_t kMaxKeys = 200;

const char* sizeBucket(std::int64_t bytes);

// Adds `from` into `into` (totals); the bounds become the union of both.
void merge(IntervalStats& into, const IntervalStats& from);

Poco::JSON::Object::Ptr toJson(const IntervalStats& s);
// Reads what toJson wrote (a stored interval). Throws Poco::Exception on a wrong shape.
IntervalStats fromJson(const Poco::JSON::Object::Ptr& json);
IntervalStats fromJsonText(const std::string& text);
std::string toJsonText(const IntervalStats& s);

// Interval bounds as the JSON shows them: ISO 8601 UTC to the second (2026-11-30T04:05:00Z).
std::string isoSeconds(std::int64_t ms);
// An ISO 8601 time (with or without fraction, Z or offset) as ms since the epoch.
// Throws std::invalid_argument when it is not one.
std::int64_t msFromIso(const std::string& iso);
// ms as received_at is stored (2026-11-30T04:05:00.000Z): the interval's query bounds.
std::string isoMillis(std::int64_t ms);

// Interval arithmetic on ms since the epoch.
inline std::int64_t alignDown(std::int64_t ms, std::int64_t intervalMs) {
  return ms - ((ms % intervalMs) + intervalMs) % intervalMs;
}
inline std::int64_t alignUp(std::int64_t ms, std::int64_t intervalMs) {
  auto down = alignDown(ms, intervalMs);
  return down == ms ? ms : down + intervalMs;
}

}  // namespace bccsink::report
