#include "sandbox/analyzers/vxcube/emulator/Store.h"

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DigestEngine.h>
#include <Poco/SHA1Engine.h>
#include <Poco/String.h>
#include <Poco/UUIDGenerator.h>

#include <algorithm>

#include "sandbox/analyzers/YaraRules.h"
#include "sandbox/extract/Digest.h"

namespace bccsink::emulator {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

struct Platform {
  const char* code;
  const char* name;
  const char* os;
};
constexpr Platform kPlatforms[] = {{"winxpx86", "Windows XP x86", "winxp"},
                                   {"win7x86", "Windows 7 x86", "win7"},
                                   {"win7x64", "Windows 7 x64", "win7"},
                                   {"win10x64", "Windows 10 x64", "win10"},
                                   {"android7", "Android 7.1", "android"}};

struct Format {
  const char* name;
  const char* group;
};
constexpr Format kFormats[] = {
    {"exe", "pe"},        {"dll", "pe"},       {"zip", "archive"},   {"rar", "archive"},
    {"7z", "archive"},    {"pdf", "document"}, {"doc", "document"},  {"docx", "document"},
    {"docm", "document"}, {"xls", "document"}, {"xlsx", "document"}, {"xlsm", "document"},
    {"rtf", "document"},  {"js", "script"},    {"vbs", "script"},    {"ps1", "script"},
    {"hta", "script"},    {"lnk", "shortcut"}, {"html", "web"},      {"iso", "image"},
    {"apk", "android"},   {"unknown", "other"}};

std::vector<std::string> platformsOf(const std::string& format) {
  if (format == "apk") return {"android7"};
  return {"winxpx86", "win7x86", "win7x64", "win10x64"};
}

bool knownFormat(const std::string& name) {
  return std::any_of(std::begin(kFormats), std::end(kFormats),
                     [&](const Format& f) { return name == f.name; });
}

// By content where it says, else by the name's extension.
std::string formatOf(const std::string& name, const std::string& bytes) {
  auto dot = name.rfind('.');
  auto ext = dot == std::string::npos ? std::string() : Poco::toLower(name.substr(dot + 1));
  auto starts = [&](std::string_view magic) { return bytes.compare(0, magic.size(), magic) == 0; };
  if (starts("MZ")) return ext == "dll" ? "dll" : "exe";
  if (starts("PK\x03\x04")) {
    for (const char* e : {"docx", "docm", "xlsx", "xlsm", "apk"}) {
      if (ext == e) return ext;
    }
    return "zip";
  }
  if (starts("%PDF")) return "pdf";
  if (starts("\xD0\xCF\x11\xE0")) return ext == "xls" ? "xls" : "doc";
  if (starts("{\\rtf")) return "rtf";
  if (starts("Rar!")) return "rar";
  if (starts("7z\xBC\xAF")) return "7z";
  return knownFormat(ext) ? ext : "unknown";
}

std::string isoNow() {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(), Poco::DateTimeFormat::ISO8601_FORMAT);
}

Array::Ptr array(const std::vector<std::string>& items) {
  Array::Ptr a = new Array;
  for (const auto& i : items) a->add(i);
  return a;
}

Answer error(int status, const std::string& message) {
  Object::Ptr o = new Object;
  o->set("error", message);
  return {status, o};
}

Answer fieldError(const std::string& field, const std::string& message) {
  Object::Ptr o = new Object;
  o->set(field, array({message}));
  return {400, o};
}

bool toInt(const Poco::Dynamic::Var& v, std::int64_t& out) {
  try {
    if (v.isEmpty()) return false;
    if (v.isString()) {
      const auto s = v.extract<std::string>();
      std::size_t used = 0;
      out = std::stoll(s, &used);
      return used == s.size();
    }
    out = v.convert<std::int64_t>();
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

void Store::list(Listed which, const std::string& sha256) {
  std::lock_guard lock(mutex_);
  auto key = Poco::toLower(sha256);
  (which == Listed::Dangerous    ? dangerous_
   : which == Listed::Suspicious ? suspicious_
                                 : failing_)
      .insert(key);
}

void Store::setAnalysisTime(std::chrono::milliseconds t) {
  std::lock_guard lock(mutex_);
  analysisTime_ = t;
}

Array::Ptr Store::platforms() const {
  Array::Ptr a = new Array;
  for (const auto& p : kPlatforms) {
    Object::Ptr o = new Object;
    o->set("code", p.code);
    o->set("name", p.name);
    o->set("os_code", p.os);
    a->add(o);
  }
  return a;
}

Array::Ptr Store::formats() const {
  Array::Ptr a = new Array;
  for (const auto& f : kFormats) {
    Object::Ptr o = new Object;
    o->set("name", f.name);
    o->set("group_name", f.group);
    o->set("platforms", array(platformsOf(f.name)));
    a->add(o);
  }
  return a;
}

Object::Ptr Store::license(std::uint64_t uploads, std::uint64_t maxUpload) const {
  Object::Ptr o = new Object;
  o->set("start_date", "2024-01-01T00:00:00Z");
  o->set("end_date", "2099-12-31T23:59:59Z");
  o->set("uploads_spent", uploads);
  o->set("uploads_total", 1000000);
  o->set("vnc_allowed", false);
  o->set("cureit_allowed", false);
  o->set("upload_max_size", maxUpload);
  o->set("max_run_time", 600);
  return o;
}

Object::Ptr Store::sampleJson(const Sample& s) const {
  Object::Ptr o = new Object;
  o->set("id", s.id);
  o->set("name", s.name);
  o->set("size", s.size);
  o->set("format_name", s.format);
  o->set("upload_date", s.uploaded);
  o->set("md5", s.md5);
  o->set("sha1", s.sha1);
  o->set("sha256", s.sha256);
  o->set("is_x64", false);
  o->set("platforms", array(s.platforms));
  return o;
}

Answer Store::upload(const std::string& name, const std::string& bytes, bool& stored) {
  auto digests = sandbox::digest(bytes);
  Poco::SHA1Engine sha1;
  sha1.update(bytes.data(), static_cast<unsigned>(bytes.size()));
  Sample s;
  s.name = name.empty() ? digests.sha256 : name;
  s.format = formatOf(name, bytes);
  s.md5 = digests.md5;
  s.sha1 = Poco::DigestEngine::digestToHex(sha1.digest());
  s.sha256 = digests.sha256;
  s.size = bytes.size();
  s.platforms = platformsOf(s.format);
  s.uploaded = isoNow();
  if (rules_) {
    auto match = rules_->scan(bytes);  // throws on a libyara error: the caller answers 500
    s.yaraRules = match.rules;
    s.yaraKind = match.kind == sandbox::VerdictKind::Dangerous    ? 2
                 : match.kind == sandbox::VerdictKind::Suspicious ? 1
                                                                  : 0;
  }
  std::lock_guard lock(mutex_);
  auto known = bySha256_.find(s.sha256);
  stored = known == bySha256_.end();
  if (stored) {
    s.id = nextSample_++;
    bySha256_[s.sha256] = s.id;
    samples_[s.id] = s;
  }
  const auto& kept = samples_.at(stored ? s.id : known->second);
  if (kept.format == "zip") {
    Object::Ptr o = new Object;
    Array::Ptr list = new Array;
    list->add(sampleJson(kept));
    o->set("samples", list);
    return {201, o};
  }
  return {201, sampleJson(kept)};
}

Answer Store::findSamples(const std::map<std::string, std::string>& filters) const {
  std::int64_t count = 100, offset = 0;
  if (auto it = filters.find("count"); it != filters.end() && !toInt(it->second, count))
    return fieldError("count", "must be a number");
  if (auto it = filters.find("offset"); it != filters.end() && !toInt(it->second, offset))
    return fieldError("offset", "must be a number");
  auto want = [&](const char* key, const std::string& value) {
    auto it = filters.find(key);
    return it == filters.end() || Poco::icompare(it->second, value) == 0;
  };
  Array::Ptr list = new Array;
  std::lock_guard lock(mutex_);
  std::int64_t skipped = 0;
  for (const auto& [id, s] : samples_) {
    if (!want("md5", s.md5) || !want("sha1", s.sha1) || !want("sha256", s.sha256) ||
        !want("format_name", s.format))
      continue;
    if (skipped++ < offset) continue;
    if (static_cast<std::int64_t>(list->size()) >= count) break;
    list->add(sampleJson(s));
  }
  return {200, list};
}

Answer Store::sample(const std::string& id) const {
  std::int64_t n = 0;
  std::lock_guard lock(mutex_);
  auto it = toInt(id, n) ? samples_.find(n) : samples_.end();
  if (it == samples_.end()) return error(404, "no sample " + id);
  return {200, sampleJson(it->second)};
}

void Store::decide(const Sample& s, Task& t) const {
  if (failing_.count(s.sha256)) {
    t.fails = true;
  } else if (dangerous_.count(s.sha256)) {
    t.verdict = "malware2";
    t.maliciousness = 95;
    t.malicious = {"Emulator.Sha256List.Dangerous"};
    t.detect = "behavior";
  } else if (s.yaraKind == 2) {
    t.verdict = "malware1";
    t.maliciousness = 85;
    t.malicious = s.yaraRules;
    t.detect = "yara";
  } else if (suspicious_.count(s.sha256)) {
    t.verdict = "suspicious2";
    t.maliciousness = 65;
    t.suspicious = {"Emulator.Sha256List.Suspicious"};
    t.detect = "behavior";
  } else if (s.yaraKind == 1) {
    t.verdict = "suspicious1";
    t.maliciousness = 55;
    t.suspicious = s.yaraRules;
    t.detect = "yara";
  } else {
    t.verdict = "clean1";
    t.maliciousness = 3;
  }
}

Answer Store::startAnalysis(const Object& request) {
  std::int64_t sampleId = 0;
  if (!request.has("sample_id")) return fieldError("sample_id", "This field is required.");
  if (!toInt(request.get("sample_id"), sampleId))
    return fieldError("sample_id", "A valid integer is required.");
  std::int64_t runTime = 0;
  if (request.has("analysis_time") && !request.get("analysis_time").isEmpty() &&
      (!toInt(request.get("analysis_time"), runTime) || runTime < 1 || runTime > 600))
    return fieldError("analysis_time", "Must be from 1 to 600 (max_run_time).");
  auto codes = request.getArray("platforms");
  if (!codes || codes->size() == 0) return fieldError("platforms", "This field is required.");

  std::lock_guard lock(mutex_);
  auto it = samples_.find(sampleId);
  if (it == samples_.end()) return fieldError("sample_id", "No sample " + std::to_string(sampleId));
  const auto& s = it->second;
  std::vector<std::string> platforms;
  for (const auto& c : *codes) {
    auto code = c.isString() ? c.extract<std::string>() : std::string();
    if (std::find(s.platforms.begin(), s.platforms.end(), code) == s.platforms.end())
      return fieldError("platforms", "'" + code + "' is not a platform for " + s.format);
    if (std::find(platforms.begin(), platforms.end(), code) == platforms.end())
      platforms.push_back(code);
  }
  Analysis a;
  a.id = Poco::UUIDGenerator::defaultGenerator().createRandom().toString();
  a.sampleId = s.id;
  a.startDate = isoNow();
  const auto now = Clock::now();
  for (const auto& code : platforms) {
    Task t;
    t.id = nextTask_++;
    t.analysisId = a.id;
    t.platform = code;
    t.startDate = a.startDate;
    t.started = now;
    t.runTime = analysisTime_;
    decide(s, t);
    a.tasks.push_back(t.id);
    tasks_[t.id] = std::move(t);
  }
  analyses_[a.id] = a;
  Object::Ptr o = new Object;
  o->set("id", a.id);
  o->set("sha1", s.sha1);
  o->set("sample_id", s.id);
  o->set("size", s.size);
  o->set("format_name", s.format);
  o->set("start_date", a.startDate);
  o->set("user_name", "emulator");
  Array::Ptr tasks = new Array;
  for (auto id : a.tasks) tasks->add(taskJson(tasks_.at(id), now));
  o->set("tasks", tasks);
  return {201, o};
}

Object::Ptr Store::taskJson(const Task& t, Clock::time_point now) const {
  Object::Ptr o = new Object;
  o->set("id", t.id);
  o->set("platform_code", t.platform);
  o->set("start_date", t.startDate);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - t.started);
  const Poco::Dynamic::Var null;
  if (elapsed < t.runTime) {
    const bool queued = elapsed < t.runTime / 4;
    o->set("status", queued ? "in queue" : "processing");
    o->set("end_date", null);
    o->set("maliciousness", null);
    o->set("message", queued ? "waiting for a machine" : "running");
    o->set("progress", queued ? 0 : static_cast<int>(elapsed.count() * 100 / t.runTime.count()));
    return o;
  }
  o->set("end_date", isoNow());
  if (t.fails) {
    o->set("status", "failed");
    o->set("maliciousness", null);
    o->set("message", "emulated failure: the sample did not start on " + t.platform);
    return o;
  }
  o->set("status", "successful");
  o->set("maliciousness", t.maliciousness);
  o->set("verdict", t.verdict);
  Object::Ptr rules = new Object;
  rules->set("malicious", array(t.malicious));
  rules->set("suspicious", array(t.suspicious));
  rules->set("neutral", array({}));
  o->set("rules", rules);
  o->set("detects", t.detect.empty() ? array({}) : array({t.detect}));
  return o;
}

Answer Store::analysis(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto it = analyses_.find(id);
  if (it == analyses_.end()) return error(404, "no analysis " + id);
  const auto& a = it->second;
  const auto& s = samples_.at(a.sampleId);
  Object::Ptr o = new Object;
  o->set("id", a.id);
  o->set("sha1", s.sha1);
  o->set("sample_id", s.id);
  o->set("size", s.size);
  o->set("format_name", s.format);
  o->set("start_date", a.startDate);
  o->set("user_name", "emulator");
  Array::Ptr tasks = new Array;
  const auto now = Clock::now();
  for (auto tid : a.tasks) tasks->add(taskJson(tasks_.at(tid), now));
  o->set("tasks", tasks);
  return {200, o};
}

Answer Store::task(const std::string& id) const {
  std::int64_t n = 0;
  std::lock_guard lock(mutex_);
  auto it = toInt(id, n) ? tasks_.find(n) : tasks_.end();
  if (it == tasks_.end()) return error(404, "no task " + id);
  return {200, taskJson(it->second, Clock::now())};
}

Answer Store::report(const std::string& id) const {
  auto t = task(id);
  if (t.status != 200) return t;
  auto o = t.body.extract<Object::Ptr>();
  auto status = o->getValue<std::string>("status");
  if (status == "in queue" || status == "processing")
    return error(409, "task " + id + " has not finished");
  Object::Ptr report = new Object;
  report->set("emulated", true);
  report->set("task", o);
  return {200, report};
}

std::uint64_t Store::sampleCount() const {
  std::lock_guard lock(mutex_);
  return samples_.size();
}

}  // namespace bccsink::emulator
