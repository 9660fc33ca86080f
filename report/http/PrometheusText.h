#pragma once
// The Prometheus text exposition format 0.0.4, as /metrics writes it: a family is a
// "# HELP" and a "# TYPE" line, then its samples `name{labels} value`. Label values are
// escaped here (backslash, double quote, newline); names and label keys are the caller's
// constants. What the numbers are is sink/Metrics' business.

#include <cstdint>
#include <string>

namespace bccsink::report {

class PrometheusText {
 public:
  // "# HELP name help" and "# TYPE name type" (counter, gauge, histogram).
  void family(const std::string& name, const std::string& type, const std::string& help);
  // `labels` is "" or `key="value",...` with each value passed through label().
  void sample(const std::string& name, const std::string& labels, const std::string& value);
  void sample(const std::string& name, const std::string& labels, std::uint64_t value);
  void sample(const std::string& name, const std::string& labels, std::int64_t value);
  std::string take() { return std::move(out_); }

  // A label value with backslash, double quote and newline escaped.
  static std::string label(const std::string& value);
  // The shortest text that reads back as the same double ("0.005", "2.5", "3").
  static std::string number(double value);

 private:
  std::string out_;
};

}  // namespace bccsink::report
