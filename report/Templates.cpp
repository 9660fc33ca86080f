#include "report/Templates.h"

#include <filesystem>
#include <fstream>
#include <kainjow/mustache.hpp>
#include <sstream>
#include <stdexcept>

namespace bccsink::report {
namespace {

const char* const kNames[] = {Templates::kReportText, Templates::kReportHtml,
                              Templates::kDigestText, Templates::kDigestHtml,
                              Templates::kRetroText,  Templates::kRetroHtml};

}  // namespace

Templates Templates::builtIn() {
  Templates t;
  for (const auto& [name, text] : shippedTemplates()) t.texts_[name] = text;
  t.check();
  return t;
}

Templates Templates::fromDir(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) {
    throw std::runtime_error(dir + ": not a folder of report templates");
  }
  auto t = builtIn();
  for (const char* name : kNames) {
    auto path = std::filesystem::path(dir) / name;
    if (!std::filesystem::exists(path)) continue;  // this one stays built in
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (!in || !(text << in.rdbuf())) throw std::runtime_error(path.string() + ": cannot read");
    t.texts_[name] = text.str();
    kainjow::mustache::mustache parsed(t.texts_[name]);
    if (!parsed.is_valid()) throw std::runtime_error(path.string() + ": " + parsed.error_message());
  }
  return t;
}

const std::string& Templates::get(const std::string& name) const {
  auto it = texts_.find(name);
  if (it == texts_.end()) throw std::logic_error("no report template " + name);
  return it->second;
}

void Templates::check() const {
  for (const char* name : kNames) {
    kainjow::mustache::mustache parsed(get(name));
    if (!parsed.is_valid())
      throw std::logic_error(std::string(name) + ": " + parsed.error_message());
  }
}

}  // namespace bccsink::report
