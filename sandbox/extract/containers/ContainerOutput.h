#pragma once
// What every container walker shares on its way out: the embedded file's path (the
// container's `where` plus its name), the limits of ContainerLimits (count, size, total,
// time) with the reason each one gives, and the container's name on its errors. A walker
// asks `more()` before the next member and stops when it says no.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "sandbox/extract/FoundFile.h"
#include "sandbox/extract/containers/ContainerLimits.h"

namespace bccsink::sandbox {

class ContainerOutput {
 public:
  ContainerOutput(const FoundFile& container, const ContainerLimits& limits, FileVisitor& visitor);

  // False once the member or time limit was hit (each reported once as an evasion error).
  bool more();
  // Hands on one embedded file; `name` is cleaned, an empty one becomes "embedded-N".
  // Over the size or total limit it is listed unscanned instead.
  void file(std::string_view name, std::string_view content);
  // Lists one embedded file whose bytes could not be read, with the reason.
  void unscanned(std::string_view name, std::uint64_t size, const std::string& reason);
  // onError("'<container>': <what>").
  void error(const std::string& what);

  std::size_t count() const { return count_; }
  const ContainerLimits& limits() const { return limits_; }

 private:
  FoundFile base(std::string_view name);

  const FoundFile& container_;
  const ContainerLimits& limits_;
  FileVisitor& visitor_;
  std::chrono::steady_clock::time_point deadline_;
  std::size_t count_ = 0;
  std::uint64_t total_ = 0;
  bool stopped_ = false;
};

}  // namespace bccsink::sandbox
