#pragma once
// Reading and binding columns the way every repository does: NULL reads as '' or 0, and
// '' binds as NULL for optional columns.

#include <Poco/Data/RecordSet.h>
#include <Poco/Nullable.h>

#include <cstdint>
#include <string>

namespace bccsink::db {

inline std::string text(Poco::Data::RecordSet& rs, const std::string& column) {
  return rs[column].isEmpty() ? std::string() : rs[column].convert<std::string>();
}

inline std::string text(Poco::Data::RecordSet& rs, std::size_t column) {
  return rs.value(column).isEmpty() ? std::string() : rs.value(column).convert<std::string>();
}

inline std::int64_t integer(Poco::Data::RecordSet& rs, const std::string& column) {
  return rs[column].isEmpty() ? 0 : rs[column].convert<std::int64_t>();
}

inline std::int64_t integer(Poco::Data::RecordSet& rs, std::size_t column) {
  return rs.value(column).isEmpty() ? 0 : rs.value(column).convert<std::int64_t>();
}

inline Poco::Nullable<std::string> nullIfEmpty(const std::string& s) {
  return s.empty() ? Poco::Nullable<std::string>() : Poco::Nullable<std::string>(s);
}

}  // namespace bccsink::db
