#pragma once
// A FileVisitor that keeps copies of what it is given, and file helpers for the tests.

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sandbox/extract/FoundFile.h"

namespace bccsink::test {

struct Collected {
  std::string name;
  std::vector<std::string> where;
  std::string content;
  std::string unscanned;
  std::string declaredType;
  bool attachedMessage = false;
};

class Collect : public sandbox::FileVisitor {
 public:
  std::vector<Collected> files;
  std::vector<std::string> errors;

  void onFile(const sandbox::FoundFile& f) override {
    files.push_back(
        {f.name, f.where, std::string(f.content), f.unscanned, f.declaredType, f.attachedMessage});
  }
  void onError(const std::string& what) override { errors.push_back(what); }

  const Collected* named(const std::string& name) const {
    for (const auto& f : files) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
};

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline const char* kClamavTestfiles = "/usr/share/clamav-testfiles";

}  // namespace bccsink::test
