#include "report/stats/StatsText.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

#include "base/Text.h"

namespace bccsink::report {
namespace {

constexpr std::size_t kTop = 10;  // lines per breakdown

std::int64_t get(const Counts& c, const std::string& key) {
  auto it = c.find(key);
  return it == c.end() ? 0 : it->second;
}

std::int64_t sum(const Counts& c) {
  std::int64_t n = 0;
  for (const auto& [k, v] : c) n += v;
  return n;
}

std::string pad(const std::string& s, std::size_t width, bool right = false) {
  if (s.size() >= width) return s;
  return right ? std::string(width - s.size(), ' ') + s : s + std::string(width - s.size(), ' ');
}

std::string num(std::int64_t n) {
  return std::to_string(n);
}

std::string countsLine(const Counts& c) {
  std::vector<std::pair<std::string, std::int64_t>> v(c.begin(), c.end());
  std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::string out;
  std::size_t shown = 0;
  for (const auto& [k, n] : v) {
    if (n == 0) continue;
    if (shown++ == kTop) {
      out += ", ...";
      break;
    }
    out += (out.empty() ? "" : ", ") + asciiEscaped(k) + " " + num(n);
  }
  return out.empty() ? "-" : out;
}

void row(std::ostream& out, const IntervalStats& s, const std::string& label) {
  std::int64_t files = sum(s.byExtension), mismatches = 0;
  for (const auto& [k, n] : s.mismatches) mismatches += n;
  out << pad(label, 22) << pad(num(s.messages), 9, true) << pad(num(s.recipients), 7, true)
      << pad(num(files), 7, true) << pad(num(get(s.verdicts, "clean")), 7, true)
      << pad(num(get(s.verdicts, "suspicious")), 6, true)
      << pad(num(get(s.verdicts, "dangerous")), 6, true)
      << pad(num(get(s.verdicts, "unscanned")), 6, true)
      << pad(num(get(s.verdicts, "pending")), 6, true) << pad(num(mismatches), 6, true)
      << pad(num(s.cacheHits), 7, true) << "\n";
}

}  // namespace

std::string statsTable(const StatsView& view, const std::string& owner) {
  std::ostringstream out;
  out << "statistics of " << owner << " from " << isoSeconds(view.sinceMs) << " to "
      << isoSeconds(view.untilMs) << " (interval " << view.intervalSeconds << " s)\n\n";
  out << pad("start", 22) << pad("messages", 9, true) << pad("rcpts", 7, true)
      << pad("files", 7, true) << pad("clean", 7, true) << pad("susp", 6, true)
      << pad("dang", 6, true) << pad("unsc", 6, true) << pad("pend", 6, true)
      << pad("mism", 6, true) << pad("cached", 7, true) << "\n";
  for (const auto& s : view.intervals) {
    row(out, s, isoSeconds(s.startMs) + (s.partial ? " *" : ""));
  }
  row(out, view.totals, "total");
  out << "(* counted now: the interval is not over or not stored yet)\n\n";

  const auto& t = view.totals;
  out << "messages by size:  ";
  bool firstSize = true;
  for (const auto& [name, bound] : kSizeBuckets) {
    out << (firstSize ? "" : ", ") << name << " " << get(t.sizeHistogram, name);
    firstSize = false;
  }
  out << "\n";
  out << "connecting IPs:\n";
  std::vector<std::pair<std::string, IpCounters>> ips(t.byIp.begin(), t.byIp.end());
  std::stable_sort(ips.begin(), ips.end(),
                   [](auto& a, auto& b) { return a.second.messages > b.second.messages; });
  for (std::size_t i = 0; i < ips.size() && i < kTop; ++i) {
    const auto& [ip, c] = ips[i];
    out << "  " << pad(asciiEscaped(ip), 40) << " messages " << c.messages << ", recipients "
        << c.recipients << ": " << countsLine(c.verdicts) << "\n";
  }
  if (ips.size() > kTop) out << "  ... " << ips.size() - kTop << " more\n";
  if (ips.empty()) out << "  -\n";
  out << "files by extension:  " << countsLine(t.byExtension) << "\n";
  out << "files by true type:  " << countsLine(t.byTrueType) << "\n";
  out << "extension is not what the file is:\n";
  for (const auto& [k, n] : t.mismatches) {
    const auto& [ext, family, type] = k;
    out << "  " << n << " ." << asciiEscaped(ext) << " that are really " << family << " (" << type
        << ")\n";
  }
  if (t.mismatches.empty()) out << "  -\n";
  out << "files inside containers:\n";
  for (const auto& [k, n] : t.inArchive) {
    out << "  " << n << " ." << asciiEscaped(k.first) << " inside " << asciiEscaped(k.second)
        << "\n";
  }
  if (t.inArchive.empty()) out << "  -\n";
  out << "size by type:\n";
  for (const auto& [family, c] : t.sizeByType) {
    out << "  " << pad(family, 16) << pad(num(c.files), 6, true) << " files "
        << pad(num(c.bytes), 12, true) << " bytes\n";
  }
  if (t.sizeByType.empty()) out << "  -\n";
  out << "verdicts per analyzer (selected files):\n";
  for (const auto& [name, c] : t.verdictsByAnalyzer) {
    out << "  " << pad(name, 10) << " " << countsLine(c) << "\n";
  }
  if (t.verdictsByAnalyzer.empty()) out << "  -\n";
  out << "answered from the verdict cache: " << t.cacheHits << "\n";
  out << "file names (shape, MD5):\n";
  std::vector<std::pair<std::string, NameCounters>> names(t.names.begin(), t.names.end());
  std::stable_sort(names.begin(), names.end(),
                   [](auto& a, auto& b) { return a.second.count > b.second.count; });
  for (std::size_t i = 0; i < names.size() && i < kTop; ++i) {
    out << "  " << pad(num(names[i].second.count), 6, true) << "  "
        << pad(asciiEscaped(names[i].second.shape), 32) << " " << names[i].first << "\n";
  }
  if (names.size() > kTop) out << "  ... " << names.size() - kTop << " more\n";
  if (names.empty()) out << "  -\n";
  return out.str();
}

}  // namespace bccsink::report
