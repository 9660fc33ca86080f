#include "report/http/StaticFiles.h"

#include "report/http/Dashboard.h"

namespace bccsink::report {

std::string contentTypeFor(const std::string& name) {
  static const std::map<std::string, std::string> types = {
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},  // RFC 9239
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"txt", "text/plain; charset=utf-8"},
  };
  auto dot = name.rfind('.');
  if (dot != std::string::npos) {
    auto it = types.find(name.substr(dot + 1));
    if (it != types.end()) return it->second;
  }
  return "application/octet-stream";
}

StaticFiles::StaticFiles(const std::vector<std::pair<std::string, std::string>>& files) {
  for (const auto& [name, text] : files) byPath_["/" + name] = {contentTypeFor(name), &text};
}

StaticFiles::StaticFiles() : StaticFiles(shippedDashboard()) {}

const StaticFile* StaticFiles::find(const std::string& path) const {
  auto it = byPath_.find(path == "/" ? "/index.html" : path);
  return it == byPath_.end() ? nullptr : &it->second;
}

}  // namespace bccsink::report
