// See ContainerOutput.h.
#include "sandbox/extract/containers/ContainerOutput.h"

#include "base/FileName.h"
#include "sandbox/extract/Evasion.h"

namespace bccsink::sandbox {

ContainerOutput::ContainerOutput(const FoundFile& container, const ContainerLimits& limits,
                                 FileVisitor& visitor)
    : container_(container),
      limits_(limits),
      visitor_(visitor),
      deadline_(std::chrono::steady_clock::now() +
                std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                    std::chrono::duration<double>(limits.maxSeconds))) {}

bool ContainerOutput::more() {
  if (stopped_) return false;
  if (count_ >= limits_.maxMembers) {
    stopped_ = true;
    error(evasion("more than " + std::to_string(limits_.maxMembers) +
                  " embedded files: the rest were not read"));
  } else if (std::chrono::steady_clock::now() > deadline_) {
    stopped_ = true;
    error(
        evasion("reading embedded files took longer than the time limit: the rest were not read"));
  }
  return !stopped_;
}

FoundFile ContainerOutput::base(std::string_view name) {
  ++count_;
  FoundFile f;
  f.name = cleanFileName(name);
  if (f.name.empty()) f.name = "embedded-" + std::to_string(count_);
  f.where = container_.where;
  f.where.push_back(container_.name);
  return f;
}

void ContainerOutput::file(std::string_view name, std::string_view content) {
  if (content.size() > limits_.maxMemberSize) {
    unscanned(name, content.size(),
              evasion("over size limit (" + std::to_string(limits_.maxMemberSize) + " bytes)"));
    return;
  }
  if (total_ + content.size() > limits_.maxTotalBytes) {
    unscanned(name, content.size(),
              evasion("container unpacks to more than " + std::to_string(limits_.maxTotalBytes) +
                      " bytes"));
    return;
  }
  total_ += content.size();
  FoundFile f = base(name);
  f.content = content;
  f.size = content.size();
  visitor_.onFile(f);
}

void ContainerOutput::unscanned(std::string_view name, std::uint64_t size,
                                const std::string& reason) {
  FoundFile f = base(name);
  f.size = size;
  f.unscanned = reason;
  visitor_.onFile(f);
}

void ContainerOutput::error(const std::string& what) {
  visitor_.onError("'" + container_.name + "': " + what);
}

}  // namespace bccsink::sandbox
