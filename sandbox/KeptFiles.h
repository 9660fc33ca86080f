#pragma once
// What one message adds to DataDir/files (issue 18, finding 4: a 7.9 MB message of five
// 99 MB archive members wrote 501 MB). The extractor's `keep` for one message: a selected
// file is stored in the ContentStore while the message's budget allows it, the larger of
// BccMaxStoredPerMessage and 10 times the message's size; a file stored already (the same
// SHA-256, by this message or any earlier one) costs nothing. Past the budget a file is
// not kept: its bytes are held in memory for the analyzers (Submission::bytes, freed once
// they have answered) and its row says why (notKept()), so retention and re-checks, which
// look only at kept files, pass it by.
//
// The memory is bounded twice: one message's files decode to at most BccMaxUnpackedSize
// (each archive to BccArchiveMaxUnpackedSize and BccArchiveMaxRatio), and every message's
// files not kept share one HeldBytes account; a file that would go past it is neither kept
// nor held, and is unscanned as an evasion (refused()), which makes its message suspicious.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/ContentStore.h"
#include "sandbox/HeldBytes.h"
#include "sandbox/extract/Extractor.h"

namespace bccsink::sandbox {

// max(floor, 10 x messageSize): what one message may add to the store.
std::uint64_t storedBudget(std::uint64_t floor, std::uint64_t messageSize);

class KeptFiles {
 public:
  // `held` may be null (one message alone, `bccsink scan`: nothing else holds memory).
  KeptFiles(const ContentStore& store, std::uint64_t budget, HeldBytes* held);

  // The extractor's `keep`: stores, holds or refuses `bytes` (see the header comment).
  void keep(const ExtractedFile& f, std::string_view bytes);
  std::function<void(const ExtractedFile&, std::string_view)> keeper() {
    return [this](const ExtractedFile& f, std::string_view bytes) { keep(f, bytes); };
  }

  // In the store, by this message or an earlier one.
  bool stored(const std::string& sha256) const;
  // The bytes of a file not kept, or null.
  std::shared_ptr<const std::string> inMemory(const std::string& sha256) const;
  // Why the file is not in DataDir/files ("the message's stored-content budget of 200 MB
  // was reached"), '' when it is, or when it was never offered.
  std::string notKept(const std::string& sha256) const;
  // Why the file is neither kept nor held (an evasion), '' otherwise.
  std::string refused(const std::string& sha256) const;
  // What the store could not do (disk full): "cannot keep 'a.exe' for analysis: ...".
  const std::vector<std::string>& errors() const { return errors_; }
  // Bytes this message wrote to the store, and its budget.
  std::uint64_t storedBytes() const { return storedBytes_; }
  std::uint64_t budget() const { return budget_; }

 private:
  const ContentStore& store_;
  std::uint64_t budget_;
  HeldBytes* held_;
  std::uint64_t storedBytes_ = 0;
  std::map<std::string, std::string> stored_;  // sha256 -> path
  std::map<std::string, std::shared_ptr<const std::string>> inMemory_;
  std::map<std::string, std::string> refused_;
  std::vector<std::string> errors_;
};

}  // namespace bccsink::sandbox
