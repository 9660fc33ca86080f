#pragma once
// Wall-clock times as the database keeps them: milliseconds since the epoch for leases
// and deadlines, ISO 8601 UTC with milliseconds for what people read.

#include <Poco/DateTimeFormatter.h>
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

inline std::string isoNow() {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(), "%Y-%m-%dT%H:%M:%S.%iZ");
}

}  // namespace bccsink
