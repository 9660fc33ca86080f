#include "sandbox/analyzers/YaraAnalyzer.h"

#include <exception>
#include <stdexcept>
#include <utility>

#include "sandbox/extract/MappedFile.h"

namespace bccsink::sandbox {
namespace {

Verdict unscanned(std::string reason) {
  Verdict v;
  v.kind = VerdictKind::Unscanned;
  v.analyzer = "yara";
  v.reason = std::move(reason);
  return v;
}

}  // namespace

YaraAnalyzer::YaraAnalyzer(std::shared_ptr<const YaraRules> rules, std::size_t threads)
    : rules_(std::move(rules)) {
  if (!rules_) throw std::invalid_argument("YaraAnalyzer: no rules");
  if (threads == 0) throw std::invalid_argument("YaraAnalyzer: at least one thread");
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

YaraAnalyzer::~YaraAnalyzer() {
  std::deque<Job> left;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    left.swap(queue_);
  }
  wake_.notify_all();
  for (auto& job : left) job.done(unscanned("shutting down"));
  for (auto& t : threads_) t.join();
}

void YaraAnalyzer::analyze(const Submission& file, std::function<void(Verdict)> done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      queue_.push_back({file, std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(unscanned("shutting down"));
}

void YaraAnalyzer::reload(std::shared_ptr<const YaraRules> rules) {
  if (!rules) throw std::invalid_argument("YaraAnalyzer: no rules");
  std::lock_guard lock(mutex_);
  rules_.swap(rules);
  // The old set is released here or by the last scan still using it.
}

std::shared_ptr<const YaraRules> YaraAnalyzer::rules() const {
  std::lock_guard lock(mutex_);
  return rules_;
}

std::size_t YaraAnalyzer::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void YaraAnalyzer::work() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and the destructor answers nothing more here
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job.done(scan(job.file));
  }
}

Verdict YaraAnalyzer::scan(const Submission& file) const {
  auto rules = this->rules();
  YaraMatch match;
  try {
    MappedFile bytes(file.path);
    match = rules->scan(bytes.bytes());
  } catch (const std::exception& e) {
    return unscanned(e.what());
  }
  Verdict v;
  v.kind = match.kind;
  v.analyzer = "yara";
  v.score = match.kind == VerdictKind::Dangerous    ? 100
            : match.kind == VerdictKind::Suspicious ? 50
                                                    : 0;
  v.threats = std::move(match.rules);
  return v;
}

}  // namespace bccsink::sandbox
