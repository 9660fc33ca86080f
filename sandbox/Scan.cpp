#include "sandbox/Scan.h"

#include <condition_variable>
#include <map>
#include <mutex>

#include "sandbox/KeptFiles.h"
#include "sandbox/extract/Evasion.h"

namespace bccsink::sandbox {

VerdictKind fileVerdict(const std::vector<Verdict>& answers) {
  if (answers.empty()) return VerdictKind::Unscanned;
  VerdictKind v = answers.front().kind;
  for (const auto& a : answers) v = worse(v, a.kind);
  return v;
}

ScanReport scanMessage(std::string_view message, const MessageExtractor& extractor,
                       const ContentStore& store,
                       const std::vector<std::unique_ptr<AnalyzerRunner>>& runners,
                       std::chrono::steady_clock::time_point deadline, std::uint64_t storedBudget) {
  ScanReport report;
  // One message alone: nothing else holds memory, so no account.
  KeptFiles kept(store, storedBudget, nullptr);
  auto extraction = extractor.extract(message, kept.keeper());
  report.errors = std::move(extraction.errors);
  report.errors.insert(report.errors.end(), kept.errors().begin(), kept.errors().end());
  // What the analyzers get: each distinct selected file that was read whole and kept or
  // held (a container past the nesting limit was kept, then found unreadable: not sent).
  std::map<std::string, Submission> distinct;
  for (const auto& f : extraction.files) {
    if (!f.selected || f.unreadable || distinct.count(f.sha256)) continue;
    auto bytes = kept.inMemory(f.sha256);
    if (!bytes && !kept.stored(f.sha256)) continue;
    distinct[f.sha256] = {
        f.sha256, f.md5, f.name, f.type.family, f.size, bytes ? "" : store.pathOf(f.sha256), bytes};
  }

  // Every distinct file to every analyzer at once. The answers' state is shared with
  // the callbacks, so that one arriving after we stopped waiting finds it alive.
  struct Answers {
    std::mutex mutex;
    std::condition_variable cv;
    std::map<std::string, std::vector<Verdict>> bySha;
    std::size_t outstanding = 0;
  };
  auto state = std::make_shared<Answers>();
  state->outstanding = distinct.size() * runners.size();
  for (const auto& [sha, submission] : distinct) {
    for (const auto& runner : runners) {
      runner->submit(submission, deadline, [state, sha = sha](Verdict v) {
        std::lock_guard lock(state->mutex);
        state->bySha[sha].push_back(std::move(v));
        --state->outstanding;
        state->cv.notify_all();
      });
    }
  }
  std::unique_lock lock(state->mutex);
  // The runners answer every submission by the deadline (fail-open); the slack only
  // guards against a runner that breaks that promise.
  state->cv.wait_until(lock, deadline + std::chrono::seconds(5),
                       [&] { return state->outstanding == 0; });
  if (state->outstanding != 0) report.errors.push_back("analyzers did not answer by the deadline");
  auto& answers = state->bySha;

  for (auto& f : extraction.files) {
    ScannedFile s;
    s.file = f;
    if (f.unreadable) {
      s.verdict = VerdictKind::Unscanned;
      report.verdict = worse(report.verdict, s.verdict);
    } else if (f.selected && distinct.count(f.sha256)) {
      s.analysed = true;
      s.notKept = kept.notKept(f.sha256);
      s.answers = answers[f.sha256];
      if (runners.empty()) s.file.reason = "no analyzer is enabled";
      s.verdict = fileVerdict(s.answers);
      report.verdict = worse(report.verdict, s.verdict);
    }
    report.files.push_back(std::move(s));
  }
  // What a sender controls and that kept bytes from analysis makes the message at least
  // suspicious (as Pipeline::tryComplete does); an analyzer that is down does not.
  bool evaded = false;
  for (const auto& s : report.files)
    evaded = evaded || (s.file.unreadable && isEvasion(s.file.reason));
  for (const auto& e : report.errors) evaded = evaded || isEvasion(e);
  if (evaded) report.verdict = worse(report.verdict, VerdictKind::Suspicious);
  return report;
}

}  // namespace bccsink::sandbox
