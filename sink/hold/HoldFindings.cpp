#include "sink/hold/HoldFindings.h"

#include "base/Text.h"
#include "sandbox/extract/Evasion.h"

namespace bccsink {
namespace {

constexpr std::size_t kMaxItem = 200;  // bytes of one finding: a long file name is cut

std::string nameOf(const db::MessageFile& f) {
  if (!f.path.empty()) return f.path;
  if (!f.name.empty()) return f.name;
  return "file " + std::to_string(f.position);
}

}  // namespace

std::string describeFindings(const std::string& verdict, const std::vector<db::MessageFile>& files,
                             const std::map<std::string, std::vector<db::StoredVerdict>>& stored,
                             const std::string& errors) {
  std::vector<std::string> items;
  const bool threat = verdict == "suspicious" || verdict == "dangerous";
  if (threat) {
    for (const auto& f : files) {
      if (f.verdict != verdict) continue;
      bool named = false;
      if (auto it = stored.find(f.sha256); it != stored.end()) {
        for (const auto& v : it->second) {
          if (v.verdict != verdict) continue;
          std::string item =
              v.threats.empty() ? nameOf(f) : join(v.threats, ", ") + " in " + nameOf(f);
          items.push_back(item + " (" + v.analyzer + ")");
          named = true;
        }
      }
      if (!named) items.push_back(nameOf(f) + (f.reason.empty() ? "" : ": " + f.reason));
    }
  }
  for (const auto& f : files) {
    const bool evasion = f.verdict == "unscanned" && sandbox::isEvasion(f.reason);
    if (evasion || (verdict == "unscanned" && f.verdict == "unscanned" && !f.reason.empty()))
      items.push_back(nameOf(f) + ": " + f.reason);
  }
  std::size_t start = 0;
  while (start < errors.size()) {
    auto end = errors.find('\n', start);
    if (end == std::string::npos) end = errors.size();
    auto line = std::string_view(errors).substr(start, end - start);
    if (sandbox::isEvasion(line)) items.emplace_back(line);
    start = end + 1;
  }
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < kMaxFindings; ++i) {
    out += (i ? "; " : "") + oneLineUtf8(items[i], kMaxItem);
  }
  if (items.size() > kMaxFindings)
    out += " and " + std::to_string(items.size() - kMaxFindings) + " more";
  return out;
}

std::string findingsOf(db::Database& db, const std::string& msgId, const std::string& verdict,
                       const std::string& errors) {
  db::MessageFiles messageFiles(db);
  db::FileRepository cache(db);
  auto files = messageFiles.list(msgId);
  std::map<std::string, std::vector<db::StoredVerdict>> stored;
  for (const auto& f : files) {
    if (f.sha256.empty() || f.verdict != verdict || stored.count(f.sha256)) continue;
    stored[f.sha256] = cache.verdicts(f.sha256);
  }
  return describeFindings(verdict, files, stored, errors);
}

}  // namespace bccsink
