#pragma once
// One message through extraction, selection and the analyzers, without the queue: what
// `bccsink scan FILE.eml` prints, and what tests drive. Each distinct selected file is
// submitted once per analyzer, all at once, and waited for until the deadline.

#include <chrono>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/ContentStore.h"
#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/analyzers/Verdict.h"
#include "sandbox/extract/Extractor.h"

namespace bccsink::sandbox {

struct ScannedFile {
  ExtractedFile file;
  bool analysed = false;  // selected, readable, and given to the analyzers
  // Why its bytes are not in DataDir/files (analysed from memory): KeptFiles::notKept.
  std::string notKept;
  VerdictKind verdict = VerdictKind::Unscanned;  // worst of the answers (when analysed)
  std::vector<Verdict> answers;                  // each analyzer's own
};

struct ScanReport {
  VerdictKind verdict = VerdictKind::Clean;  // worst over analysed and unreadable files
  std::vector<ScannedFile> files;
  std::vector<std::string> errors;
};

// The file's verdict from its analyzers' answers, and the message's from its files'.
VerdictKind fileVerdict(const std::vector<Verdict>& answers);

// `storedBudget`: what the message may add to the store (sandbox/KeptFiles); files past
// it are analysed from memory.
ScanReport scanMessage(std::string_view message, const MessageExtractor& extractor,
                       const ContentStore& store,
                       const std::vector<std::unique_ptr<AnalyzerRunner>>& runners,
                       std::chrono::steady_clock::time_point deadline,
                       std::uint64_t storedBudget = std::numeric_limits<std::uint64_t>::max());

}  // namespace bccsink::sandbox
