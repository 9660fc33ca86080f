#include "report/stats/StatsCounters.h"

#include <Poco/DateTime.h>
#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/DateTimeParser.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Timestamp.h>

#include <algorithm>
#include <regex>
#include <stdexcept>
#include <vector>

#include "base/JsonText.h"

namespace bccsink::report {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

Object::Ptr ordered() {
  return new Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

// Keys by count, most first, then by key: a stable, readable order.
template <typename Map, typename CountOf>
std::vector<typename Map::const_iterator> byCount(const Map& m, CountOf count) {
  std::vector<typename Map::const_iterator> v;
  for (auto it = m.begin(); it != m.end(); ++it) v.push_back(it);
  std::stable_sort(v.begin(), v.end(), [&](auto a, auto b) { return count(*a) > count(*b); });
  return v;
}

Object::Ptr countsJson(const Counts& c, const char* const* always = nullptr, std::size_t n = 0) {
  auto j = ordered();
  for (std::size_t i = 0; i < n; ++i) {
    auto it = c.find(always[i]);
    j->set(always[i], it == c.end() ? std::int64_t{0} : it->second);
  }
  std::int64_t other = 0;
  std::size_t listed = 0;
  for (auto it : byCount(c, [](const auto& kv) { return kv.second; })) {
    if (j->has(it->first)) continue;
    if (listed + 1 >= kMaxKeys || it->first == "(other)") {
      other += it->second;
    } else {
      j->set(it->first, it->second);
      ++listed;
    }
  }
  if (other > 0) j->set("(other)", other);
  return j;
}

Object::Ptr messageVerdicts(const Counts& c) {
  return countsJson(c, kMessageVerdicts, std::size(kMessageVerdicts));
}

void add(Counts& into, const Counts& from) {
  for (const auto& [k, v] : from) into[k] += v;
}

Counts countsFrom(const Object::Ptr& j) {
  Counts c;
  if (!j) return c;
  for (const auto& [k, v] : *j) c[k] = v.convert<std::int64_t>();
  return c;
}

std::int64_t number(const Object::Ptr& j, const std::string& key) {
  return j->has(key) ? j->getValue<std::int64_t>(key) : 0;
}

std::string string(const Object::Ptr& j, const std::string& key) {
  return j->has(key) ? j->getValue<std::string>(key) : std::string();
}

}  // namespace

const char* sizeBucket(std::int64_t bytes) {
  for (const auto& [name, bound] : kSizeBuckets) {
    if (bound < 0 || bytes <= bound) return name;
  }
  return kSizeBuckets[std::size(kSizeBuckets) - 1].first;
}

void merge(IntervalStats& into, const IntervalStats& from) {
  if (into.startMs == 0 || (from.startMs != 0 && from.startMs < into.startMs)) {
    into.startMs = from.startMs;
  }
  into.endMs = std::max(into.endMs, from.endMs);
  into.partial = into.partial || from.partial;
  into.messages += from.messages;
  into.recipients += from.recipients;
  add(into.sizeHistogram, from.sizeHistogram);
  for (const auto& [ip, c] : from.byIp) {
    auto& t = into.byIp[ip];
    t.messages += c.messages;
    t.recipients += c.recipients;
    add(t.verdicts, c.verdicts);
  }
  add(into.byExtension, from.byExtension);
  add(into.byTrueType, from.byTrueType);
  for (const auto& [k, v] : from.mismatches) into.mismatches[k] += v;
  for (const auto& [k, v] : from.inArchive) into.inArchive[k] += v;
  for (const auto& [k, v] : from.sizeByType) {
    into.sizeByType[k].files += v.files;
    into.sizeByType[k].bytes += v.bytes;
  }
  add(into.verdicts, from.verdicts);
  for (const auto& [k, v] : from.verdictsByAnalyzer) add(into.verdictsByAnalyzer[k], v);
  into.cacheHits += from.cacheHits;
  for (const auto& [md5, n] : from.names) {
    auto& t = into.names[md5];
    t.shape = n.shape;
    t.count += n.count;
  }
}

Object::Ptr toJson(const IntervalStats& s) {
  auto j = ordered();
  j->set("start", isoSeconds(s.startMs));
  j->set("end", isoSeconds(s.endMs));
  j->set("partial", s.partial);
  j->set("messages", s.messages);
  j->set("recipients", s.recipients);
  auto sizes = ordered();
  for (const auto& [name, bound] : kSizeBuckets) {
    auto it = s.sizeHistogram.find(name);
    sizes->set(name, it == s.sizeHistogram.end() ? std::int64_t{0} : it->second);
  }
  j->set("size_histogram", sizes);

  auto ips = ordered();
  IpCounters other;
  std::size_t listed = 0;
  const bool capped = s.byIp.size() > kMaxIps;
  for (auto it : byCount(s.byIp, [](const auto& kv) { return kv.second.messages; })) {
    const auto& c = it->second;
    if ((capped && listed + 1 >= kMaxIps) || it->first == "(other)") {
      other.messages += c.messages;
      other.recipients += c.recipients;
      add(other.verdicts, c.verdicts);
      continue;
    }
    auto ip = ordered();
    ip->set("messages", c.messages);
    ip->set("recipients", c.recipients);
    ip->set("verdicts", messageVerdicts(c.verdicts));
    ips->set(it->first, ip);
    ++listed;
  }
  if (other.messages > 0) {
    auto ip = ordered();
    ip->set("messages", other.messages);
    ip->set("recipients", other.recipients);
    ip->set("verdicts", messageVerdicts(other.verdicts));
    ips->set("(other)", ip);
  }
  j->set("by_ip", ips);
  j->set("by_extension", countsJson(s.byExtension));
  j->set("by_true_type", countsJson(s.byTrueType));

  Array::Ptr mismatches = new Array;
  std::int64_t otherMismatches = 0;
  for (auto it : byCount(s.mismatches, [](const auto& kv) { return kv.second; })) {
    if (mismatches->size() + 1 >= kMaxKeys || std::get<0>(it->first) == "(other)") {
      otherMismatches += it->second;
      continue;
    }
    auto m = ordered();
    m->set("extension", std::get<0>(it->first));
    m->set("family", std::get<1>(it->first));
    m->set("true_type", std::get<2>(it->first));
    m->set("count", it->second);
    mismatches->add(m);
  }
  if (otherMismatches > 0) {
    auto m = ordered();
    m->set("extension", "(other)");
    m->set("family", "(other)");
    m->set("true_type", "(other)");
    m->set("count", otherMismatches);
    mismatches->add(m);
  }
  j->set("mismatches", mismatches);
  Array::Ptr inArchive = new Array;
  std::int64_t otherMembers = 0;
  for (auto it : byCount(s.inArchive, [](const auto& kv) { return kv.second; })) {
    if (inArchive->size() + 1 >= kMaxKeys || it->first.first == "(other)") {
      otherMembers += it->second;
      continue;
    }
    auto m = ordered();
    m->set("extension", it->first.first);
    m->set("container", it->first.second);
    m->set("count", it->second);
    inArchive->add(m);
  }
  if (otherMembers > 0) {
    auto m = ordered();
    m->set("extension", "(other)");
    m->set("container", "(other)");
    m->set("count", otherMembers);
    inArchive->add(m);
  }
  j->set("in_archive", inArchive);

  auto sizeByType = ordered();
  for (auto it : byCount(s.sizeByType, [](const auto& kv) { return kv.second.files; })) {
    auto t = ordered();
    t->set("files", it->second.files);
    t->set("bytes", it->second.bytes);
    sizeByType->set(it->first, t);
  }
  j->set("size_by_type", sizeByType);
  j->set("verdicts", messageVerdicts(s.verdicts));
  auto analyzers = ordered();
  for (const auto& [name, c] : s.verdictsByAnalyzer) {
    analyzers->set(name, countsJson(c, kFileVerdicts, std::size(kFileVerdicts)));
  }
  j->set("verdicts_by_analyzer", analyzers);
  j->set("cache_hits", s.cacheHits);

  Array::Ptr names = new Array;
  for (auto it : byCount(s.names, [](const auto& kv) { return kv.second.count; })) {
    if (names->size() >= kMaxNames) break;
    auto n = ordered();
    n->set("md5", it->first);
    n->set("shape", it->second.shape);
    n->set("count", it->second.count);
    names->add(n);
  }
  j->set("names", names);
  return j;
}

IntervalStats fromJson(const Object::Ptr& j) {
  IntervalStats s;
  s.startMs = msFromIso(string(j, "start"));
  s.endMs = msFromIso(string(j, "end"));
  s.partial = j->has("partial") && j->getValue<bool>("partial");
  s.messages = number(j, "messages");
  s.recipients = number(j, "recipients");
  s.sizeHistogram = countsFrom(j->getObject("size_histogram"));
  if (auto ips = j->getObject("by_ip")) {
    for (const auto& [ip, v] : *ips) {
      auto o = v.extract<Object::Ptr>();
      auto& c = s.byIp[ip];
      c.messages = number(o, "messages");
      c.recipients = number(o, "recipients");
      c.verdicts = countsFrom(o->getObject("verdicts"));
    }
  }
  s.byExtension = countsFrom(j->getObject("by_extension"));
  s.byTrueType = countsFrom(j->getObject("by_true_type"));
  if (auto a = j->getArray("mismatches")) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto o = a->getObject(static_cast<unsigned>(i));
      s.mismatches[{string(o, "extension"), string(o, "family"), string(o, "true_type")}] +=
          number(o, "count");
    }
  }
  if (auto a = j->getArray("in_archive")) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto o = a->getObject(static_cast<unsigned>(i));
      s.inArchive[{string(o, "extension"), string(o, "container")}] += number(o, "count");
    }
  }
  if (auto t = j->getObject("size_by_type")) {
    for (const auto& [family, v] : *t) {
      auto o = v.extract<Object::Ptr>();
      s.sizeByType[family] = {number(o, "files"), number(o, "bytes")};
    }
  }
  s.verdicts = countsFrom(j->getObject("verdicts"));
  if (auto a = j->getObject("verdicts_by_analyzer")) {
    for (const auto& [name, v] : *a)
      s.verdictsByAnalyzer[name] = countsFrom(v.extract<Object::Ptr>());
  }
  s.cacheHits = number(j, "cache_hits");
  if (auto a = j->getArray("names")) {
    for (std::size_t i = 0; i < a->size(); ++i) {
      auto o = a->getObject(static_cast<unsigned>(i));
      auto& n = s.names[string(o, "md5")];
      n.shape = string(o, "shape");
      n.count += number(o, "count");
    }
  }
  return s;
}

IntervalStats fromJsonText(const std::string& text) {
  Poco::JSON::Parser parser;
  return fromJson(parser.parse(text).extract<Object::Ptr>());
}

std::string toJsonText(const IntervalStats& s) {
  return jsonText(toJson(s));
}

std::string isoSeconds(std::int64_t ms) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000), "%Y-%m-%dT%H:%M:%SZ");
}

std::string isoMillis(std::int64_t ms) {
  return Poco::DateTimeFormatter::format(Poco::Timestamp(ms * 1000), "%Y-%m-%dT%H:%M:%S.%iZ");
}

std::int64_t msFromIso(const std::string& iso) {
  static const std::regex re(
      R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2})$)");
  Poco::DateTime dt;
  int tzd = 0;
  if (!std::regex_match(iso, re) ||
      !Poco::DateTimeParser::tryParse(Poco::DateTimeFormat::ISO8601_FRAC_FORMAT, iso, dt, tzd)) {
    throw std::invalid_argument("'" + iso +
                                "' is not an ISO 8601 time such as 2026-11-30T00:00:00Z");
  }
  dt.makeUTC(tzd);
  return dt.timestamp().epochMicroseconds() / 1000;
}

}  // namespace bccsink::report
