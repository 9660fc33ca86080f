#pragma once
// The statistics' side of the database (schema 4): the rows one interval's counters are
// computed from (messages received in it, their files, the cached verdicts of those
// files), and the computed intervals themselves, one JSON row per sink and interval
// start, with their export mark. Only reads and writes rows; the counting is
// report/StatsAggregator's.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bccsink::db {

class Database;

// One message received in the interval.
struct StatsMessage {
  std::string id;
  std::string receivedAt;  // ISO 8601 UTC with ms
  std::string ip;          // origin hop's address, else the copy's client address
  std::string state;
  std::string verdict;  // '' until checked
  std::int64_t size = 0;
  std::int64_t recipients = 0;
};

// One file found in such a message (message_files joined with files).
struct StatsFile {
  std::string msgId;
  std::string name;  // never leaves report/ in clear: MD5 or shape only
  std::string path;  // containers and name, joined with ' > '
  std::string extension;
  bool extensionMismatch = false;
  std::int64_t size = 0;
  bool selected = false;
  std::string sha256;  // '' when the bytes could not be read
  std::string trueType, family;
};

// One analyzer's cached verdict on a selected file of the interval's messages.
struct StatsVerdict {
  std::string sha256;
  std::string analyzer;
  std::string verdict;
  std::int64_t decidedMs = 0;
};

struct IntervalRows {
  std::vector<StatsMessage> messages;
  std::vector<StatsFile> files;
  std::vector<StatsVerdict> verdicts;
};

// A computed interval as stored.
struct StatsRow {
  std::string sink;
  std::int64_t startMs = 0, endMs = 0;
  std::string computedAt;
  std::string counters;    // JSON
  std::string exportedAt;  // '' until exported
};

class StatsRepository {
 public:
  explicit StatsRepository(Database& db);

  // What one interval [startIso, endIso) of this sink is counted from. The bounds compare
  // as text: they must be in received_at's format (2026-11-30T04:00:00.000Z).
  IntervalRows rowsIn(const std::string& sink, const std::string& startIso,
                      const std::string& endIso);
  // This sink's messages received in [startIso, endIso) that the reporter has not judged
  // yet (still in analysis, or checked a moment ago, or held in SMTP mode until its action
  // is decided): their origin and verdict may change.
  std::int64_t unjudgedIn(const std::string& sink, const std::string& startIso,
                          const std::string& endIso);
  // received_at of this sink's oldest message at or after `sinceIso`, '' when none.
  std::string oldestReceivedSince(const std::string& sink, const std::string& sinceIso);

  // Stores a computed interval; false when one with this start exists already (kept).
  bool save(const StatsRow& row);
  // This sink's newest stored interval.
  std::optional<StatsRow> latest(const std::string& sink);
  // This sink's intervals ending after `sinceMs`, oldest first.
  std::vector<StatsRow> since(const std::string& sink, std::int64_t sinceMs);
  // This sink's intervals not exported yet that start at or after `fromMs`, oldest first.
  std::vector<StatsRow> unexported(const std::string& sink, std::int64_t fromMs, std::size_t limit);
  void markExported(const std::string& sink, const std::vector<std::int64_t>& startsMs,
                    const std::string& nowIso);

  // Several sinks on one database (each stores its own intervals; the API and CLI sum
  // them, or show them per sink by StatsRow::sink):
  // every sink's stored intervals overlapping [fromMs, toMs), oldest first, then by sink.
  std::vector<StatsRow> everySinkIn(std::int64_t fromMs, std::int64_t toMs);
  // Every sink that received a message at or after `sinceIso` or stored an interval ending
  // after `sinceMs` (the same time twice: received_at is ISO text, intervals are in ms),
  // sorted: the sinks whose intervals a view since then shows, stored or counted on the fly.
  std::vector<std::string> sinksSince(const std::string& sinceIso, std::int64_t sinceMs);

 private:
  Database& db_;
};

}  // namespace bccsink::db
