#pragma once
// Held messages (SMTP mode) in each state the quarantine shows, made through the
// repositories as the listener and the hold stage make them: insertPending with `hold`,
// the worker's verdict, then HoldQueue::decide (and the relay's answer). For the tests of
// `bccsink quarantine` and /api/quarantine.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/HoldQueue.h"
#include "db/MessageQueue.h"
#include "test/db/SampleRecord.h"

namespace bccsink::test {

// 2026-11-30T04:00:00Z, and the decisions' times after it.
inline constexpr std::int64_t kHeldAtMs = 1796011200000;

// A message of `sink` held in `state` (holding, quarantined, discarded, rejected, delivered),
// decided `minutes` after kHeldAtMs; `verdict` '' leaves it unchecked (pending), which
// only the last message of a sink may be (a verdict is set by claiming the oldest pending).
inline void addHeld(db::Database& database, const std::string& id, const std::string& sink,
                    const std::string& state, const std::string& verdict, int minutes) {
  db::MessageQueue queue(database);
  auto r = sampleRecord(id, "2026-11-30T04:00:00.000Z", sink);
  r.hold = true;
  r.headerMessageId = "<" + id + "@example.org>";
  r.recipients = {{"ann@example.com", "rfc822;ann@example.com", "FAILURE"},
                  {"ben@example.com", "", ""}};
  queue.insertPending({r});
  if (!verdict.empty()) {
    auto m = queue.claimNext(sink, nowMs() + 60000, nowMs() + 60000, isoNow());
    ASSERT_TRUE(m && m->id == id) << id;
    ASSERT_TRUE(queue.markChecked(id, sink, verdict, "2026-11-30T04:00:01.000Z"));
  }
  db::HoldQueue held(database);
  const std::int64_t at = kHeldAtMs + minutes * 60000LL;
  const std::string why = verdict + ": EICAR_Test_File in eicar.com";
  if (state == db::hold_state::kQuarantined) {
    ASSERT_TRUE(held.decide(id, state, db::hold_action::kQuarantine, "dangerous: EICAR", at));
  } else if (state == db::hold_state::kDiscarded) {
    ASSERT_TRUE(held.decide(id, state, db::hold_action::kDiscard, why, at));
  } else if (state == db::hold_state::kRejected) {
    ASSERT_TRUE(held.decide(id, db::hold_state::kDeliver, db::hold_action::kPass, why, at));
    ASSERT_TRUE(held.markRejected(id, "550 5.7.1 relay refused", at, {}));
  } else if (state == db::hold_state::kDelivered) {
    ASSERT_TRUE(held.decide(id, db::hold_state::kDeliver, db::hold_action::kPass, why, at));
    ASSERT_TRUE(held.markDelivered(id, "250 2.0.0 Ok: queued as 4Xyz", at));
  } else {
    ASSERT_EQ(state, db::hold_state::kHolding);
  }
}

}  // namespace bccsink::test
