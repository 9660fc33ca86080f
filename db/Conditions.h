#pragma once
// The WHERE clause of a list query whose filters are each optional (the API's and the
// queue's lists): the conditions that were asked for, joined with AND, and their values
// bound in the same order. Every value is a bound parameter, never SQL text.

#include <Poco/Data/Statement.h>

#include <string>
#include <vector>

namespace bccsink::db {

class Conditions {
 public:
  // Adds `condition` (with one `?`) bound to `value`, unless `value` is empty: a filter
  // not asked for.
  void add(const std::string& condition, const std::string& value) {
    if (value.empty()) return;
    conditions_.push_back(condition);
    values_.push_back(value);
  }
  // " WHERE a AND b", or '' when nothing was asked for.
  std::string sql() const {
    std::string out;
    for (std::size_t i = 0; i < conditions_.size(); ++i)
      out += (i == 0 ? " WHERE " : " AND ") + conditions_[i];
    return out;
  }
  // Binds the values to `stmt`, whose text holds sql() (the values must outlive it).
  void bind(Poco::Data::Statement& stmt) {
    for (auto& v : values_) stmt, Poco::Data::Keywords::use(v);
  }

 private:
  std::vector<std::string> conditions_, values_;
};

}  // namespace bccsink::db
