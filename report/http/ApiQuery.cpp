#include "report/http/ApiQuery.h"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Exception.h>
#include <Poco/Timespan.h>
#include <Poco/Timestamp.h>
#include <Poco/URI.h>

#include <regex>

namespace bccsink::report {
namespace {

int toInt(const std::string& digits) {
  return digits.empty() ? 0 : std::stoi(digits);
}

}  // namespace

std::optional<std::string> normaliseIsoTime(const std::string& text) {
  if (text.size() > 40) return std::nullopt;
  // RFC 3339's profile of ISO 8601, with the time (or its seconds) optional.
  static const std::regex iso(
      R"(^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)"
      R"((?:([Zz])|([+-])(\d{2}):?(\d{2}))?)?$)");
  std::smatch m;
  if (!std::regex_match(text, m, iso)) return std::nullopt;
  int year = toInt(m[1]), month = toInt(m[2]), day = toInt(m[3]);
  int hour = toInt(m[4]), minute = toInt(m[5]), second = toInt(m[6]);
  std::string fraction = m[7].str();
  int millis = fraction.empty() ? 0 : toInt((fraction + "00").substr(0, 3));
  // Poco allows a leap second (60), which no stored time has.
  if (year < 1970 || second > 59 ||
      !Poco::DateTime::isValid(year, month, day, hour, minute, second))
    return std::nullopt;
  int offsetMinutes = 0;
  if (m[9].matched) {
    int h = toInt(m[10]), mi = toInt(m[11]);
    if (h > 23 || mi > 59) return std::nullopt;
    offsetMinutes = (h * 60 + mi) * (m[9].str() == "-" ? -1 : 1);
  }
  Poco::DateTime t(year, month, day, hour, minute, second, millis);
  t -= Poco::Timespan(0, 0, offsetMinutes, 0, 0);
  return Poco::DateTimeFormatter::format(t, "%Y-%m-%dT%H:%M:%S.%iZ");
}

std::string isoSecondsAgo(long long seconds) {
  Poco::Timestamp t;
  t -= Poco::Timespan(seconds, 0);
  return Poco::DateTimeFormatter::format(t, "%Y-%m-%dT%H:%M:%S.%iZ");
}

ApiQuery::ApiQuery(const std::string& rawQuery, const std::set<std::string>& allowed) {
  if (rawQuery.size() > 8192) throw ApiQueryError("the query string is too long");
  std::size_t start = 0;
  while (start <= rawQuery.size() && !rawQuery.empty()) {
    auto amp = rawQuery.find('&', start);
    std::string pair = rawQuery.substr(start, amp == std::string::npos ? amp : amp - start);
    if (!pair.empty()) {
      auto eq = pair.find('=');
      std::string name, value;
      std::string rawValue = eq == std::string::npos ? "" : pair.substr(eq + 1);
      for (auto& c : rawValue) {
        if (c == '+') c = ' ';  // HTML forms' space
      }
      try {
        Poco::URI::decode(pair.substr(0, eq), name);
        Poco::URI::decode(rawValue, value);
      } catch (const Poco::Exception&) {
        throw ApiQueryError("bad percent-encoding in the query string");
      }
      if (!allowed.count(name)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        throw ApiQueryError(
            "unknown parameter '" + name.substr(0, 40) + "'" +
            (list.empty() ? ": this endpoint takes none" : " (takes " + list + ")"));
      }
      if (values_.count(name)) throw ApiQueryError("parameter '" + name + "' given twice");
      values_[name] = value;
    }
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
}

std::string ApiQuery::text(const std::string& name, std::size_t maxLength) const {
  auto it = values_.find(name);
  if (it == values_.end()) return "";
  if (it->second.size() > maxLength) {
    throw ApiQueryError(name + ": at most " + std::to_string(maxLength) + " characters");
  }
  return it->second;
}

std::string ApiQuery::oneOf(const std::string& name, const std::set<std::string>& choices) const {
  auto value = text(name, 100);
  if (value.empty() || choices.count(value)) return value;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  throw ApiQueryError(name + " must be one of " + list);
}

std::string ApiQuery::isoTime(const std::string& name) const {
  auto value = text(name, 100);
  if (value.empty()) return "";
  auto iso = normaliseIsoTime(value);
  if (!iso) {
    throw ApiQueryError(name + " must be an ISO 8601 time, e.g. 2026-11-30T02:00:00Z");
  }
  return *iso;
}

std::size_t ApiQuery::number(const std::string& name, std::size_t fallback, std::size_t min,
                             std::size_t max) const {
  auto value = text(name, 100);
  if (!has(name)) return fallback;
  auto range = " from " + std::to_string(min) + " to " + std::to_string(max);
  if (value.empty() || value.size() > 9 ||
      value.find_first_not_of("0123456789") != std::string::npos)
    throw ApiQueryError(name + " must be a whole number" + range);
  auto n = static_cast<std::size_t>(std::stoull(value));
  if (n < min || n > max) throw ApiQueryError(name + " must be" + range);
  return n;
}

}  // namespace bccsink::report
