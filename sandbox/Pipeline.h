#pragma once
// The daemon's analysis stage (DESIGN.md, "Data flow"): worker threads claim the sink's
// `pending` messages with a lease, extract every file from the memory-mapped spool file,
// record the files, and ask each enabled analyzer about each selected file unless the
// verdict cache already knows it or a submission of it is in flight (here or on another
// sink). A message is `checked` when every selected file has every analyzer's answer, or
// when its deadline passes (what is missing is unscanned). A message claimed more than
// BccMaxAttempts times goes to `failed`: one hostile message never becomes a crash loop.
//
// Workers never wait for analyzers. Answers arrive on a completer thread, which stores
// them in the cache and completes every message waiting on that file; it also sweeps
// the messages this sink holds (deadlines, verdicts that other sinks stored, submissions
// whose lease ran out) and renews their leases.
//
// A database that is away (PostgreSQL stopped or restarting) fails a thread's round; the
// thread drops its connection, waits 1 s, then longer up to 5 s, and tries again with a
// new one. What it had claimed stays leased and is taken up again by the sweep; answers
// not stored wait in memory. The outage is logged once when it starts and once when every
// thread works again (db/Outage.h).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "db/FileRepository.h"
#include "db/Outage.h"
#include "sandbox/ContentStore.h"
#include "sandbox/HeldBytes.h"
#include "sandbox/analyzers/AnalyzerRunner.h"
#include "sandbox/extract/Extractor.h"

namespace bccsink::db {
class Database;
struct MessageFile;
struct MessageRecord;
}  // namespace bccsink::db

namespace bccsink::sandbox {

struct MessageCompletion;

struct PipelineSettings {
  std::string databaseUrl;
  std::string spoolDir;
  std::string owner;  // this sink's name: it claims only the messages it received
  std::size_t workers = 2;
  // Pending messages a worker claims in one transaction when that many wait; it works
  // through them in order (a stop gives back the ones it has not begun).
  std::size_t claimBatch = 8;
  std::chrono::milliseconds lease{std::chrono::minutes(10)};
  std::chrono::milliseconds analysisTimeout{std::chrono::minutes(30)};  // claim to deadline
  int maxAttempts = 3;
  db::Freshness freshness;
  std::chrono::milliseconds idlePoll{200};        // an idle worker looks for work this often
  std::chrono::milliseconds sweepInterval{1000};  // the completer's rounds
  // What one message may add to DataDir/files: the larger of this and 10 times its size
  // (BccMaxStoredPerMessage); the files past it are analysed from memory (KeptFiles).
  std::uint64_t maxStoredPerMessage = 200ull << 20;
  // The bytes of files not kept that all messages may hold in memory at once until their
  // analyzers answer (BccMaxUnpackedSize, one message's worth); past it a file is
  // unscanned as an evasion.
  std::uint64_t maxHeldInMemory = 1024ull << 20;
};

struct PipelineCounters {
  std::atomic<std::uint64_t> claimed{0}, checked{0}, failed{0}, released{0};
  std::atomic<std::uint64_t> files{0};         // files found in messages
  std::atomic<std::uint64_t> submissions{0};   // files given to an analyzer
  std::atomic<std::uint64_t> cacheHits{0};     // (file, analyzer) answered by the cache
  std::atomic<std::uint64_t> cacheLookups{0};  // (file, analyzer) looked up in the cache
};

class Pipeline {
 public:
  // Takes the runners (one per enabled analyzer); `extractor` and `store` must outlive it.
  Pipeline(PipelineSettings settings, const MessageExtractor& extractor, const ContentStore& store,
           std::vector<std::unique_ptr<AnalyzerRunner>> runners);
  ~Pipeline();  // stop()
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Takes back what a previous run of this sink held (its messages return to `pending`,
  // its submissions are forgotten), then starts the threads. Throws when the database
  // cannot be opened.
  void start();
  // Workers record what they extracted of their claim and give back the rest; analyses
  // in flight are abandoned (their messages stay `analyzing` and return to `pending` at
  // the next start). Idempotent.
  void stop();
  // New work was queued: an idle worker looks now instead of at its next poll.
  void wake();

  // "A message was checked": called with its id once its row is `checked` or `failed` and
  // committed, so the stages after this one (the reporter; SMTP mode's release) act at
  // once instead of polling the queue. Called on a pipeline thread: a listener only
  // signals, it must not block. Add listeners before start().
  using FinishedListener = std::function<void(const std::string& id)>;
  void onFinished(FinishedListener listener);
  // The same moment with what time to verdict needs (sandbox/slo/TimeToVerdict): the
  // message's verdict, and whether it `failed` instead of being checked. Same rules as
  // onFinished's listeners.
  using VerdictListener =
      std::function<void(const std::string& id, const std::string& verdict, bool failed)>;
  void onVerdict(VerdictListener listener);
  // "A file turned suspicious or dangerous": called on the completer thread right after
  // the cache stored such an answer, with the completer's connection, before the messages
  // waiting on it are decided (retro-alerts: sandbox/retro/RetroJudge judges again the
  // messages judged before the answer came). May throw: the answer is then stored again
  // after the back-off, like one the database refused. Set before start().
  using FileVerdictListener = std::function<void(db::Database&, const db::StoredVerdict&)>;
  void onFileVerdict(FileVerdictListener listener) { fileVerdictListener_ = std::move(listener); }

  const PipelineCounters& counters() const { return counters_; }
  // The analyzers' runners (their stats() for /metrics and the API).
  const std::vector<std::unique_ptr<AnalyzerRunner>>& runners() const { return runners_; }

 private:
  struct Repos;
  struct Answer {
    std::string sha256, analyzer;
    Verdict verdict;
  };

  struct Found;  // what examining one claimed message came to

  void workerLoop(std::size_t index);
  void completerLoop();
  // Extracts the message and lists its files: reads only.
  Found process(Repos& r, const db::MessageRecord& m);
  // A claim's findings in one write transaction, then counted, logged and announced.
  void recordClaim(Repos& r, const std::vector<Found>& found);
  // The bytes of a claimed message's files not kept, by SHA-256 (KeptFiles).
  using InMemory = std::map<std::string, std::shared_ptr<const std::string>>;
  // Submits what is missing; what can be decided now. `files`: the message's list as
  // just read; `errors`: its extraction errors; `inMemory`: the bytes of its files not
  // kept, right after extraction (later, null: those are submitted already, or never).
  MessageCompletion advance(Repos& r, const std::string& msgId, std::int64_t deadlineMs,
                            std::vector<db::MessageFile> files, const std::string& errors,
                            const InMemory* inMemory = nullptr);
  // From `files`, `errors` and the cache.
  MessageCompletion decide(Repos& r, const std::string& msgId, std::int64_t deadlineMs,
                           const std::vector<db::MessageFile>& files, const std::string& errors);
  // Writes the completions in one transaction, then announces the checked messages.
  void finish(Repos& r, const std::vector<MessageCompletion>& list);
  void record(Repos& r, Answer& a);
  void sweep(Repos& r);
  void post(Answer a);
  void announceFinished(const std::string& msgId);

  PipelineSettings settings_;
  const MessageExtractor& extractor_;
  const ContentStore& store_;
  std::vector<std::unique_ptr<AnalyzerRunner>> runners_;
  PipelineCounters counters_;
  db::Outage outage_;  // the workers' and the completer's: logged once, with back-off
  HeldBytes held_;     // files not kept, until their analyzers answer

  std::mutex mutex_;
  std::condition_variable workCv_;    // workers: wake() or stop
  std::condition_variable answerCv_;  // completer: an answer or stop
  std::deque<Answer> answers_;
  std::set<std::string> inFlight_;  // "sha256/analyzer" this process submitted
  std::set<std::string> inHand_;    // messages a worker is extracting
  bool stopping_ = false;
  bool started_ = false;
  std::uint64_t wakeups_ = 0;
  std::vector<FinishedListener> finishedListeners_;  // set before start(), read-only after
  std::vector<VerdictListener> verdictListeners_;    // the same
  FileVerdictListener fileVerdictListener_;          // likewise; may be empty
  std::vector<std::thread> workers_;
  std::thread completer_;
};

}  // namespace bccsink::sandbox
