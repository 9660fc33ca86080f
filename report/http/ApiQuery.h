#pragma once
// The query string of a JSON API request, taken apart and checked: ISO 8601 times
// normalised to the form the database stores, limits, enumerations. Anything malformed is
// an ApiQueryError whose text is the 400 answer's message; nothing here touches the
// database.

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

namespace bccsink::report {

// A parameter the client got wrong: the message names it.
class ApiQueryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "2026-11-30", "2026-11-30T02:00:00Z", "2026-11-30T03:00:00.5+01:00" (no zone = UTC) ->
// "2026-11-30T02:00:00.000Z" (UTC, milliseconds); nullopt for anything else or a date
// that does not exist.
std::optional<std::string> normaliseIsoTime(const std::string& text);

// The ISO time `seconds` before now, as stored.
std::string isoSecondsAgo(long long seconds);

class ApiQuery {
 public:
  // Splits and decodes "a=1&b=x%20y"; throws ApiQueryError for a name not in `allowed`, a
  // name given twice, or bad percent-encoding.
  ApiQuery(const std::string& rawQuery, const std::set<std::string>& allowed);

  bool has(const std::string& name) const { return values_.count(name) > 0; }
  // The value, '' when absent.
  std::string text(const std::string& name, std::size_t maxLength = 1000) const;
  // One of `choices`, '' when absent.
  std::string oneOf(const std::string& name, const std::set<std::string>& choices) const;
  // An ISO time normalised, '' when absent.
  std::string isoTime(const std::string& name) const;
  // An integer in [min, max], `fallback` when absent.
  std::size_t number(const std::string& name, std::size_t fallback, std::size_t min,
                     std::size_t max) const;

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace bccsink::report
