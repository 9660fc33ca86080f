#pragma once
// Retro-alerts (issue 17): a file's verdict turned worse after messages that carried it
// were judged. RetroJudge is told of each such stored verdict (the pipeline's late answers,
// the re-checks' new rules, signatures and hash list entries), has db::RetroAlerts judge
// those messages again in one transaction, logs one notice per alert, counts alerts by
// cause for /metrics and wakes whoever sends the retro report. It decides nothing itself:
// the rules of which messages and whether the report is due are recordWorse()'s.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "db/FileRepository.h"
#include "db/RetroAlerts.h"

namespace bccsink::db {
class Database;
}

namespace bccsink::sandbox {

// Why a verdict turned, as retro_alerts.cause says it.
enum class RetroCause { LateAnswer, RulesReload, SignatureUpdate, HashList };
inline constexpr std::array<std::string_view, 4> kRetroCauses = {"late-answer", "rules-reload",
                                                                 "signature-update", "hash-list"};
inline std::string_view toString(RetroCause c) {
  return kRetroCauses[static_cast<std::size_t>(c)];
}

struct RetroSettings {
  std::string sink;                      // this sink: the alerts it finds are its to report
  std::chrono::seconds window{0};        // BccRetroWindow; 0 = retro-alerts off
  std::string threshold = "suspicious";  // BccReportThreshold
  std::function<std::string()> newId;    // a new ULID for each alert (sink/smtp/Ulid)
};

class RetroJudge {
 public:
  explicit RetroJudge(RetroSettings settings);

  bool enabled() const { return settings_.window.count() > 0; }
  const RetroSettings& settings() const { return settings_; }
  // Called after each alert is committed (on the caller's thread: signal only), e.g. the
  // reporter's wake(). Set before the first judge().
  void onAlert(std::function<void(const db::RetroOutcome&)> listener) {
    listener_ = std::move(listener);
  }

  // `stored` was just stored in the cache. When it is suspicious or dangerous and
  // retro-alerts are on: the messages of the window judged with less are judged again.
  // The alert, or nothing. Throws what the database throws (nothing was changed then).
  std::optional<db::RetroOutcome> judge(db::Database& db, const db::StoredVerdict& stored,
                                        RetroCause cause);

  // Alerts made since start, by cause (RetroCause's order).
  std::uint64_t alerts(RetroCause cause) const {
    return alerts_[static_cast<std::size_t>(cause)].load();
  }

 private:
  RetroSettings settings_;
  std::function<void(const db::RetroOutcome&)> listener_;
  std::array<std::atomic<std::uint64_t>, 4> alerts_{};
};

}  // namespace bccsink::sandbox
