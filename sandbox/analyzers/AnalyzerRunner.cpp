#include "sandbox/analyzers/AnalyzerRunner.h"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <stop_token>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/Clock.h"
#include "sandbox/analyzers/BlockingAnalyzer.h"

namespace bccsink::sandbox {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

}  // namespace

std::chrono::milliseconds backoffDelay(const RunnerSettings& settings, unsigned retry,
                                       double jitter) {
  const auto cap = std::max(settings.backoffCap, milliseconds(0));
  auto delay = std::max(settings.backoffBase, milliseconds(0));
  // Doubling stops at the cap, without doubling past it (a cap above half the largest
  // duration would overflow), and at once for a zero base, which doubles to nothing: at most
  // 63 rounds however many retries there were.
  for (unsigned i = 1; i < retry && delay > milliseconds(0) && delay < cap; ++i)
    delay = delay > cap / 2 ? cap : delay * 2;
  delay = std::min(delay, cap);
  jitter = std::clamp(jitter, 0.0, 1.0);
  const double scaled = static_cast<double>(delay.count()) * (0.75 + 0.25 * jitter);
  // Near the largest duration the double rounds up past it, and the conversion back would
  // overflow.
  if (scaled >= static_cast<double>(milliseconds::max().count())) return milliseconds::max();
  return milliseconds(static_cast<std::int64_t>(scaled));
}

// Everything the scheduler thread, the workers and the analyzer's callbacks share. Jobs are found
// by id, so that a callback that comes after its job was answered (timed out, deadline, stop) finds
// nothing and does nothing, and an analyzer that keeps a callback forever keeps nothing of the job
// alive.
struct AnalyzerRunner::Core {
  enum class State { Queued, Running, Waiting };
  struct Job {
    Submission file;
    Clock::time_point submitted;
    Clock::time_point deadline;
    std::function<void(Verdict)> done;
    State state = State::Queued;
    unsigned attempts = 0;  // started so far; identifies the current one
    Clock::time_point attemptStart;
    std::string lastError;
    std::uint64_t timerGeneration = 0;  // older timers of this job are stale
  };
  struct Timer {
    Clock::time_point at;
    std::uint64_t job;
    std::uint64_t generation;
    bool operator>(const Timer& o) const { return at > o.at; }
  };

  Core(Analyzer& a, RunnerSettings s)
      : analyzer(a), blocking(dynamic_cast<BlockingAnalyzer*>(&a)), name(a.name()), settings(s) {}

  Analyzer& analyzer;  // owned by the runner, which joins its threads before letting go
  BlockingAnalyzer* const blocking;  // the same analyzer when it scans in one call, else null
  const std::string name;
  const RunnerSettings settings;

  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::uint64_t nextId = 1;
  std::unordered_map<std::uint64_t, Job> jobs;  // every submission not yet answered
  std::deque<std::uint64_t> fifo;               // Queued jobs, oldest first (may hold stale ids)
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers;
  std::size_t running = 0;
  // A BlockingAnalyzer's attempts started by the scheduler, for the workers (id, attempt).
  std::deque<std::pair<std::uint64_t, unsigned>> handOff;
  std::condition_variable workReady;
  std::stop_source stopSource;  // requested at stop(): scans in progress end early
  std::minstd_rand random{std::random_device{}()};
  AnalyzerStats stats;  // counted under `mutex`

  // An attempt failed (transient answer, timeout, exception): for stats().
  void attemptFailed(const std::string& why) {
    ++stats.errors;
    stats.lastError = why;
    stats.healthy = false;
  }

  Verdict unscanned(std::string reason) const {
    Verdict v;
    v.kind = VerdictKind::Unscanned;
    v.analyzer = name;
    v.reason = std::move(reason);
    return v;
  }

  void setTimer(std::uint64_t id, Job& job, Clock::time_point at) {
    timers.push({at, id, ++job.timerGeneration});
  }

  void finish(std::uint64_t id, Verdict v, std::vector<Completion>& out) {
    auto it = jobs.find(id);
    if (it->second.state == State::Running) --running;
    ++stats.answered[static_cast<std::size_t>(v.kind)];
    const double waited =
        std::chrono::duration<double>(Clock::now() - it->second.submitted).count();
    std::size_t bucket = 0;
    while (bucket < kLatencyBuckets.size() && waited > kLatencyBuckets[bucket]) ++bucket;
    ++stats.latency[bucket];
    stats.latencySeconds += waited;
    out.emplace_back(std::move(it->second.done), std::move(v));
    jobs.erase(it);
  }

  // The wait of a job that leaves the queue for the first time (started, or given up
  // before it ever started): for stats().queueWait.
  void leftQueue(const Job& job, Clock::time_point now) {
    const double waited = std::chrono::duration<double>(now - job.submitted).count();
    std::size_t bucket = 0;
    while (bucket < kQueueWaitBuckets.size() && waited > kQueueWaitBuckets[bucket]) ++bucket;
    ++stats.queueWait[bucket];
    stats.queueWaitSeconds += waited;
  }

  void giveUp(std::uint64_t id, Job& job, std::vector<Completion>& out) {
    if (job.attempts == 0) leftQueue(job, Clock::now());
    finish(id,
           unscanned(job.lastError.empty()
                         ? "analyzer busy until the deadline: not started"
                         : "analyzer unreachable until the deadline: " + job.lastError),
           out);
  }

  // The current attempt of a Running job failed transiently (job.lastError says how).
  void retryLater(std::uint64_t id, Job& job, Clock::time_point now, std::vector<Completion>& out) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    auto at = now + backoffDelay(settings, job.attempts, unit(random));
    // No attempt could start before the deadline: waiting for it changes nothing.
    if (at >= job.deadline) return giveUp(id, job, out);
    --running;
    job.state = State::Waiting;
    setTimer(id, job, at);
  }

  void fireTimers(Clock::time_point now, std::vector<Completion>& out) {
    while (!timers.empty() && timers.top().at <= now) {
      Timer t = timers.top();
      timers.pop();
      auto it = jobs.find(t.job);
      if (it == jobs.end() || it->second.timerGeneration != t.generation) continue;
      Job& job = it->second;
      switch (job.state) {
        case State::Queued:  // its deadline
          giveUp(t.job, job, out);
          break;
        case State::Waiting:  // its back-off is over
          job.state = State::Queued;
          fifo.push_back(t.job);
          setTimer(t.job, job, job.deadline);
          break;
        case State::Running:  // the attempt's time or the deadline is up
        {
          // Cut short by the deadline, it says how long this attempt actually waited.
          auto waited =
              std::min(job.attemptStart + settings.attemptTimeout, job.deadline) - job.attemptStart;
          job.lastError =
              "timed out after " + secondsText(std::chrono::duration_cast<milliseconds>(waited));
          attemptFailed(job.lastError);
          if (now >= job.deadline) {
            giveUp(t.job, job, out);
          } else {
            retryLater(t.job, job, now, out);
          }
          break;
        }
      }
    }
  }

  void startQueued(Clock::time_point now, std::vector<Completion>& out,
                   std::vector<std::pair<std::uint64_t, unsigned>>& starts) {
    while (running < settings.maxConcurrent && !fifo.empty()) {
      auto id = fifo.front();
      fifo.pop_front();
      auto it = jobs.find(id);
      if (it == jobs.end() || it->second.state != State::Queued) continue;
      Job& job = it->second;
      if (now >= job.deadline) {
        giveUp(id, job, out);
        continue;
      }
      if (job.attempts == 0) leftQueue(job, now);
      job.state = State::Running;
      ++job.attempts;
      job.attemptStart = now;
      ++running;
      setTimer(id, job, std::min(now + settings.attemptTimeout, job.deadline));
      starts.emplace_back(id, job.attempts);
    }
  }

  void onAnswer(std::uint64_t id, unsigned attempt, Verdict v, bool failedAttempt = false) {
    std::vector<Completion> out;
    {
      std::lock_guard lock(mutex);
      auto it = jobs.find(id);
      // Late (timed out, answered, stopped) or a second answer: the contract says once.
      if (it == jobs.end() || it->second.state != State::Running || it->second.attempts != attempt)
        return;
      if (v.transient) {
        it->second.lastError = v.reason.empty() ? "transient failure" : v.reason;
        attemptFailed(it->second.lastError);
        retryLater(id, it->second, Clock::now(), out);
      } else {
        if (v.analyzer.empty()) v.analyzer = name;
        if (!failedAttempt) stats.healthy = true;
        finish(id, std::move(v), out);
      }
    }
    wake.notify_all();  // a slot is free, or a timer moved
    deliver(out);
  }

  // Outside the lock: the analyzer may answer before analyze() returns.
  void launch(const std::shared_ptr<Core>& self, std::uint64_t id, unsigned attempt) {
    Submission file;
    {
      std::lock_guard lock(mutex);
      auto it = jobs.find(id);
      if (it == jobs.end() || it->second.state != State::Running || it->second.attempts != attempt)
        return;                // stopped (or timed out) since it was picked
      file = it->second.file;  // a copy: the job may be answered while analyze() runs
    }
    std::weak_ptr<Core> weak = self;
    Verdict answer;
    try {
      if (!blocking) {
        analyzer.analyze(file, [weak, id, attempt](Verdict v) {
          if (auto core = weak.lock()) core->onAnswer(id, attempt, std::move(v));
        });
        return;
      }
      answer = blocking->scan(file, stopSource.get_token());
    } catch (const std::exception& e) {
      // A bug or a file it cannot take; retrying the same call would not help.
      answer = unscanned(std::string("analyzer error: ") + e.what());
      {
        std::lock_guard lock(mutex);
        attemptFailed(answer.reason);
      }
      return onAnswer(id, attempt, std::move(answer), true);
    }
    onAnswer(id, attempt, std::move(answer));  // a BlockingAnalyzer's, outside the try
  }

  void run(const std::shared_ptr<Core>& self) {
    std::vector<Completion> out;
    std::vector<std::pair<std::uint64_t, unsigned>> starts;
    std::unique_lock lock(mutex);
    while (!stopping) {
      auto now = Clock::now();
      fireTimers(now, out);
      startQueued(now, out, starts);
      if (out.empty() && starts.empty()) {
        if (timers.empty()) {
          wake.wait(lock);
        } else {
          // A copy: wait_until reads the time again after waking, when submit() or stop()
          // may have moved or freed the queue's storage.
          const auto next = timers.top().at;
          wake.wait_until(lock, next);
        }
        continue;
      }
      if (blocking) {
        // The workers take them; as many workers as attempts may run, so one is free
        // unless a scan outlived its attempt (then the next attempt waits for it).
        handOff.insert(handOff.end(), starts.begin(), starts.end());
        starts.clear();
        workReady.notify_all();
      }
      lock.unlock();
      deliver(out);
      for (auto [id, attempt] : starts) launch(self, id, attempt);
      starts.clear();
      lock.lock();
    }
  }

  // A worker of a BlockingAnalyzer: one scan at a time, until stop().
  void work(const std::shared_ptr<Core>& self) {
    std::unique_lock lock(mutex);
    while (true) {
      workReady.wait(lock, [this] { return stopping || !handOff.empty(); });
      if (stopping) return;
      auto [id, attempt] = handOff.front();
      handOff.pop_front();
      lock.unlock();
      launch(self, id, attempt);  // a stale attempt (timed out, stopped) is skipped there
      lock.lock();
    }
  }
};

AnalyzerRunner::AnalyzerRunner(std::shared_ptr<Analyzer> analyzer, RunnerSettings settings)
    : analyzer_(std::move(analyzer)) {
  if (!analyzer_) throw std::invalid_argument("AnalyzerRunner: no analyzer");
  if (settings.maxConcurrent == 0)
    throw std::invalid_argument("AnalyzerRunner: maxConcurrent must be at least 1");
  core_ = std::make_shared<Core>(*analyzer_, settings);
  try {
    if (core_->blocking) {
      for (std::size_t i = 0; i < settings.maxConcurrent; ++i)
        workers_.emplace_back([core = core_] { core->work(core); });
    }
    thread_ = std::thread([core = core_] { core->run(core); });
  } catch (...) {  // no thread to be had: end those that started
    stop();
    throw;
  }
}

AnalyzerRunner::~AnalyzerRunner() {
  stop();
}

const std::string& AnalyzerRunner::name() const {
  return core_->name;
}

void AnalyzerRunner::submit(Submission file, std::chrono::steady_clock::time_point deadline,
                            std::function<void(Verdict)> done) {
  {
    std::lock_guard lock(core_->mutex);
    if (!core_->stopping) {
      auto id = core_->nextId++;
      auto& job = core_->jobs[id];
      job.file = std::move(file);
      job.submitted = Clock::now();
      job.deadline = deadline;
      ++core_->stats.submitted;
      job.done = std::move(done);
      core_->fifo.push_back(id);
      core_->setTimer(id, job, deadline);
      core_->wake.notify_all();
      return;
    }
  }
  done(core_->unscanned("shutting down"));
}

std::size_t AnalyzerRunner::inFlight() const {
  std::lock_guard lock(core_->mutex);
  return core_->running;
}

std::size_t AnalyzerRunner::queued() const {
  std::lock_guard lock(core_->mutex);
  return core_->jobs.size() - core_->running;
}

AnalyzerStats AnalyzerRunner::stats() const {
  std::lock_guard lock(core_->mutex);
  AnalyzerStats s = core_->stats;
  s.name = core_->name;
  s.inFlight = core_->running;
  s.queued = core_->jobs.size() - core_->running;
  return s;
}

void AnalyzerRunner::stop() {
  std::vector<Completion> out;
  {
    std::lock_guard lock(core_->mutex);
    core_->stopping = true;
    for (auto& [id, job] : core_->jobs)
      out.emplace_back(std::move(job.done), core_->unscanned("shutting down"));
    core_->jobs.clear();
    core_->fifo.clear();
    core_->timers = {};
    core_->running = 0;
    core_->handOff.clear();
  }
  core_->stopSource.request_stop();
  core_->wake.notify_all();
  core_->workReady.notify_all();
  // From a callback on the scheduler thread or a worker itself: that thread sees `stopping`
  // and ends on its own, holding its share of the core; launch() finds no job, so it never
  // touches the analyzer again.
  auto end = [](std::thread& t) {
    if (!t.joinable()) return;
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();
    } else {
      t.join();
    }
  };
  end(thread_);
  // The answers first: a scan in progress may take a while to see the stop token.
  deliver(out);
  for (auto& t : workers_) end(t);
}

}  // namespace bccsink::sandbox
