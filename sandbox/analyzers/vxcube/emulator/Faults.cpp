#include "sandbox/analyzers/vxcube/emulator/Faults.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace bccsink::emulator {
namespace {

bool number(std::string_view text, long& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

const std::vector<std::string>& callNames() {
  static const std::vector<std::string> names{"login",  "license", "formats", "platforms",
                                              "lookup", "upload",  "sample",  "analyze",
                                              "poll",   "task",    "report"};
  return names;
}

Fault parseFault(std::string_view spec) {
  Fault f;
  f.spec = std::string(spec);
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    auto colon = spec.find(':', start);
    parts.push_back(spec.substr(start, colon == std::string_view::npos ? colon : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  const std::string where = "fault '" + f.spec + "': ";
  if (parts.size() < 2 || parts.size() > 3)
    throw std::invalid_argument(where + "expected CALL:KIND[:RATE]");
  f.call = std::string(parts[0]);
  const auto& calls = callNames();
  if (f.call != "any" && std::find(calls.begin(), calls.end(), f.call) == calls.end())
    throw std::invalid_argument(where + "no call '" + f.call + "'");
  auto kind = parts[1];
  long n = 0;
  if (kind == "hang") {
    f.kind = FaultKind::Hang;
  } else if (kind == "reset") {
    f.kind = FaultKind::Reset;
  } else if (kind == "badjson") {
    f.kind = FaultKind::BrokenJson;
  } else if (kind.substr(0, 4) == "slow" && number(kind.substr(4), n) && n >= 0) {
    f.kind = FaultKind::Slow;
    f.delayMs = static_cast<int>(std::min(n, 3600000L));
  } else if (number(kind, n) && n >= 400 && n <= 599) {
    f.kind = FaultKind::Status;
    f.status = static_cast<int>(n);
  } else {
    throw std::invalid_argument(where +
                                "KIND is an HTTP status 400-599, hang, reset, badjson "
                                "or slowN");
  }
  if (parts.size() == 3) {
    auto rate = parts[2];
    if (!rate.empty() && rate.front() == 'x') {
      if (!number(rate.substr(1), n) || n < 1)
        throw std::invalid_argument(where + "xN needs a count of 1 or more");
      f.remaining = n;
    } else {
      try {
        std::size_t used = 0;
        f.rate = std::stod(std::string(rate), &used);
        if (used != rate.size()) throw std::invalid_argument("");
      } catch (const std::logic_error&) {
        throw std::invalid_argument(where + "RATE is a probability or xN");
      }
      if (!(f.rate > 0.0 && f.rate <= 1.0))
        throw std::invalid_argument(where + "RATE must be above 0 and at most 1");
    }
  }
  return f;
}

void FaultTable::add(Fault f) {
  std::lock_guard lock(mutex_);
  faults_.push_back(std::move(f));
}

void FaultTable::clear() {
  std::lock_guard lock(mutex_);
  faults_.clear();
}

std::vector<Fault> FaultTable::list() const {
  std::lock_guard lock(mutex_);
  return faults_;
}

std::optional<Fault> FaultTable::pick(const std::string& call) {
  std::lock_guard lock(mutex_);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->call != "any" && it->call != call) continue;
    if (it->rate < 1.0 && unit(random_) >= it->rate) continue;
    Fault chosen = *it;
    if (it->remaining > 0 && --it->remaining == 0) faults_.erase(it);
    return chosen;
  }
  return std::nullopt;
}

}  // namespace bccsink::emulator
