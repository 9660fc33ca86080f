#pragma once
// The dashboard's files as the HTTP port serves them: a path ("/", "/app.js") to the
// embedded text and its Content-Type. Only names shipped in the binary are served; nothing
// is read from disk, so no path can reach outside.

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bccsink::report {

struct StaticFile {
  std::string contentType;
  const std::string* text = nullptr;  // owned by the list the files came from
};

// "text/html; charset=utf-8" for index.html, by extension; application/octet-stream for
// one it does not know.
std::string contentTypeFor(const std::string& name);

class StaticFiles {
 public:
  // `files` (name, text) must outlive this; shippedDashboard() by default.
  explicit StaticFiles(const std::vector<std::pair<std::string, std::string>>& files);
  StaticFiles();

  // "/" is "/index.html"; nullptr for anything not shipped.
  const StaticFile* find(const std::string& path) const;

 private:
  std::map<std::string, StaticFile> byPath_;
};

}  // namespace bccsink::report
