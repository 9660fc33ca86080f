#include "sandbox/Pipeline.h"

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <pthread.h>

#include <algorithm>
#include <map>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "db/SpooledMessage.h"
#include "sandbox/KeptFiles.h"
#include "sandbox/MessageCompletion.h"
#include "sandbox/Scan.h"
#include "sandbox/extract/Evasion.h"

namespace bccsink::sandbox {

struct Pipeline::Repos {
  // Deferred: a claim or result undone by power loss means the message is analysed again.
  explicit Repos(const std::string& url)
      : db(url, db::Durability::Deferred), queue(db), files(db), cache(db) {}
  db::Database db;
  db::MessageQueue queue;
  db::MessageFiles files;
  db::FileRepository cache;
};

struct Pipeline::Found {
  std::string id;
  std::int64_t deadlineMs = 0;
  enum class Outcome { Extracted, Failed, Released } outcome = Outcome::Extracted;
  std::string reason;   // why it Failed or was Released
  std::string verdict;  // Failed: the worst an earlier claim found, at least unscanned
  std::vector<db::MessageFile> rows;
  std::vector<db::FileRow> seen;  // the distinct files, for the cache's `files` rows
  std::string errors;             // the extraction's, one per line
  bool firstTime = true;          // no earlier claim listed its files: a new arrival
  InMemory inMemory;              // the bytes of the files not kept, until submitted
};

namespace {

using Clock = std::chrono::steady_clock;

// The runner's clock for a deadline kept as wall-clock ms in the database.
Clock::time_point steadyDeadline(std::int64_t deadlineMs) {
  return Clock::now() + std::chrono::milliseconds(deadlineMs - nowMs());
}

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.analysis");
}

std::string errorText(const std::exception& e) {
  if (auto p = dynamic_cast<const Poco::Exception*>(&e)) return p->displayText();
  return e.what();
}

}  // namespace

Pipeline::Pipeline(PipelineSettings settings, const MessageExtractor& extractor,
                   const ContentStore& store, std::vector<std::unique_ptr<AnalyzerRunner>> runners)
    : settings_(std::move(settings)),
      extractor_(extractor),
      store_(store),
      runners_(std::move(runners)),
      outage_(log(), "analysis"),
      held_(settings_.maxHeldInMemory) {}

Pipeline::~Pipeline() {
  stop();
}

void Pipeline::start() {
  {
    Repos r(settings_.databaseUrl);
    int back = r.queue.releaseLeasesOf(settings_.owner);
    int forgotten = r.cache.releaseSubmissionsOf(settings_.owner);
    if (back > 0 || forgotten > 0) {
      log().notice("recovery: %d messages returned to pending, %d submissions forgotten", back,
                   forgotten);
    }
  }
  std::lock_guard lock(mutex_);
  started_ = true;
  for (std::size_t i = 0; i < settings_.workers; ++i)
    workers_.emplace_back([this, i] { workerLoop(i); });
  completer_ = std::thread([this] { completerLoop(); });
}

void Pipeline::stop() {
  {
    std::lock_guard lock(mutex_);
    if (!started_ || stopping_) return;
    stopping_ = true;
  }
  workCv_.notify_all();
  for (auto& t : workers_) t.join();
  // Every submission in flight is answered "shutting down" (not stored: see record()).
  for (auto& runner : runners_) runner->stop();
  answerCv_.notify_all();
  completer_.join();
}

void Pipeline::onFinished(FinishedListener listener) {
  std::lock_guard lock(mutex_);
  finishedListeners_.push_back(std::move(listener));
}

void Pipeline::onVerdict(VerdictListener listener) {
  std::lock_guard lock(mutex_);
  verdictListeners_.push_back(std::move(listener));
}

void Pipeline::announceFinished(const std::string& msgId) {
  for (const auto& listener : finishedListeners_) listener(msgId);
}

void Pipeline::wake() {
  {
    std::lock_guard lock(mutex_);
    ++wakeups_;
  }
  workCv_.notify_one();
}

void Pipeline::post(Answer a) {
  {
    std::lock_guard lock(mutex_);
    answers_.push_back(std::move(a));
  }
  answerCv_.notify_one();
}

void Pipeline::workerLoop(std::size_t index) {
  // Named for top -H, perf and strace -f (at most 15 characters).
  pthread_setname_np(pthread_self(), ("analysis-" + std::to_string(index)).substr(0, 15).c_str());
  std::unique_ptr<Repos> r;
  std::uint64_t seen = 0;
  // Claimed and not finished, oldest first.
  std::deque<db::MessageRecord> claimed;
  auto letGo = [&] {
    std::lock_guard lock(mutex_);
    for (const auto& m : claimed) inHand_.erase(m.id);
    claimed.clear();
  };
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
      seen = wakeups_;
    }
    bool worked = false;
    std::chrono::milliseconds backOff{0};
    try {
      if (!r) r = std::make_unique<Repos>(settings_.databaseUrl);
      if (claimed.empty()) {
        // Several at once under a backlog: one write transaction instead of one each.
        const auto now = nowMs();
        auto batch = r->queue.claim(settings_.owner, std::max<std::size_t>(settings_.claimBatch, 1),
                                    now + settings_.lease.count(),
                                    now + settings_.analysisTimeout.count(), isoNow());
        counters_.claimed += batch.size();
        {
          std::lock_guard lock(mutex_);
          for (auto& m : batch) {
            inHand_.insert(m.id);
            claimed.push_back(std::move(m));
          }
        }
        // A full claim may have left more behind: an idle worker looks now.
        if (batch.size() > 1 && batch.size() == settings_.claimBatch) wake();
      }
      if (!claimed.empty()) {
        worked = true;
        // Examined one by one (extraction: no writes), then recorded in one transaction and
        // completed in another: a claim's rows share their pages in the log.
        std::vector<Found> found;
        for (const auto& m : claimed) {
          {
            std::lock_guard lock(mutex_);
            if (stopping_) break;  // the rest is given back below
          }
          found.push_back(process(*r, m));
        }
        recordClaim(*r, found);
        std::vector<std::string> extracted;
        for (const auto& f : found) {
          if (f.outcome == Found::Outcome::Extracted) extracted.push_back(f.id);
        }
        auto lists = r->files.listAll(extracted);  // with the files' types, one query
        std::vector<MessageCompletion> done;
        for (const auto& f : found) {
          if (f.outcome == Found::Outcome::Extracted)
            done.push_back(
                advance(*r, f.id, f.deadlineMs, std::move(lists[f.id]), f.errors, &f.inMemory));
        }
        finish(*r, done);
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < found.size(); ++i) {
          inHand_.erase(claimed.front().id);
          claimed.pop_front();
        }
      }
      outage_.succeeded();
    } catch (const std::exception& e) {
      // The database is gone (a PostgreSQL restart) or locked for longer than its busy
      // timeout: try again after a pause with a new connection (and the repositories'
      // statements made again on it). The messages claimed are let go; the sweep returns
      // them to the queue.
      backOff = outage_.failed(e);
      r.reset();
      letGo();
    }
    std::unique_lock lock(mutex_);
    if (backOff.count() > 0) {
      // Not cut short by wake(): new work does not bring the database back.
      workCv_.wait_for(lock, backOff, [&] { return stopping_; });
      continue;
    }
    if (worked) continue;
    workCv_.wait_for(lock, settings_.idlePoll, [&] { return stopping_ || wakeups_ != seen; });
  }
  // Stopping with part of a claim never begun: it goes back with its attempt.
  if (claimed.empty()) return;
  try {
    std::vector<std::string> ids;
    for (const auto& m : claimed) ids.push_back(m.id);
    if (!r) r = std::make_unique<Repos>(settings_.databaseUrl);
    r->queue.unclaim(ids, settings_.owner);
  } catch (const std::exception& e) {
    // They stay `analyzing`; the next start of this sink takes them back.
    log().error("worker %z: %s", index, errorText(e));
  }
  letGo();
}

Pipeline::Found Pipeline::process(Repos& r, const db::MessageRecord& m) {
  Found found{m.id, m.deadlineMs};
  auto failed = [&](std::string reason) {
    found.outcome = Found::Outcome::Failed;
    found.reason = std::move(reason);
    found.verdict = failedVerdict(r.files.list(m.id));
    return found;
  };
  if (m.attempts > settings_.maxAttempts) {
    return failed("gave up after " + std::to_string(m.attempts - 1) + " attempts (BccMaxAttempts " +
                  std::to_string(settings_.maxAttempts) +
                  "; each ended without a result: a worker crashed or the daemon stopped); "
                  "the spool file is kept");
  }
  Extraction extraction;
  std::unique_ptr<KeptFiles> kept;
  try {
    db::SpooledMessage spooled(settings_.spoolDir, m.spoolFile);
    // Past its budget a message's files are analysed from memory, not kept (issue 18).
    kept = std::make_unique<KeptFiles>(
        store_, storedBudget(settings_.maxStoredPerMessage, spooled.bytes().size()), &held_);
    extraction = extractor_.extract(spooled.bytes(), kept->keeper());
  } catch (const std::exception& e) {
    // The spool file is gone or unreadable: nothing later can change that.
    return failed("cannot read the spool file: " + errorText(e));
  }
  // A file the store could not keep (disk full) cannot be analysed now, but may be later.
  for (const auto& f : extraction.files) {
    if (f.selected && !f.unreadable && !kept->stored(f.sha256) && !kept->inMemory(f.sha256) &&
        kept->refused(f.sha256).empty()) {
      found.outcome = Found::Outcome::Released;
      found.reason = "cannot keep '" + f.path() + "' for analysis (is DataDir full?)";
      return found;
    }
  }

  std::map<std::string, db::FileRow> distinct;
  auto& rows = found.rows;
  for (const auto& f : extraction.files) {
    db::MessageFile row;
    row.position = static_cast<int>(rows.size());
    row.sha256 = f.sha256;
    row.name = f.name;
    row.path = f.path();
    row.extension = f.extension;
    row.extensionMismatch = f.extensionMismatch;
    row.size = static_cast<std::int64_t>(f.size);
    row.selected = f.selected;
    row.reason = f.reason;
    if (f.unreadable) row.verdict = "unscanned";
    if (f.selected && !f.unreadable) {
      row.notKept = kept->notKept(f.sha256);
      if (auto why = kept->refused(f.sha256); !why.empty()) {
        row.verdict = "unscanned";  // neither kept nor held: memory is full of others'
        row.reason = why;
      }
      if (auto bytes = kept->inMemory(f.sha256)) found.inMemory.emplace(f.sha256, bytes);
    }
    if (!f.sha256.empty()) {
      db::FileRow file;
      file.sha256 = f.sha256;
      file.md5 = f.md5;
      file.size = static_cast<std::int64_t>(f.size);
      file.trueType = f.type.mimeType;
      file.description = f.type.description;
      file.family = f.type.family;
      distinct.emplace(f.sha256, std::move(file));
    }
    rows.push_back(std::move(row));
  }
  if (!found.inMemory.empty()) {
    std::uint64_t held = 0;
    for (const auto& [sha, bytes] : found.inMemory) held += bytes->size();
    // Once per message: the administrator sees why DataDir/files did not grow with it.
    log().notice("not kept id=%s files=%z bytes=%s stored=%s: %s; analysed from memory", m.id,
                 found.inMemory.size(), std::to_string(held), std::to_string(kept->storedBytes()),
                 kept->notKept(found.inMemory.begin()->first));
  }
  for (auto& [sha, row] : distinct) found.seen.push_back(std::move(row));
  for (const auto& e : extraction.errors) found.errors += (found.errors.empty() ? "" : "\n") + e;
  // A message claimed again (after a restart) has its files already: not a new arrival.
  // A first claim cannot have any.
  found.firstTime = m.attempts <= 1 || r.files.list(m.id).empty();
  return found;
}

void Pipeline::recordClaim(Repos& r, const std::vector<Found>& found) {
  if (found.empty()) return;
  // Gathered first: each repository call below prepares its statements once for the
  // whole claim, and the gate is held for executions only.
  std::vector<db::FileRow> arrived, seenAgain;
  std::vector<db::ExtractedFiles> lists;
  for (const auto& f : found) {
    if (f.outcome != Found::Outcome::Extracted) continue;
    auto& seen = f.firstTime ? arrived : seenAgain;
    seen.insert(seen.end(), f.seen.begin(), f.seen.end());
    lists.push_back({f.id, f.rows, f.errors});
  }
  {
    db::WriteTransaction tx(r.db);
    r.cache.recordSeen(arrived, isoNow(), true);
    r.cache.recordSeen(seenAgain, isoNow(), false);
    r.files.save(lists, isoNow());
    for (const auto& f : found) {
      if (f.outcome == Found::Outcome::Failed) {
        r.queue.markFailed(f.id, f.reason, f.verdict, isoNow());
      } else if (f.outcome == Found::Outcome::Released) {
        // A file the store could not keep (disk full) cannot be analysed now, but may be
        // later.
        r.queue.release(f.id, settings_.owner, f.reason);
      }
    }
    tx.commit();
  }
  for (const auto& f : found) {
    switch (f.outcome) {
      case Found::Outcome::Extracted:
        counters_.files += f.rows.size();
        break;
      case Found::Outcome::Failed:
        ++counters_.failed;
        log().error("failed id=%s: %s", f.id, f.reason);
        for (const auto& listener : verdictListeners_) listener(f.id, f.verdict, true);
        announceFinished(f.id);
        break;
      case Found::Outcome::Released:
        ++counters_.released;
        log().error("released id=%s: %s", f.id, f.reason);
        break;
    }
  }
}

MessageCompletion Pipeline::advance(Repos& r, const std::string& msgId, std::int64_t deadlineMs,
                                    std::vector<db::MessageFile> files, const std::string& errors,
                                    const InMemory* inMemory) {
  const auto now = nowMs();
  std::set<std::string> asked;
  for (const auto& f : files) {
    if (!f.selected || !f.verdict.empty() || f.sha256.empty() || !asked.insert(f.sha256).second)
      continue;
    for (auto& runner : runners_) {
      const auto& name = runner->name();
      ++counters_.cacheLookups;
      if (r.cache.freshVerdict(f.sha256, name, settings_.freshness, now)) {
        ++counters_.cacheHits;
        continue;
      }
      const auto key = f.sha256 + "/" + name;
      {
        std::lock_guard lock(mutex_);
        if (inFlight_.count(key)) continue;  // this process asked already
      }
      if (now >= deadlineMs) continue;  // too late to ask: tryComplete gives up on it
      // Not kept: its bytes are in memory right after extraction only.
      std::shared_ptr<const std::string> bytes;
      if (inMemory != nullptr) {
        if (auto it = inMemory->find(f.sha256); it != inMemory->end()) bytes = it->second;
      }
      if (!bytes && !store_.has(f.sha256)) continue;  // not ours to submit (another sink's)
      // A submission outlives its message's deadline by one attempt of its analyzer: the
      // message is judged at its deadline without the answer (unscanned), and an answer
      // that comes later is still stored, so that it judges the message again
      // (sandbox/retro, a "late-answer" retro-alert) and answers the next copy of the file.
      // (The runner ends an attempt at the submission's deadline: one begun just before
      // the message's deadline gets its whole time.)
      const auto submitUntil = deadlineMs + runner->attemptTimeout().count();
      const auto leaseUntil =
          std::max<std::int64_t>(now + settings_.analysisTimeout.count(), submitUntil);
      if (!r.cache.claimSubmission(f.sha256, name, settings_.owner, settings_.freshness, now,
                                   leaseUntil))
        continue;  // a verdict just arrived, or a live submission elsewhere
      {
        std::lock_guard lock(mutex_);
        inFlight_.insert(key);
      }
      ++counters_.submissions;
      Submission s{f.sha256,
                   f.md5,
                   f.name,
                   f.family,
                   static_cast<std::uint64_t>(f.size),
                   bytes ? "" : store_.pathOf(f.sha256),
                   bytes};
      runner->submit(std::move(s), steadyDeadline(submitUntil),
                     [this, sha = f.sha256, name](Verdict v) {
                       post({sha, name, std::move(v)});
                     });
    }
  }
  // Submitting changed no file's row: the list stands (a verdict the completer sets
  // meanwhile is set once, see setVerdict).
  return decide(r, msgId, deadlineMs, files, errors);
}

MessageCompletion Pipeline::decide(Repos& r, const std::string& msgId, std::int64_t deadlineMs,
                                   const std::vector<db::MessageFile>& files,
                                   const std::string& errors) {
  std::vector<std::string> analyzers;
  for (const auto& runner : runners_) analyzers.push_back(runner->name());
  return messageCompletion(msgId, files, analyzers, r.cache, settings_.freshness, nowMs(),
                           deadlineMs, errors);
}

void Pipeline::finish(Repos& r, const std::vector<MessageCompletion>& list) {
  const bool writes = std::any_of(list.begin(), list.end(), [](const MessageCompletion& c) {
    return c.complete || !c.decided.empty();
  });
  if (!writes) return;
  std::vector<db::FileVerdict> verdicts;
  std::vector<std::pair<std::string, std::string>> complete;
  for (const auto& c : list) {
    for (const auto& d : c.decided) verdicts.push_back({c.id, d.position, d.verdict, d.notes});
    if (c.complete) complete.emplace_back(c.id, c.verdict);
  }
  std::vector<std::string> checked;
  {
    // The files' verdicts and the messages' in one transaction.
    db::WriteTransaction tx(r.db);
    r.files.setVerdicts(verdicts);
    checked = r.queue.markChecked(complete, settings_.owner, isoNow());
    tx.commit();
  }
  for (const auto& id : checked) {
    const auto& c = *std::find_if(list.begin(), list.end(),
                                  [&](const MessageCompletion& x) { return x.id == id; });
    ++counters_.checked;
    log().information("analyzed id=%s verdict=%s files=%z with-verdict=%z", c.id, c.verdict,
                      c.files, c.analysed);
    for (const auto& listener : verdictListeners_) listener(c.id, c.verdict, false);
    announceFinished(c.id);
  }
}

void Pipeline::record(Repos& r, Answer& a) {
  {
    std::lock_guard lock(mutex_);
    inFlight_.erase(a.sha256 + "/" + a.analyzer);
  }
  bool stopping;
  {
    std::lock_guard lock(mutex_);
    stopping = stopping_;
  }
  if (stopping && a.verdict.kind == VerdictKind::Unscanned) {
    // "shutting down": not a verdict on the file. The next run asks again.
    r.cache.releaseSubmission(a.sha256, a.analyzer, settings_.owner);
    return;
  }
  if (a.verdict.kind != VerdictKind::Clean)
    log().notice("verdict %s on %s: %s %s", a.analyzer, a.sha256,
                 std::string(toString(a.verdict.kind)), a.verdict.reason);
  const auto stored = toStored(a.sha256, a.analyzer, a.verdict);
  r.cache.recordVerdict(stored);
  if (fileVerdictListener_ &&
      (a.verdict.kind == VerdictKind::Suspicious || a.verdict.kind == VerdictKind::Dangerous))
    fileVerdictListener_(r.db, stored);
  const auto waiting = r.queue.findAll(r.files.waitingOn(a.sha256, settings_.owner));
  std::vector<std::string> ids;
  for (const auto& m : waiting) ids.push_back(m.id);
  auto lists = r.files.listAll(ids);
  std::vector<MessageCompletion> done;
  for (const auto& m : waiting)
    done.push_back(decide(r, m.id, m.deadlineMs, lists[m.id], m.errors));
  finish(r, done);
}

void Pipeline::sweep(Repos& r) {
  const auto held = r.queue.analyzingBy(settings_.owner);
  std::vector<std::string> extracted;
  for (const auto& m : held) {
    if (!m.extractedAt.empty()) extracted.push_back(m.id);
  }
  auto lists = r.files.listAll(extracted);
  std::vector<MessageCompletion> done;
  for (const auto& m : held) {
    if (m.extractedAt.empty()) {
      bool inHand;
      {
        std::lock_guard lock(mutex_);
        inHand = inHand_.count(m.id) > 0;
      }
      // Claimed and never extracted, and no worker has it: its worker hit an error. (A
      // claim just made is not in inHand_ yet for a moment: those are left alone.)
      const auto claimedMs = m.deadlineMs - settings_.analysisTimeout.count();
      if (!inHand && nowMs() - claimedMs > 10'000 &&
          r.queue.release(m.id, settings_.owner, "its worker stopped before extracting it"))
        ++counters_.released;
      continue;
    }
    done.push_back(advance(r, m.id, m.deadlineMs, std::move(lists[m.id]), m.errors));
  }
  finish(r, done);
}

void Pipeline::completerLoop() {
  pthread_setname_np(pthread_self(), "analysis-done");
  std::unique_ptr<Repos> r;
  auto nextSweep = Clock::now();
  auto nextRenewal = Clock::now() + settings_.lease / 4;
  while (true) {
    std::deque<Answer> batch;
    bool stopping;
    {
      std::unique_lock lock(mutex_);
      answerCv_.wait_until(lock, nextSweep, [&] { return stopping_ || !answers_.empty(); });
      batch.swap(answers_);
      stopping = stopping_;
    }
    try {
      if (!r) r = std::make_unique<Repos>(settings_.databaseUrl);
      for (auto& a : batch) record(*r, a);
      batch.clear();
      if (stopping) return;  // the runners were stopped: every answer is in
      const auto now = Clock::now();
      if (now >= nextSweep) {
        sweep(*r);
        nextSweep = now + settings_.sweepInterval;
      }
      if (now >= nextRenewal) {
        r->queue.renewLeases(settings_.owner, nowMs() + settings_.lease.count());
        nextRenewal = now + settings_.lease / 4;
      }
      outage_.succeeded();
    } catch (const std::exception& e) {
      const auto backOff = outage_.failed(e);
      r.reset();
      std::unique_lock lock(mutex_);
      // Answers not yet stored go back to the front; the cache row is an upsert.
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) answers_.push_front(std::move(*it));
      if (stopping) return;
      // Answers arriving meanwhile wait for the database too; a stop ends the pause.
      answerCv_.wait_for(lock, backOff, [&] { return stopping_; });
    }
  }
}

}  // namespace bccsink::sandbox
