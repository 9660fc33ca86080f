#include "sandbox/analyzers/HashListAnalyzer.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string_view>

#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

constexpr std::string_view kSpace = " \t\r\n\v\f";

// The next white-space separated word of `rest`, which keeps what follows it.
std::string_view word(std::string_view& rest) {
  rest = trim(rest);
  auto end = std::min(rest.find_first_of(kSpace), rest.size());
  auto w = rest.substr(0, end);
  rest = trim(rest.substr(end));
  return w;
}

// Lowercase hex of an MD5 (32) or SHA-256 (64); '' when `s` is neither.
std::string digestKey(std::string_view s) {
  if (s.size() != 32 && s.size() != 64) return {};
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return {};
  }
  return lower(s);
}

// Adds one entry or says what is wrong with it.
std::string add(std::unordered_map<std::string, HashListAnalyzer::Entry>& entries,
                std::string_view digest, HashListAnalyzer::Entry entry) {
  auto key = digestKey(digest);
  if (key.empty()) return "'" + std::string(digest) + "' is not an MD5 or SHA-256 digest in hex";
  if (entry.kind != VerdictKind::Suspicious && entry.kind != VerdictKind::Dangerous)
    return "the verdict must be suspicious or dangerous";
  if (!entries.emplace(key, std::move(entry)).second) return key + " is listed twice";
  return {};
}

}  // namespace

HashListAnalyzer::Entries HashListAnalyzer::load(const std::string& path) {
  Entries entries;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  std::string line;
  for (unsigned n = 1; std::getline(in, line); ++n) {
    std::string_view rest = trim(line);
    if (rest.empty() || rest.front() == '#') continue;
    auto where = path + ":" + std::to_string(n) + ": ";
    auto digest = word(rest);
    auto verdict = lower(word(rest));
    Entry entry;
    if (verdict.empty())
      throw std::runtime_error(where +
                               "a verdict (suspicious or dangerous) must follow the digest");
    if (!parseVerdict(verdict, entry.kind) ||
        (entry.kind != VerdictKind::Suspicious && entry.kind != VerdictKind::Dangerous)) {
      throw std::runtime_error(where + "'" + verdict +
                               "' is not a verdict: use suspicious or dangerous");
    }
    entry.threat = std::string(rest);
    if (auto error = add(entries, digest, std::move(entry)); !error.empty())
      throw std::runtime_error(where + error);
  }
  if (in.bad()) throw std::runtime_error("cannot read " + path + ": " + std::strerror(errno));
  return entries;
}

HashListAnalyzer::HashListAnalyzer(const std::string& path)
    : entries_(std::make_shared<const Entries>(load(path))) {}

void HashListAnalyzer::reload(const std::string& path) {
  auto fresh = std::make_shared<const Entries>(load(path));
  std::lock_guard lock(mutex_);
  entries_ = std::move(fresh);
}

std::shared_ptr<const HashListAnalyzer::Entries> HashListAnalyzer::current() const {
  std::lock_guard lock(mutex_);
  return entries_;
}

std::size_t HashListAnalyzer::size() const {
  return current()->size();
}

HashListAnalyzer::HashListAnalyzer(const std::unordered_map<std::string, Entry>& entries) {
  Entries checked;
  for (const auto& [digest, entry] : entries) {
    if (auto error = add(checked, digest, entry); !error.empty())
      throw std::runtime_error("hash list: " + error);
  }
  entries_ = std::make_shared<const Entries>(std::move(checked));
}

ConfiguredAnalyzer HashListAnalyzer::make(const HashListSettings& settings) {
  RunnerSettings runner;
  runner.maxConcurrent = 1;
  runner.attemptTimeout = std::chrono::seconds(5);
  return {std::make_shared<HashListAnalyzer>(settings.file), runner};
}

Verdict HashListAnalyzer::scan(const Submission& file, std::stop_token) {
  Verdict v;
  v.analyzer = name();
  if (file.sha256.empty() && file.md5.empty()) {
    v.kind = VerdictKind::Unscanned;
    v.reason = "no digest to look up";
    return v;
  }
  v.kind = VerdictKind::Clean;
  const auto entries = current();
  // Both digests may be listed (two lists merged); the worse entry decides.
  for (const auto& digest : {file.sha256, file.md5}) {
    if (digest.empty()) continue;
    auto key = lower(digest);
    auto it = entries->find(key);
    if (it == entries->end()) continue;
    if (worse(v.kind, it->second.kind) != v.kind) {
      v.kind = it->second.kind;
      v.threats = {it->second.threat.empty() ? "hashlist:" + key.substr(0, 12) : it->second.threat};
    }
  }
  return v;
}

}  // namespace bccsink::sandbox
