#include "sandbox/retro/RetroJudge.h"

#include <Poco/DateTimeFormatter.h>
#include <Poco/Logger.h>
#include <Poco/Timestamp.h>

#include "base/Clock.h"
#include "base/Text.h"

namespace bccsink::sandbox {
namespace {

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.retro");
}

}  // namespace

RetroJudge::RetroJudge(RetroSettings settings) : settings_(std::move(settings)) {}

std::optional<db::RetroOutcome> RetroJudge::judge(db::Database& db, const db::StoredVerdict& stored,
                                                  RetroCause cause) {
  if (!enabled()) return std::nullopt;
  if (stored.verdict != "suspicious" && stored.verdict != "dangerous") return std::nullopt;
  const auto now = nowMs();
  db::WorseVerdict change;
  change.alertId = settings_.newId ? settings_.newId() : std::to_string(now);
  change.sha256 = stored.sha256;
  change.analyzer = stored.analyzer;
  change.verdict = stored.verdict;
  change.threats = stored.threats;
  change.cause = std::string(toString(cause));
  change.windowStartIso = isoOfMs(now - settings_.window.count() * 1000);
  change.threshold = settings_.threshold;
  change.sink = settings_.sink;
  change.nowIso = isoOfMs(now);
  change.nowMs = now;
  auto out = db::RetroAlerts(db).recordWorse(change);
  if (!out) return out;
  ++alerts_[static_cast<std::size_t>(cause)];
  log().notice("retro: %s now %s (%s: %s), %d messages judged again, alert %s%s", stored.sha256,
               stored.verdict, stored.analyzer,
               // Threat names come from the analyzers (vxCube over the network): one line.
               oneLineUtf8(stored.threats.empty() ? "-" : join(stored.threats, ", "), 300),
               out->messages, out->alertId,
               std::string(out->due ? ", report due" : ", below BccReportThreshold"));
  if (listener_) listener_(*out);
  return out;
}

}  // namespace bccsink::sandbox
