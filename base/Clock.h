#pragma once
// Wall-clock times as the database keeps them: milliseconds since the epoch for leases
// and deadlines, ISO 8601 UTC with milliseconds for what people read; and durations as
// people read them.

#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/Timestamp.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace bccsink {

inline std::int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "60s", "0.25s", "2.5s": a duration as an administrator reads it in a reason, to the ms
// (negative durations read as 0s).
inline std::string secondsText(std::chrono::milliseconds ms) {
  const auto count = ms.count() < 0 ? std::int64_t{0} : static_cast<std::int64_t>(ms.count());
  std::string out = std::to_string(count / 1000);
  if (auto frac = count % 1000; frac != 0) {
    std::string digits = std::to_string(1000 + frac).substr(1);
    digits.erase(digits.find_last_not_of('0') + 1);
    out += "." + digits;
  }
  return out + "s";
}

// "2026-11-30T04:00:00.000Z" for ms since the epoch: ISO 8601 UTC with ms, as the queue
// writes received_at.
inline std::string isoOfMs(std::int64_t ms) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000), "%Y-%m-%dT%H:%M:%S.%iZ");
}

inline std::string isoNow() {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(), "%Y-%m-%dT%H:%M:%S.%iZ");
}

// Milliseconds since the epoch of an ISO 8601 UTC time as isoNow() writes it; 0 for text
// that is not one.
inline std::int64_t msOfIso(const std::string& iso) {
  Poco::DateTime parsed;
  int zone = 0;
  if (!Poco::DateTimeParser::tryParse("%Y-%m-%dT%H:%M:%S.%iZ", iso, parsed, zone)) return 0;
  return parsed.timestamp().epochMicroseconds() / 1000;
}

}  // namespace bccsink
