#pragma once
// The objects of the vxCube API that bccsink reads (../shared/vxcube-api.md, "Calls"): a
// sample, a task, an analysis, and how they are read from the JSON answers. Reading is
// lenient where the public material is loose (ids are numbers or strings, platforms are codes
// or {code, name} objects, maliciousness may be null) and strict where bccsink needs a field
// (a sample's id, a task's id and status, an analysis's id and tasks).

#include <Poco/Dynamic/Var.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bccsink::sandbox {

struct VxSample {
  std::string id;
  bool numericId = false;  // sent back as a JSON number, as it came
  std::string name;
  std::string sha256;
  std::string formatName;
  std::vector<std::string> platforms;  // codes
};

struct VxTask {
  std::string id;
  std::string status;  // in queue, processing, successful, failed, deleted
  std::string platform;
  std::string verdict;  // none, clean1..2, suspicious1..2, malware1..2; '' until successful
  std::string message;
  std::optional<int> maliciousness;  // 0-100; none on a failed task
  std::vector<std::string> maliciousRules;
  std::vector<std::string> suspiciousRules;

  bool finished() const { return status != "in queue" && status != "processing"; }
};

struct VxAnalysis {
  std::string id;
  std::vector<VxTask> tasks;

  // All tasks finished (an analysis without tasks is finished).
  bool finished() const;
};

// Empty when `v` is not an object with the fields bccsink needs.
std::optional<VxSample> parseSample(const Poco::Dynamic::Var& v);
std::optional<VxTask> parseTask(const Poco::Dynamic::Var& v);
std::optional<VxAnalysis> parseAnalysis(const Poco::Dynamic::Var& v);
// GET samples: false unless a list of samples.
bool parseSampleList(const Poco::Dynamic::Var& v, std::vector<VxSample>& samples);
// POST samples: the sample, or for a container {"samples": [...]} the samples; empty when
// neither.
std::vector<VxSample> parseUploaded(const Poco::Dynamic::Var& v);
// A list of codes, or of objects with a "code".
std::vector<std::string> parseCodes(const Poco::Dynamic::Var& v);

// The message of a failed call's body: "error", "message" or "detail", or for a 400 each
// field with its complaints ("[platforms] unknown"), else the body itself; on one line.
std::string serverMessage(int status, const std::string& body);
// oneLineUtf8 (base/Text.h) trimmed: valid UTF-8 on one line, at most `max` bytes with
// "..." when cut.
std::string oneLine(std::string_view text, std::size_t max = 300);

}  // namespace bccsink::sandbox
