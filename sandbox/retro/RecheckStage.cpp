#include "sandbox/retro/RecheckStage.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Logger.h>
#include <Poco/Timestamp.h>
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include "base/Clock.h"
#include "base/Text.h"
#include "db/Database.h"
#include "db/FileRepository.h"
#include "db/RetroAlerts.h"
#include "sandbox/MessageCompletion.h"

namespace bccsink::sandbox {
namespace {

using Clock = std::chrono::steady_clock;

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.retro");
}

std::string windowStart(std::chrono::seconds window) {
  return isoOfMs(nowMs() - window.count() * 1000);
}

// The analyzer could not answer now (clamd away): the same file later.
struct Unreachable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace

RecheckStage::RecheckStage(RecheckSettings settings, const ContentStore& store, RetroJudge& judge,
                           std::vector<RecheckAnalyzer> analyzers)
    : settings_(std::move(settings)),
      store_(store),
      judge_(judge),
      analyzers_(std::move(analyzers)),
      counted_(analyzers_.size(), false),
      seen_(analyzers_.size()) {
  for (std::size_t i = 0; i < analyzers_.size(); ++i)
    files_.push_back(std::make_unique<std::atomic<std::uint64_t>>(0));
}

RecheckStage::~RecheckStage() {
  stop();
}

bool RecheckStage::enabled() const {
  return settings_.window.count() > 0 && settings_.rate > 0 && !analyzers_.empty();
}

void RecheckStage::start() {
  if (!enabled() || thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
}

void RecheckStage::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  stopSource_.request_stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RecheckStage::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

std::vector<std::pair<std::string, std::uint64_t>> RecheckStage::filesRechecked() const {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (std::size_t i = 0; i < analyzers_.size(); ++i)
    out.emplace_back(analyzers_[i].name, files_[i]->load());
  return out;
}

bool RecheckStage::runOnceForTest(db::Database& db, std::size_t maxFiles) {
  lookAtGenerations(db, true);
  {
    std::lock_guard lock(mutex_);
    woken_ = false;
  }
  return work(db, maxFiles);
}

void RecheckStage::lookAtGenerations(db::Database& db, bool all) {
  db::RetroAlerts repo(db);
  for (std::size_t i = 0; i < analyzers_.size(); ++i) {
    const auto& a = analyzers_[i];
    if (a.polled && !all) continue;
    const auto now = a.generation ? a.generation() : std::string();
    if (now.empty()) continue;
    const auto stored = repo.generation(settings_.sink, a.name);
    if (stored && stored->generation == now) continue;
    // The first one is only stored (nothing to compare it with); a change starts a
    // re-check from the newest file, or starts it again when one was running.
    db::AnalyzerGeneration g{now, nowMs(), std::nullopt};
    if (stored) g.cursor = std::string();
    repo.setGeneration(settings_.sink, a.name, g);
    counted_[i] = false;
    if (stored)
      log().notice("recheck: %s changed (%s), re-checking the files of the last %s s", a.name,
                   oneLineUtf8(now, 200),  // clamd's VERSION answer among them
                   std::to_string(settings_.window.count()));
  }
}

bool RecheckStage::takeToken() {
  const auto spacing = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / settings_.rate));
  auto now = Clock::now();
  if (nextToken_ < now) nextToken_ = now;  // no burst after an idle time
  std::unique_lock lock(mutex_);
  if (nextToken_ > now) cv_.wait_until(lock, nextToken_, [this] { return stop_; });
  nextToken_ += spacing;
  return !stop_;
}

bool RecheckStage::recheck(db::Database& db, const RecheckAnalyzer& a, const std::string& sha256) {
  db::FileRepository cache(db);
  Submission file;
  file.sha256 = sha256;
  if (auto row = cache.find(sha256)) {
    file.md5 = row->md5;
    file.size = static_cast<std::uint64_t>(row->size);
    file.family = row->family;
  }
  file.path = store_.pathOf(sha256);
  auto v = a.analyzer->scan(file, stopSource_.get_token());
  if (v.kind == VerdictKind::Unscanned) {
    if (v.transient) throw Unreachable(a.name + ": " + v.reason);
    return false;  // not a verdict: the cached one stays
  }
  v.analyzer = a.name;
  std::optional<db::StoredVerdict> before;
  for (auto& s : cache.verdicts(sha256)) {
    if (s.analyzer == a.name) before = std::move(s);
  }
  const auto stored = toStored(sha256, a.name, v);
  if (!before || before->verdict != stored.verdict || before->threats != v.threats)
    cache.recordVerdict(stored);
  // Also when the cache already held this answer: a judgement that failed after the
  // answer was stored (the database away, a crash between the two commits) is made now.
  // recordWorse is idempotent: messages already as bad are left alone, no alert follows.
  judge_.judge(db, stored, a.cause);
  return true;
}

bool RecheckStage::work(db::Database& db, std::size_t maxFiles) {
  db::RetroAlerts repo(db);
  for (std::size_t i = 0; i < analyzers_.size(); ++i) {
    const auto& a = analyzers_[i];
    auto g = repo.generation(settings_.sink, a.name);
    if (!g || !g->cursor) continue;
    auto cursor = *g->cursor;  // the last message done
    const auto since = windowStart(settings_.window);
    if (!counted_[i]) {
      pending_ = repo.recheckRemaining(settings_.sink, since, cursor, a.keptOnly);
      seen_[i].clear();
      counted_[i] = true;
    }
    auto lastSave = Clock::now();
    std::size_t done = 0;
    bool interrupted = false;
    while (done < maxFiles && !interrupted) {
      auto batch = repo.recheckBatch(settings_.sink, since, cursor, settings_.batch, a.keptOnly);
      if (batch.empty()) {
        repo.setCursor(settings_.sink, a.name, std::nullopt);
        pending_ = 0;
        counted_[i] = false;
        seen_[i].clear();
        log().notice("recheck: %s done (%s files)", a.name, std::to_string(files_[i]->load()));
        return true;
      }
      for (std::size_t j = 0; j < batch.size(); ++j) {
        const auto& f = batch[j];
        {
          std::lock_guard lock(mutex_);
          interrupted = stop_ || woken_;  // a new generation may restart it
        }
        if (interrupted || done >= maxFiles) {
          interrupted = true;
          break;
        }
        // Once per file in a re-check: a digest's first 16 hex digits, 8 bytes a file.
        if (!f.sha256.empty() &&
            seen_[i].insert(std::stoull(f.sha256.substr(0, 16), nullptr, 16)).second) {
          if (!a.keptOnly || store_.has(f.sha256)) {
            if (!takeToken()) {
              interrupted = true;
              break;
            }
            try {
              recheck(db, a, f.sha256);
            } catch (...) {  // unreachable, or the database: this file again next time
              seen_[i].erase(std::stoull(f.sha256.substr(0, 16), nullptr, 16));
              repo.setCursor(settings_.sink, a.name, cursor);
              throw;
            }
            ++*files_[i];
          }
          ++done;
          if (pending_ > 0) --pending_;
        }
        // A message is done with its last file: the cursor moves past it.
        if (j + 1 == batch.size() || batch[j + 1].cursor != f.cursor) cursor = f.cursor;
        if (Clock::now() - lastSave >= settings_.saveEvery) {
          repo.setCursor(settings_.sink, a.name, cursor);
          lastSave = Clock::now();
        }
      }
      repo.setCursor(settings_.sink, a.name, cursor);
    }
    return true;
  }
  pending_ = 0;
  return false;
}

void RecheckStage::loop() {
  pthread_setname_np(pthread_self(), "recheck");
  // Background work: at nice 10 the kernel gives the intake's and the workers' threads the
  // CPU first when the machine is busy (BccRecheckRate bounds it when it is not).
  setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
  std::unique_ptr<db::Database> db;
  auto nextPoll = Clock::now();
  bool failing = false;
  while (true) {
    bool woken;
    {
      std::lock_guard lock(mutex_);
      if (stop_) break;
      woken = woken_;
      woken_ = false;
    }
    try {
      if (!db) db = std::make_unique<db::Database>(settings_.databaseUrl, db::Durability::Deferred);
      const bool poll = Clock::now() >= nextPoll;
      if (woken || poll) lookAtGenerations(*db, poll);
      if (poll) nextPoll = Clock::now() + settings_.pollInterval;
      bool busy = work(*db, settings_.batch);
      if (failing) log().notice("recheck: going on");
      failing = false;
      if (busy) continue;
      std::unique_lock lock(mutex_);
      cv_.wait_until(lock, nextPoll, [this] { return stop_ || woken_; });
    } catch (const std::exception& e) {
      if (!failing)
        log().warning("recheck: paused for %s s: %s",
                      std::to_string(settings_.retryPause.count() / 1000),
                      oneLineUtf8(e.what(), 300));
      failing = true;
      if (!dynamic_cast<const Unreachable*>(&e)) db.reset();
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, settings_.retryPause, [this] { return stop_; });
    }
  }
}

}  // namespace bccsink::sandbox
