#pragma once
// The emulator's memory: samples, analyses and tasks, the digest lists and YARA rules that
// decide verdicts, and the JSON each call answers with. Thread-safe.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace bccsink::sandbox {
class YaraRules;
}

namespace bccsink::emulator {

enum class Listed { Dangerous, Suspicious, Failing };

// A call's answer: an HTTP status and its JSON body.
struct Answer {
  int status = 200;
  Poco::Dynamic::Var body;
};

class Store {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Store(std::shared_ptr<const sandbox::YaraRules> rules) : rules_(std::move(rules)) {}

  void list(Listed which, const std::string& sha256);
  void setAnalysisTime(std::chrono::milliseconds t);

  Poco::JSON::Array::Ptr platforms() const;
  Poco::JSON::Array::Ptr formats() const;
  Poco::JSON::Object::Ptr license(std::uint64_t uploads, std::uint64_t maxUpload) const;

  // POST samples: a known digest gives the sample it already has (`stored` false). A zip
  // comes back as {"samples": [...]}, as vxCube answers for a container (not unpacked).
  Answer upload(const std::string& name, const std::string& bytes, bool& stored);
  // GET samples: filters md5, sha1, sha256, format_name; count (default 100), offset.
  Answer findSamples(const std::map<std::string, std::string>& filters) const;
  Answer sample(const std::string& id) const;
  // POST analyses {sample_id, platforms, analysis_time, ...}.
  Answer startAnalysis(const Poco::JSON::Object& request);
  Answer analysis(const std::string& id) const;
  Answer task(const std::string& id) const;
  // The report "file" of a finished task.
  Answer report(const std::string& id) const;

  std::uint64_t sampleCount() const;

 private:
  struct Sample {
    std::int64_t id = 0;
    std::string name, format, md5, sha1, sha256, uploaded;
    std::uint64_t size = 0;
    std::vector<std::string> platforms;
    std::vector<std::string> yaraRules;  // matched at upload, with the verdict they give
    int yaraKind = 0;                    // 0 clean, 1 suspicious, 2 dangerous
  };
  struct Task {
    std::int64_t id = 0;
    std::string analysisId, platform, startDate;
    Clock::time_point started;
    std::chrono::milliseconds runTime{0};
    // The outcome, decided when the analysis starts.
    bool fails = false;
    std::string verdict;  // malware2, suspicious1, clean1
    int maliciousness = 0;
    std::vector<std::string> malicious, suspicious;
    std::string detect;
  };
  struct Analysis {
    std::string id;
    std::int64_t sampleId = 0;
    std::string startDate;
    std::vector<std::int64_t> tasks;
  };

  Poco::JSON::Object::Ptr sampleJson(const Sample& s) const;
  Poco::JSON::Object::Ptr taskJson(const Task& t, Clock::time_point now) const;
  void decide(const Sample& s, Task& t) const;

  const std::shared_ptr<const sandbox::YaraRules> rules_;
  mutable std::mutex mutex_;
  std::chrono::milliseconds analysisTime_{2000};
  std::set<std::string> dangerous_, suspicious_, failing_;
  std::int64_t nextSample_ = 1, nextTask_ = 1;
  std::map<std::int64_t, Sample> samples_;
  std::map<std::string, std::int64_t> bySha256_;
  std::map<std::string, Analysis> analyses_;
  std::map<std::int64_t, Task> tasks_;
};

}  // namespace bccsink::emulator
