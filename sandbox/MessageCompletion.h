#pragma once
// What a message's files come to, as the verdict cache knows them now (the Pipeline's
// rule): a selected file without a verdict gets the worst of its analyzers' answers once
// all are in, or what is known with the rest unscanned once the message's deadline
// passed; the message is complete when every selected file has one, its verdict the
// worst of them, at least suspicious when the sender kept bytes from analysis. Reads
// only: the Pipeline writes a batch of these in one transaction. With the conversions
// between an analyzer's answer and the cache's row.

#include <cstdint>
#include <string>
#include <vector>

#include "db/FileRepository.h"
#include "db/MessageFiles.h"
#include "sandbox/analyzers/Verdict.h"

namespace bccsink::sandbox {

struct MessageCompletion {
  struct Decided {
    int position;
    std::string verdict, notes;
  };
  std::string id;
  std::vector<Decided> decided;  // files whose verdict is known now
  bool complete = false;         // every selected file has one: the message is checked
  std::string verdict;           // the message's, when complete
  std::size_t files = 0, analysed = 0;
};

// `analyzers`: the enabled ones' names; `errors`: the message's extraction errors, one
// per line.
MessageCompletion messageCompletion(const std::string& msgId,
                                    const std::vector<db::MessageFile>& files,
                                    const std::vector<std::string>& analyzers,
                                    db::FileRepository& cache, const db::Freshness& freshness,
                                    std::int64_t nowMs, std::int64_t deadlineMs,
                                    const std::string& errors);

// A failed message's verdict: unscanned, unless an earlier claim found worse in `files`.
std::string failedVerdict(const std::vector<db::MessageFile>& files);

// An analyzer's answer as the verdict cache keeps it, decided now.
db::StoredVerdict toStored(const std::string& sha256, const std::string& analyzer,
                           const Verdict& v);

}  // namespace bccsink::sandbox
