#include "sandbox/analyzers/vxcube/VxcubeObjects.h"

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>

#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

using Poco::Dynamic::Var;

// What a server may put in one answer before the rest is ignored: ids, codes, verdict
// words and rule names are short; a longer one is cut.
constexpr std::size_t kMaxText = 200;
constexpr std::size_t kMaxListItems = 64;  // rule names, platform codes per object
constexpr std::size_t kMaxTasks = 64;      // tasks per analysis (one per platform)

// Every string from a server's answer is made printable and bounded here, once: they reach
// logs, reasons, threat names and the database.
std::string str(const Var& v) {
  if (v.isEmpty()) return {};
  try {
    return oneLine(v.convert<std::string>(), kMaxText);
  } catch (const Poco::Exception&) {
    return {};
  }
}

Poco::JSON::Object::Ptr objectOf(const Var& v) {
  if (v.type() == typeid(Poco::JSON::Object::Ptr)) return v.extract<Poco::JSON::Object::Ptr>();
  return nullptr;
}

Poco::JSON::Array::Ptr arrayOf(const Var& v) {
  if (v.type() == typeid(Poco::JSON::Array::Ptr)) return v.extract<Poco::JSON::Array::Ptr>();
  return nullptr;
}

std::vector<std::string> strings(const Var& v) {
  std::vector<std::string> out;
  if (auto a = arrayOf(v)) {
    for (const auto& item : *a) {
      if (out.size() == kMaxListItems) break;
      // A list of codes, or of {code, name} objects.
      if (auto o = objectOf(item)) {
        if (auto code = str(o->get("code")); !code.empty()) out.push_back(code);
      } else if (auto s = str(item); !s.empty()) {
        out.push_back(s);
      }
    }
  }
  return out;
}

}  // namespace

// A server's text is shown to people (reasons, threat names): base's one-line UTF-8 rule,
// trimmed.
std::string oneLine(std::string_view text, std::size_t max) {
  return std::string(trim(oneLineUtf8(text, max)));
}

// The message a failed call's body carries: "error" or "message", or for a 400 the fields
// and their complaints (as the public client reads it).
std::string serverMessage(int status, const std::string& body) {
  try {
    Poco::JSON::Parser parser;
    auto o = objectOf(parser.parse(body));
    if (!o) return oneLine(body);
    for (const char* key : {"error", "message", "detail"}) {
      if (o->has(key)) return oneLine(str(o->get(key)));
    }
    if (status == 400) {
      std::string out;
      for (const auto& [field, value] : *o) {
        if (!out.empty()) out += "; ";
        auto list = strings(value);
        std::string joined;
        for (const auto& s : list) joined += (joined.empty() ? "" : ", ") + s;
        out += "[" + field + "] " + (list.empty() ? str(value) : joined);
      }
      return oneLine(out);
    }
  } catch (const Poco::Exception&) {
  }
  return oneLine(body);
}

std::optional<VxSample> parseSample(const Var& v) {
  auto o = objectOf(v);
  if (!o || !o->has("id") || o->get("id").isEmpty()) return std::nullopt;
  VxSample s;
  const auto& id = o->get("id");
  s.id = str(id);
  s.numericId = id.isInteger();
  s.name = str(o->get("name"));
  s.sha256 = str(o->get("sha256"));
  s.formatName = str(o->get("format_name"));
  s.platforms = strings(o->get("platforms"));
  return s;
}

std::optional<VxTask> parseTask(const Var& v) {
  auto o = objectOf(v);
  if (!o || !o->has("id") || !o->has("status")) return std::nullopt;
  VxTask t;
  t.id = str(o->get("id"));
  t.status = str(o->get("status"));
  t.platform = str(o->get("platform_code"));
  t.verdict = str(o->get("verdict"));
  t.message = oneLine(str(o->get("message")));
  const auto& m = o->get("maliciousness");
  if (!m.isEmpty()) {
    try {
      t.maliciousness = std::clamp(static_cast<int>(m.convert<double>()), 0, 100);
    } catch (const Poco::Exception&) {
    }
  }
  if (auto rules = objectOf(o->get("rules"))) {
    t.maliciousRules = strings(rules->get("malicious"));
    t.suspiciousRules = strings(rules->get("suspicious"));
  }
  return t;
}

std::optional<VxAnalysis> parseAnalysis(const Var& v) {
  auto o = objectOf(v);
  if (!o || !o->has("id")) return std::nullopt;
  VxAnalysis a;
  a.id = str(o->get("id"));
  auto tasks = arrayOf(o->get("tasks"));
  // More tasks than platforms exist is not an analysis this client can trust.
  if (a.id.empty() || !tasks || tasks->size() > kMaxTasks) return std::nullopt;
  for (const auto& item : *tasks) {
    auto t = parseTask(item);
    if (!t) return std::nullopt;
    a.tasks.push_back(std::move(*t));
  }
  return a;
}

bool parseSampleList(const Var& v, std::vector<VxSample>& samples) {
  samples.clear();
  auto list = arrayOf(v);
  if (!list) return false;
  for (const auto& item : *list) {
    auto s = parseSample(item);
    if (!s) return false;
    samples.push_back(std::move(*s));
  }
  return true;
}

std::vector<VxSample> parseUploaded(const Var& v) {
  std::vector<VxSample> samples;
  auto o = objectOf(v);
  if (o && o->has("samples")) {  // a container, split by vxCube
    if (auto list = arrayOf(o->get("samples"))) {
      for (const auto& item : *list) {
        if (auto s = parseSample(item)) samples.push_back(std::move(*s));
      }
    }
  } else if (auto s = parseSample(v)) {
    samples.push_back(std::move(*s));
  }
  return samples;
}

std::vector<std::string> parseCodes(const Var& v) {
  return strings(v);
}

bool VxAnalysis::finished() const {
  return std::all_of(tasks.begin(), tasks.end(), [](const VxTask& t) { return t.finished(); });
}

}  // namespace bccsink::sandbox
