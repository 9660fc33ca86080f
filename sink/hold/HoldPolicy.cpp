#include "sink/hold/HoldPolicy.h"

#include "db/HoldQueue.h"
#include "db/MessageRecord.h"

namespace bccsink {
namespace {

// How far a verdict is from clean, for "counts as suspicious": clean < unscanned <
// suspicious < dangerous. Anything else (a verdict this build does not know) is unscanned.
int rank(const std::string& verdict) {
  if (verdict == "clean") return 0;
  if (verdict == "suspicious") return 2;
  if (verdict == "dangerous") return 3;
  return 1;
}

const std::string& actionFor(const HoldPolicy& p, const std::string& cause) {
  if (cause == "clean") return p.clean;
  if (cause == "suspicious") return p.suspicious;
  if (cause == "dangerous") return p.dangerous;
  return p.unscanned;
}

std::string minutesText(std::chrono::milliseconds d) {
  const auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
  if (s % 60 != 0 || s == 0) return std::to_string(s) + " s";
  return std::to_string(s / 60) + " min";
}

HoldDecision decision(const std::string& cause, const std::string& action,
                      const std::string& detail) {
  return {stateForAction(action), action, cause, detail.empty() ? cause : cause + ": " + detail};
}

}  // namespace

std::string stateForAction(const std::string& action) {
  if (action == db::hold_action::kPass || action == db::hold_action::kTag)
    return db::hold_state::kDeliver;
  if (action == db::hold_action::kDiscard) return db::hold_state::kDiscarded;
  // quarantine, and anything the configuration's check let through by mistake: kept, so
  // that an administrator can still release it.
  return db::hold_state::kQuarantined;
}

std::optional<HoldDecision> decideHold(const HoldPolicy& policy, const std::string& messageState,
                                       const std::string& verdict, const std::string& reason,
                                       std::int64_t heldMs, std::int64_t nowMs) {
  const bool failed = messageState == db::state::kFailed;
  const bool judged =
      failed || messageState == db::state::kChecked || messageState == db::state::kReported;
  if (judged) {
    // A failed message (analysis gave up: unreadable, attempts ran out) and a sender's
    // evasion count as suspicious at least: neither may slip through as clean or unscanned.
    std::string cause = verdict.empty() ? "unscanned" : verdict;
    if (rank(cause) == 1) cause = "unscanned";
    const bool evasion = reason.find("evasion:") != std::string::npos;
    if ((failed || evasion) && rank(cause) < 2) cause = "suspicious";
    std::string detail = reason;
    if (failed) detail = "analysis failed" + (reason.empty() ? "" : ": " + reason);
    return decision(cause, actionFor(policy, cause), detail);
  }
  if (!policy.holdUnknown) {
    // SmtpHoldUnknown=no: out at once, as APT Blocker's "release immediately"; the message
    // is still analysed and reported as in BCC mode. Passed whatever SmtpActionUnscanned
    // says: holding it for that action is what the administrator turned off. Counted as
    // unscanned (nothing had judged it when it left).
    return decision("unscanned", db::hold_action::kPass,
                    "released before analysis (SmtpHoldUnknown=no)");
  }
  if (nowMs - heldMs >= policy.maxHold.count()) {
    // SmtpMaxHold ran out without a verdict: fail-open (pass) by default, or kept.
    const std::string& action = policy.timeoutAction;
    return decision("timeout", action,
                    "no verdict after " + minutesText(policy.maxHold) + " (SmtpMaxHold)");
  }
  return std::nullopt;
}

}  // namespace bccsink
