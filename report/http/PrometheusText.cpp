#include "report/http/PrometheusText.h"

#include <charconv>

namespace bccsink::report {

void PrometheusText::family(const std::string& name, const std::string& type,
                            const std::string& help) {
  out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void PrometheusText::sample(const std::string& name, const std::string& labels,
                            const std::string& value) {
  out_ += name;
  if (!labels.empty()) out_ += "{" + labels + "}";
  out_ += " " + value + "\n";
}

void PrometheusText::sample(const std::string& name, const std::string& labels,
                            std::uint64_t value) {
  sample(name, labels, std::to_string(value));
}

void PrometheusText::sample(const std::string& name, const std::string& labels,
                            std::int64_t value) {
  sample(name, labels, std::to_string(value));
}

std::string PrometheusText::label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string PrometheusText::number(double value) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

}  // namespace bccsink::report
