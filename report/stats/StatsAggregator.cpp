#include "report/stats/StatsAggregator.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <utility>

#include "base/FileName.h"
#include "db/MessageRecord.h"
#include "db/StatsRepository.h"
#include "report/stats/StatsShape.h"

namespace bccsink::report {
namespace {

constexpr std::string_view kContainerSeparator = " > ";

std::string messageVerdict(const db::StatsMessage& m) {
  if (m.state == db::state::kPending || m.state == db::state::kAnalyzing || m.verdict.empty()) {
    return "pending";
  }
  return m.verdict;
}

std::int64_t receivedMs(const std::string& iso) {
  try {
    return msFromIso(iso);
  } catch (const std::invalid_argument&) {
    return 0;  // unreadable: no verdict counts as decided before it
  }
}

std::string orUnknown(const std::string& s, const char* unknown) {
  return s.empty() ? unknown : s;
}

// What a file's container is counted as: its extension, or its family when it has none.
std::string containerKey(
    const std::map<std::pair<std::string, std::string>, const db::StatsFile*>& byPath,
    const db::StatsFile& member) {
  auto cut = member.path.rfind(kContainerSeparator);
  auto containerPath = member.path.substr(0, cut);
  auto it = byPath.find({member.msgId, containerPath});
  if (it != byPath.end()) {
    const auto& c = *it->second;
    if (!c.extension.empty()) return extensionKey(c.extension);
    if (!c.family.empty()) return c.family;
  }
  auto start = containerPath.rfind(kContainerSeparator);
  auto name = start == std::string::npos ? containerPath
                                         : containerPath.substr(start + kContainerSeparator.size());
  return extensionKey(extensionOf(name));
}

}  // namespace

IntervalStats aggregate(const db::IntervalRows& rows) {
  IntervalStats s;
  std::map<std::string, std::int64_t> received;
  for (const auto& m : rows.messages) {
    auto verdict = messageVerdict(m);
    ++s.messages;
    s.recipients += m.recipients;
    ++s.sizeHistogram[sizeBucket(m.size)];
    ++s.verdicts[verdict];
    auto& ip = s.byIp[orUnknown(m.ip, "(unknown)")];
    ++ip.messages;
    ip.recipients += m.recipients;
    ++ip.verdicts[verdict];
    received[m.id] = receivedMs(m.receivedAt);
  }
  std::multimap<std::string, const db::StatsVerdict*> verdicts;
  for (const auto& v : rows.verdicts) verdicts.emplace(v.sha256, &v);
  std::map<std::pair<std::string, std::string>, const db::StatsFile*> byPath;
  for (const auto& f : rows.files) byPath.emplace(std::make_pair(f.msgId, f.path), &f);

  for (const auto& f : rows.files) {
    const bool unreadable = f.sha256.empty();
    const auto ext = extensionKey(f.extension);
    const auto trueType = unreadable ? "(unreadable)" : orUnknown(f.trueType, "(unknown)");
    const auto family = unreadable ? "(unreadable)" : orUnknown(f.family, "(unknown)");
    ++s.byExtension[ext];
    ++s.byTrueType[trueType];
    auto& size = s.sizeByType[family];
    ++size.files;
    size.bytes += f.size;
    if (f.extensionMismatch) ++s.mismatches[{ext, family, trueType}];
    if (f.path.find(kContainerSeparator) != std::string::npos) {
      ++s.inArchive[{ext, containerKey(byPath, f)}];
    }
    if (!f.name.empty()) {
      auto& n = s.names[nameDigest(f.name)];
      n.shape = shapeName(f.name);
      ++n.count;
    }
    if (!f.selected || unreadable) continue;
    auto [from, to] = verdicts.equal_range(f.sha256);
    bool any = false, allBefore = true;
    auto arrived = received.count(f.msgId) ? received[f.msgId] : 0;
    for (auto it = from; it != to; ++it) {
      const auto& v = *it->second;
      ++s.verdictsByAnalyzer[v.analyzer][v.verdict];
      any = true;
      allBefore = allBefore && v.decidedMs < arrived;
    }
    if (any && allBefore) ++s.cacheHits;
  }
  return s;
}

IntervalStats computeInterval(db::Database& db, const std::string& sink, std::int64_t startMs,
                              std::int64_t endMs) {
  db::StatsRepository repo(db);
  auto s = aggregate(repo.rowsIn(sink, isoMillis(startMs), isoMillis(endMs)));
  s.startMs = startMs;
  s.endMs = endMs;
  return s;
}

std::int64_t firstUnstoredInterval(db::Database& db, const std::string& sink, std::int64_t nowMs,
                                   std::int64_t intervalMs, std::int64_t backfillMs) {
  db::StatsRepository repo(db);
  const auto bound = alignDown(nowMs - backfillMs, intervalMs);
  if (auto last = repo.latest(sink)) return std::max(alignUp(last->endMs, intervalMs), bound);
  auto oldest = repo.oldestReceivedSince(sink, isoMillis(bound));
  if (oldest.empty()) return alignDown(nowMs, intervalMs);
  return std::max(alignDown(receivedMs(oldest), intervalMs), bound);
}

}  // namespace bccsink::report
