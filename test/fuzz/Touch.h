#pragma once
// The fuzz targets' visitor: reads every byte of every file and name it is handed, so
// that a wrong range shows up under AddressSanitizer.

#include <string>

#include "sandbox/extract/FoundFile.h"

namespace bccsink::fuzz {

class Touch : public sandbox::FileVisitor {
 public:
  unsigned sum = 0;
  void onFile(const sandbox::FoundFile& f) override {
    for (char c : f.content) sum += static_cast<unsigned char>(c);
    for (char c : f.name) sum += static_cast<unsigned char>(c);
  }
  void onError(const std::string& what) override { sum += what.size(); }
};

}  // namespace bccsink::fuzz
