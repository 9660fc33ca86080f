#pragma once
// The report templates (templates/*.mustache): built in, or from a folder
// (BccReportTemplates) holding files of the same names. Every template is parsed when
// loaded, so a broken one stops start-up with its name and the parser's message instead
// of failing the first report.

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bccsink::report {

// (file name, text) of templates/, compiled in by CMake (ShippedTemplates.cpp).
const std::vector<std::pair<std::string, std::string>>& shippedTemplates();

class Templates {
 public:
  static constexpr const char* kReportText = "report.txt.mustache";
  static constexpr const char* kReportHtml = "report.html.mustache";
  static constexpr const char* kDigestText = "digest.txt.mustache";
  static constexpr const char* kDigestHtml = "digest.html.mustache";
  // A retro-alert: a file's verdict turned worse after its messages were judged.
  static constexpr const char* kRetroText = "retro.txt.mustache";
  static constexpr const char* kRetroHtml = "retro.html.mustache";

  // The built-in set.
  static Templates builtIn();
  // The built-in set with every file of `dir` of one of the names above instead. Throws
  // std::runtime_error naming the file when one cannot be read or does not parse.
  static Templates fromDir(const std::string& dir);

  const std::string& get(const std::string& name) const;

 private:
  void check() const;
  std::map<std::string, std::string> texts_;
};

}  // namespace bccsink::report
