#include "sandbox/KeptFiles.h"

#include <algorithm>
#include <limits>

#include "sandbox/extract/Evasion.h"

namespace bccsink::sandbox {
namespace {

std::string megabytes(std::uint64_t bytes) {
  return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MB";
}

}  // namespace

std::uint64_t storedBudget(std::uint64_t floor, std::uint64_t messageSize) {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  return std::max(floor, messageSize > kMax / 10 ? kMax : messageSize * 10);
}

KeptFiles::KeptFiles(const ContentStore& store, std::uint64_t budget, HeldBytes* held)
    : store_(store), budget_(budget), held_(held) {}

void KeptFiles::keep(const ExtractedFile& f, std::string_view bytes) {
  const auto& sha = f.sha256;
  if (stored_.count(sha) || inMemory_.count(sha) || refused_.count(sha)) return;
  try {
    // Stored already (dedup): free. Renewed by put(), so that retention leaves it.
    const bool there = store_.has(sha);
    if (there || bytes.size() <= budget_ - std::min(budget_, storedBytes_)) {
      stored_[sha] = store_.put(sha, bytes);
      if (!there) storedBytes_ += bytes.size();
      return;
    }
  } catch (const std::exception& e) {
    errors_.push_back("cannot keep '" + f.path() + "' for analysis: " + e.what());
    return;
  }
  auto copy = held_ ? held_->hold(bytes) : std::make_shared<const std::string>(bytes);
  if (copy) {
    inMemory_[sha] = std::move(copy);
  } else {
    refused_[sha] = evasion("not kept and not analysed: the message's stored-content budget of " +
                            megabytes(budget_) + " was reached, and files of other messages " +
                            "not kept hold " + megabytes(held_->held()) + " of memory already");
  }
}

bool KeptFiles::stored(const std::string& sha256) const {
  return stored_.count(sha256) > 0 || store_.has(sha256);
}

std::shared_ptr<const std::string> KeptFiles::inMemory(const std::string& sha256) const {
  auto it = inMemory_.find(sha256);
  return it == inMemory_.end() ? nullptr : it->second;
}

std::string KeptFiles::notKept(const std::string& sha256) const {
  if (!inMemory_.count(sha256) && !refused_.count(sha256)) return "";
  return "the message's stored-content budget of " + megabytes(budget_) + " was reached";
}

std::string KeptFiles::refused(const std::string& sha256) const {
  auto it = refused_.find(sha256);
  return it == refused_.end() ? "" : it->second;
}

}  // namespace bccsink::sandbox
