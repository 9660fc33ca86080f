#include "sandbox/analyzers/vxcube/VxcubeAnalyzer.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <queue>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "base/Clock.h"
#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// At most this many samples of one upload are analysed (vxCube splits containers).
constexpr std::size_t kMaxSamplesPerFile = 16;
// A step that meets this many 429s in a row gives up with a transient answer.
constexpr unsigned kMaxRateLimited = 5;

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.vxcube");
}

// The platforms to run `sample` on: the configured ones it supports, in the configured
// order; all of its own when none are configured; the configured ones when vxCube did not
// say.
std::vector<std::string> choosePlatforms(const VxSample& sample,
                                         const std::vector<std::string>& configured) {
  if (configured.empty()) return sample.platforms;
  if (sample.platforms.empty()) return configured;
  std::vector<std::string> out;
  for (const auto& p : configured) {
    if (std::find(sample.platforms.begin(), sample.platforms.end(), p) != sample.platforms.end())
      out.push_back(p);
  }
  return out;
}

}  // namespace

RunnerSettings vxcubeRunnerSettings(const VxcubeSettings& settings) {
  RunnerSettings r;
  r.maxConcurrent = std::max<std::size_t>(settings.maxConcurrent, 1);
  // The analyzer answers by VxcubeTimeout itself; a worker may still be in a call then.
  r.attemptTimeout = settings.timeout + 2 * settings.requestTimeout + milliseconds(5000);
  r.backoffBase = milliseconds(2000);
  r.backoffCap = milliseconds(120000);
  return r;
}

struct VxcubeAnalyzer::Core {
  enum class Stage { Lookup, Upload, Start, Poll };
  enum class Admission { Allowed, Probe, Denied };

  struct Job {
    Submission file;
    std::function<void(Verdict)> done;
    Clock::time_point deadline;
    Stage stage = Stage::Lookup;
    std::vector<VxSample> samples;
    std::size_t nextSample = 0;
    std::vector<std::string> skipped;            // samples without a platform to run on
    std::size_t notRun = 0;                      // samples past kMaxSamplesPerFile
    std::map<std::string, VxAnalysis> analyses;  // by id, as last polled
    std::string lastPollError;
    unsigned rateLimited = 0;  // 429s in a row
    std::uint64_t step = 0;    // the agenda entry of its next step; others are stale
  };

  // A timetable entry: a job's next step, or its deadline.
  struct Entry {
    Clock::time_point at;
    std::uint64_t seq;
    std::uint64_t job;
    bool deadline;
    bool operator>(const Entry& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  explicit Core(const VxcubeSettings& s) : settings(s), client(s) {}

  const VxcubeSettings settings;
  VxcubeClient client;

  mutable std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::uint64_t nextId = 1;
  std::uint64_t nextSeq = 1;
  std::unordered_map<std::uint64_t, Job> jobs;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> agenda;

  // The circuit breaker.
  Circuit circuit = Circuit::Closed;
  unsigned outages = 0;  // in a row
  Clock::time_point openUntil;
  std::string lastOutage;
  // Every call waits until then (a 429's Retry-After).
  Clock::time_point holdUntil;
  bool configErrorLogged = false;

  Verdict unscanned(std::string reason, bool transient = false) const {
    Verdict v;
    v.analyzer = "vxcube";
    v.kind = VerdictKind::Unscanned;
    v.reason = std::move(reason);
    v.transient = transient;
    return v;
  }

  std::string circuitReason(Clock::time_point now) const {
    auto wait = std::chrono::duration_cast<milliseconds>(openUntil - now);
    return "vxCube circuit open after " + std::to_string(settings.breakerThreshold) +
           " failures in a row (last: " + lastOutage + "); " +
           (circuit == Circuit::HalfOpen ? std::string("a probe is in flight")
                                         : "next probe in " + secondsText(wait));
  }

  bool refusing(Clock::time_point now) const {
    return circuit == Circuit::HalfOpen || (circuit == Circuit::Open && now < openUntil);
  }

  void schedule(std::uint64_t id, Job& job, Clock::time_point at) {
    job.step = nextSeq++;
    agenda.push({at, job.step, id, false});
    wake.notify_one();
  }

  void finish(std::uint64_t id, Verdict v, std::vector<Completion>& out) {
    auto it = jobs.find(id);
    if (it == jobs.end()) return;
    out.emplace_back(std::move(it->second.done), std::move(v));
    jobs.erase(it);
  }

  Admission admit(Clock::time_point now) {
    switch (circuit) {
      case Circuit::Closed:
        return Admission::Allowed;
      case Circuit::Open:
        if (now < openUntil) return Admission::Denied;
        circuit = Circuit::HalfOpen;
        return Admission::Probe;
      case Circuit::HalfOpen:
        return Admission::Denied;
    }
    return Admission::Denied;
  }

  void record(const CallResult& r, bool probe, Clock::time_point now) {
    if (r.outage) {
      lastOutage = r.error;
      ++outages;
      if (probe || (circuit == Circuit::Closed && outages >= settings.breakerThreshold)) {
        circuit = Circuit::Open;
        openUntil = now + settings.breakerCooldown;
        log().warning("vxCube circuit open after %u failures in a row (last: %s); probe in %s",
                      outages, lastOutage, secondsText(settings.breakerCooldown));
      }
    } else if (r.httpStatus != 0) {  // vxCube answered: it is there
      if (circuit != Circuit::Closed) log().notice("vxCube answers again: circuit closed");
      circuit = Circuit::Closed;
      outages = 0;
    } else if (probe) {  // the probe learnt nothing (the file was unreadable): probe again
      circuit = Circuit::Open;
      openUntil = now;
    }
    if (r.outcome == CallOutcome::ConfigError) {
      if (!configErrorLogged) {
        log().critical("configuration error: %s; files are left unscanned until it is fixed",
                       r.error);
      }
      configErrorLogged = true;
    } else if (r.ok()) {
      configErrorLogged = false;  // a later refusal is news again
    }
  }

  // What a worker takes out of a job to make its call without the lock.
  struct Call {
    Stage stage;
    Submission file;
    VxSample sample;
    std::vector<std::string> platforms;
    std::vector<std::string> pending;  // analyses to poll
  };
  struct Outcome {
    CallResult result;
    std::optional<VxSample> found;
    std::vector<VxSample> uploaded;
    std::vector<VxAnalysis> analyses;
  };

  Outcome perform(const Call& c) {
    Outcome o;
    switch (c.stage) {
      case Stage::Lookup:
        o.result = client.findSample(c.file.sha256, o.found);
        break;
      case Stage::Upload:
        o.result = c.file.bytes ? client.uploadSampleBytes(c.file.bytes, c.file.name, o.uploaded)
                                : client.uploadSample(c.file.path, c.file.name, o.uploaded);
        break;
      case Stage::Start: {
        VxAnalysis a;
        o.result = client.startAnalysis(c.sample, c.platforms, settings.analysisTime, a);
        if (o.result.ok()) o.analyses.push_back(std::move(a));
        break;
      }
      case Stage::Poll:
        for (const auto& id : c.pending) {
          VxAnalysis a;
          o.result = client.getAnalysis(id, a);
          if (!o.result.ok()) break;
          o.analyses.push_back(std::move(a));
        }
        break;
    }
    return o;
  }

  // Moves a Start job to its next sample that has a platform to run on; false when none
  // is left.
  bool nextRunnable(Job& job, Call& call) {
    while (job.nextSample < job.samples.size() && job.nextSample < kMaxSamplesPerFile) {
      const auto& s = job.samples[job.nextSample];
      call.platforms = choosePlatforms(s, settings.platforms);
      if (!call.platforms.empty()) {
        call.sample = s;
        return true;
      }
      job.skipped.push_back("sample " + s.id + " (" + s.formatName + ") runs on " +
                            (s.platforms.empty() ? "nothing" : join(s.platforms, ", ")) +
                            ", VxcubePlatforms allows " + join(settings.platforms, ", "));
      ++job.nextSample;
    }
    return false;
  }

  // The Start stage is over: poll what was started, or say why nothing was.
  void afterStart(std::uint64_t id, Job& job, Clock::time_point now, std::vector<Completion>& out) {
    if (job.analyses.empty()) {
      return finish(id, unscanned("vxCube: no platform to run on: " + join(job.skipped, "; ")),
                    out);
    }
    job.stage = Stage::Poll;
    schedule(id, job, now + settings.pollInterval);
  }

  void apply(std::uint64_t id, Job& job, Outcome& o, Clock::time_point now,
             std::vector<Completion>& out) {
    auto& r = o.result;
    if (r.ok()) {
      job.rateLimited = 0;
      switch (job.stage) {
        case Stage::Lookup:
          if (o.found) {
            job.samples = {std::move(*o.found)};
            job.stage = Stage::Start;
          } else {
            job.stage = Stage::Upload;
          }
          return schedule(id, job, now);
        case Stage::Upload:
          job.samples = std::move(o.uploaded);
          if (job.samples.size() > kMaxSamplesPerFile) {
            job.notRun = job.samples.size() - kMaxSamplesPerFile;
          }
          job.stage = Stage::Start;
          return schedule(id, job, now);
        case Stage::Start: {
          auto& a = o.analyses.front();
          job.analyses[a.id] = std::move(a);
          ++job.nextSample;
          Call next;
          if (nextRunnable(job, next)) return schedule(id, job, now);
          return afterStart(id, job, now, out);
        }
        case Stage::Poll: {
          job.lastPollError.clear();
          for (auto& a : o.analyses) job.analyses[a.id] = std::move(a);
          std::vector<VxTask> tasks;
          for (const auto& [_, a] : job.analyses) {
            if (!a.finished()) return schedule(id, job, now + settings.pollInterval);
            tasks.insert(tasks.end(), a.tasks.begin(), a.tasks.end());
          }
          auto v = vxcubeVerdict(tasks, settings,
                                 [this](const std::string& t) { return client.taskReportUrl(t); });
          if (!job.skipped.empty()) v.reason += "; not run: " + join(job.skipped, "; ");
          if (job.notRun > 0) {
            // What was not run cannot be called clean: a container vxCube split into more
            // samples than one file may take is at best unscanned.
            v.reason += "; " + std::to_string(job.notRun) + " of " +
                        std::to_string(job.samples.size()) + " samples not analysed (at most " +
                        std::to_string(kMaxSamplesPerFile) + " a file)";
            v.kind = worse(v.kind, VerdictKind::Unscanned);
          }
          return finish(id, std::move(v), out);
        }
      }
    }
    switch (r.outcome) {
      case CallOutcome::Ok:
        break;
      case CallOutcome::ConfigError:
        return finish(id, unscanned(r.error), out);
      case CallOutcome::Failed:
        return finish(id, unscanned(r.error), out);
      case CallOutcome::Transient:
        if (r.retryAfter > milliseconds(0)) {
          holdUntil = std::max(holdUntil, now + r.retryAfter);
          if (job.stage == Stage::Poll) {
            job.lastPollError = r.error;
            return schedule(id, job, holdUntil);
          }
          if (++job.rateLimited <= kMaxRateLimited && holdUntil < job.deadline)
            return schedule(id, job, holdUntil);
          return finish(id, unscanned(r.error, true), out);
        }
        if (job.stage == Stage::Poll) {
          job.lastPollError = r.error;
          return schedule(id, job, now + settings.pollInterval);
        }
        return finish(id, unscanned(r.error, true), out);
    }
  }

  // One step of job `id`, whose agenda entry a worker just took. Called and returns with
  // the lock held; releases it for the HTTP call.
  void runStep(std::unique_lock<std::mutex>& lock, std::uint64_t id, std::vector<Completion>& out) {
    auto now = Clock::now();
    auto* job = &jobs.at(id);
    if (now < holdUntil) return schedule(id, *job, holdUntil);
    Call call;
    call.stage = job->stage;
    call.file = job->file;
    if (call.stage == Stage::Start && !nextRunnable(*job, call))
      return afterStart(id, *job, now, out);
    if (call.stage == Stage::Poll) {
      for (const auto& [aid, a] : job->analyses) {
        if (!a.finished()) call.pending.push_back(aid);
      }
    }
    auto admission = admit(now);
    if (admission == Admission::Denied) {
      if (call.stage == Stage::Poll)
        return schedule(id, *job, std::max(openUntil, now + settings.pollInterval));
      return finish(id, unscanned(circuitReason(now), true), out);
    }
    job->step = 0;  // busy: no entry of its own until this call is over
    lock.unlock();
    auto outcome = perform(call);
    lock.lock();
    now = Clock::now();
    record(outcome.result, admission == Admission::Probe, now);
    auto it = jobs.find(id);
    if (it == jobs.end() || stopping) return;  // answered meanwhile (deadline, stop)
    apply(id, it->second, outcome, now, out);
  }

  Verdict deadlineVerdict(const Job& job) const {
    std::string what;
    if (job.stage == Stage::Poll) {
      std::vector<std::string> ids;
      for (const auto& [aid, _] : job.analyses) ids.push_back(aid);
      what = "analysis " + join(ids, ", ") + " did not finish";
    } else {
      what = "the file could not be submitted";
    }
    auto reason = "vxCube: " + what + " within VxcubeTimeout (" +
                  secondsText(std::chrono::duration_cast<milliseconds>(settings.timeout)) + ")";
    if (!job.lastPollError.empty()) reason += "; last poll: " + job.lastPollError;
    return unscanned(reason);
  }

  void work() {
    std::vector<Completion> out;
    std::unique_lock lock(mutex);
    while (!stopping) {
      if (agenda.empty()) {
        wake.wait(lock);
        continue;
      }
      auto top = agenda.top();
      if (top.at > Clock::now()) {
        wake.wait_until(lock, top.at);
        continue;
      }
      agenda.pop();
      // Others may be due too.
      if (!agenda.empty()) wake.notify_one();
      auto it = jobs.find(top.job);
      if (it == jobs.end()) continue;
      if (top.deadline) {
        finish(top.job, deadlineVerdict(it->second), out);
      } else if (top.seq == it->second.step) {
        runStep(lock, top.job, out);
      }
      if (!out.empty()) {
        lock.unlock();
        deliver(out);
        lock.lock();
      }
    }
  }
};

VxcubeAnalyzer::VxcubeAnalyzer(const VxcubeSettings& settings) {
  const auto& s = settings;
  if (s.apiKey.empty()) throw std::invalid_argument("VxcubeApiKey: not set");
  for (const auto& p : s.platforms) {
    if (p.empty() || p.find_first_of(" \t,\"") != std::string::npos)
      throw std::invalid_argument("VxcubePlatforms: '" + p + "' is not a platform code");
  }
  if (s.analysisTime.count() < 0)
    throw std::invalid_argument("VxcubeAnalysisTime: must not be negative");
  if (s.pollInterval.count() <= 0)
    throw std::invalid_argument("VxcubePollInterval: must be more than 0");
  if (s.timeout.count() <= 0) throw std::invalid_argument("VxcubeTimeout: must be more than 0");
  if (s.requestTimeout.count() <= 0)
    throw std::invalid_argument("VxcubeRequestTimeout: must be more than 0");
  if (s.maxConcurrent == 0) throw std::invalid_argument("VxcubeMaxConcurrent: must be at least 1");
  if (s.suspiciousThreshold < 0 || s.suspiciousThreshold > 100)
    throw std::invalid_argument("VxcubeSuspiciousThreshold: must be from 0 to 100");
  if (s.dangerousThreshold < 0 || s.dangerousThreshold > 100)
    throw std::invalid_argument("VxcubeDangerousThreshold: must be from 0 to 100");
  if (s.suspiciousThreshold > s.dangerousThreshold) {
    throw std::invalid_argument(
        "VxcubeSuspiciousThreshold: must not be above VxcubeDangerousThreshold");
  }
  core_ = std::make_shared<Core>(settings);  // the client checks the address and CA file
  const auto workers = std::max<std::size_t>(settings.httpWorkers, 1);
  for (std::size_t i = 0; i < workers; ++i) workers_.emplace_back([core = core_] { core->work(); });
}

ConfiguredAnalyzer VxcubeAnalyzer::make(const VxcubeSettings& settings) {
  return {std::make_shared<VxcubeAnalyzer>(settings), vxcubeRunnerSettings(settings)};
}

VxcubeAnalyzer::~VxcubeAnalyzer() {
  stop();
}

void VxcubeAnalyzer::analyze(const Submission& file, std::function<void(Verdict)> done) {
  std::optional<Verdict> now;
  {
    std::lock_guard lock(core_->mutex);
    auto t = Clock::now();
    if (core_->stopping) {
      now = core_->unscanned("shutting down");
    } else if (file.sha256.empty()) {
      now = core_->unscanned("vxCube: no SHA-256 to look the file up by");
    } else if (core_->refusing(t)) {
      now = core_->unscanned(core_->circuitReason(t), true);
    } else {
      auto id = core_->nextId++;
      auto& job = core_->jobs[id];
      job.file = file;
      job.done = std::move(done);
      job.deadline = t + core_->settings.timeout;
      core_->agenda.push({job.deadline, core_->nextSeq++, id, true});
      core_->schedule(id, job, t);
    }
  }
  if (now) done(std::move(*now));
}

void VxcubeAnalyzer::stop() {
  std::vector<Completion> out;
  {
    std::lock_guard lock(core_->mutex);
    core_->stopping = true;
    for (auto& [id, job] : core_->jobs)
      out.emplace_back(std::move(job.done), core_->unscanned("shutting down"));
    core_->jobs.clear();
  }
  core_->client.cancel();
  core_->wake.notify_all();
  deliver(out);
  for (auto& t : workers_) {
    if (!t.joinable()) continue;
    // The last owner may let go inside a verdict callback, on a worker: it cannot join
    // itself, and it holds the core it needs.
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();
    } else {
      t.join();
    }
  }
}

std::size_t VxcubeAnalyzer::inFlight() const {
  std::lock_guard lock(core_->mutex);
  return core_->jobs.size();
}

VxcubeAnalyzer::Circuit VxcubeAnalyzer::circuit() const {
  std::lock_guard lock(core_->mutex);
  return core_->circuit;
}

const std::string& VxcubeAnalyzer::baseUrl() const {
  return core_->client.baseUrl();
}

}  // namespace bccsink::sandbox
