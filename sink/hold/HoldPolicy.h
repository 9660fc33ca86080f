#pragma once
// SMTP mode's decision, as pure functions: what a held message gets from its verdict, its
// state and how long it has been held. No I/O: every branch is unit-tested from values.

#include <chrono>
#include <optional>
#include <string>

namespace bccsink {

struct HoldPolicy {
  // SmtpAction*: "pass", "tag", "quarantine" or "discard".
  std::string clean = "pass";
  std::string suspicious = "tag";
  std::string dangerous = "quarantine";
  std::string unscanned = "pass";
  std::string tagSubject = "[suspicious]";                      // SmtpTagSubject
  bool holdUnknown = true;                                      // SmtpHoldUnknown
  std::chrono::milliseconds maxHold{std::chrono::minutes(60)};  // SmtpMaxHold
  std::string timeoutAction = "pass";  // SmtpHoldTimeoutAction: pass or quarantine
};

struct HoldDecision {
  std::string state;   // db::hold_state: deliver, quarantined or discarded
  std::string action;  // db::hold_action
  std::string cause;   // kHoldCauses: clean, suspicious, dangerous, unscanned, timeout
  std::string why;     // for the queue, the report and X-Bccsink-Verdict
};

// What a message gets. `messageState` and `verdict` are its row's (messages.state,
// messages.verdict); `reason` the message's reason (failed) or its files' findings
// ("evasion: ..." when a sender kept something from analysis); `heldMs` when its 250 went
// out. nullopt: keep holding (no verdict yet and SmtpMaxHold not reached).
//   - checked/reported: the verdict's action (an unknown verdict is unscanned); failed, or
//     an "evasion:" in `reason`: at least suspicious. why = "CAUSE: REASON" (failed:
//     "CAUSE: analysis failed: REASON"), or just CAUSE when there is no reason.
//   - no verdict, SmtpHoldUnknown=no: pass at once, whatever SmtpActionUnscanned says, cause
//     unscanned, why "unscanned: released before analysis (SmtpHoldUnknown=no)"; a verdict
//     already there (the cache) still gets its action.
//   - no verdict, held for SmtpMaxHold: SmtpHoldTimeoutAction, cause timeout.
std::optional<HoldDecision> decideHold(const HoldPolicy& policy, const std::string& messageState,
                                       const std::string& verdict, const std::string& reason,
                                       std::int64_t heldMs, std::int64_t nowMs);

// The db::hold_state an action leaves a message in: pass and tag deliver.
std::string stateForAction(const std::string& action);

}  // namespace bccsink
