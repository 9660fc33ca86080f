#include "sandbox/slo/TimeToVerdict.h"

#include <cctype>
#include <memory>
#include <string_view>

namespace bccsink::sandbox {

TimeToVerdict::TimeToVerdict(std::chrono::seconds verdictSlo) : slo_(verdictSlo) {
  for (const char* label : {"clean", "suspicious", "dangerous", "unscanned", kFailedLabel})
    byVerdict_[label] = std::make_unique<Histogram>(kTimeToVerdictBuckets);
}

std::int64_t TimeToVerdict::ulidTimeMs(const std::string& id) {
  // https://github.com/ulid/spec: 26 characters, the first 10 the 48-bit time.
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  if (id.size() != 26) return 0;
  std::int64_t ms = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    const auto digit =
        kAlphabet.find(static_cast<char>(std::toupper(static_cast<unsigned char>(id[i]))));
    if (digit == std::string_view::npos) return 0;
    ms = ms * 32 + static_cast<std::int64_t>(digit);
  }
  // The first character carries 3 bits only: more is not a ULID.
  return ms < (std::int64_t{1} << 48) ? ms : 0;
}

Histogram& TimeToVerdict::of(const std::string& label) {
  std::lock_guard lock(mutex_);
  auto& h = byVerdict_[label];
  if (!h) h = std::make_unique<Histogram>(kTimeToVerdictBuckets);
  return *h;
}

void TimeToVerdict::finished(const std::string& msgId, const std::string& verdict, bool failed,
                             std::int64_t doneMs) {
  const auto receivedMs = ulidTimeMs(msgId);
  if (receivedMs > 0) observe(receivedMs, doneMs, verdict, failed);
}

void TimeToVerdict::observe(std::int64_t receivedMs, std::int64_t doneMs,
                            const std::string& verdict, bool failed) {
  const auto waited = doneMs > receivedMs ? doneMs - receivedMs : 0;
  of(failed ? std::string(kFailedLabel) : verdict).observe(static_cast<double>(waited) / 1000.0);
  slo_.record(receivedMs, doneMs, !failed);
}

std::map<std::string, HistogramSnapshot> TimeToVerdict::histograms() const {
  std::map<std::string, HistogramSnapshot> out;
  std::lock_guard lock(mutex_);
  for (const auto& [label, h] : byVerdict_) out[label] = h->snapshot();
  return out;
}

}  // namespace bccsink::sandbox
