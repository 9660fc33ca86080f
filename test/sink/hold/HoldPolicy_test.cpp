// sink/hold/HoldPolicy: every branch of SMTP mode's decision, from values.

#include "sink/hold/HoldPolicy.h"

#include <gtest/gtest.h>

namespace bccsink {
namespace {

constexpr std::int64_t kHeld = 1'800'000'000'000;
constexpr std::int64_t kSoon = kHeld + 1000;  // a second after the 250

HoldPolicy policy() {
  HoldPolicy p;  // the defaults: pass, tag, quarantine, pass; 60 min; timeout pass
  return p;
}

TEST(HoldPolicy, EachVerdictGetsItsConfiguredAction) {
  auto p = policy();
  p.unscanned = "discard";
  struct Case {
    std::string verdict, action, state;
  } cases[] = {{"clean", "pass", "deliver"},
               {"suspicious", "tag", "deliver"},
               {"dangerous", "quarantine", "quarantined"},
               {"unscanned", "discard", "discarded"}};
  for (const auto& c : cases) {
    auto d = decideHold(p, "checked", c.verdict, "", kHeld, kSoon);
    ASSERT_TRUE(d) << c.verdict;
    EXPECT_EQ(d->action, c.action) << c.verdict;
    EXPECT_EQ(d->state, c.state) << c.verdict;
    EXPECT_EQ(d->cause, c.verdict);
    EXPECT_EQ(d->why, c.verdict);
  }
}

TEST(HoldPolicy, AReportedMessageIsDecidedAsACheckedOne) {
  auto d = decideHold(policy(), "reported", "dangerous", "", kHeld, kSoon);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->action, "quarantine");
}

TEST(HoldPolicy, WhyNamesTheFindings) {
  auto d = decideHold(policy(), "checked", "dangerous", "Eicar-Test-Signature in eicar.com (clamd)",
                      kHeld, kSoon);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->why, "dangerous: Eicar-Test-Signature in eicar.com (clamd)");
}

TEST(HoldPolicy, AFailedMessageCountsAsSuspicious) {
  auto d =
      decideHold(policy(), "failed", "unscanned", "cannot read the spooled message", kHeld, kSoon);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cause, "suspicious");
  EXPECT_EQ(d->action, "tag");
  EXPECT_EQ(d->state, "deliver");
  EXPECT_EQ(d->why, "suspicious: analysis failed: cannot read the spooled message");
  // Without a verdict or a reason, still suspicious.
  d = decideHold(policy(), "failed", "", "", kHeld, kSoon);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->why, "suspicious: analysis failed");
}

TEST(HoldPolicy, AFailedMessageKeepsAWorseVerdict) {
  auto d = decideHold(policy(), "failed", "dangerous", "attempts ran out", kHeld, kSoon);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cause, "dangerous");
  EXPECT_EQ(d->action, "quarantine");
  EXPECT_EQ(d->why, "dangerous: analysis failed: attempts ran out");
}

TEST(HoldPolicy, AnEvasionCountsAsSuspiciousEvenWhenTheVerdictSaysUnscanned) {
  for (std::string verdict : {"unscanned", "clean", ""}) {
    auto d = decideHold(policy(), "checked", verdict,
                        "a.zip: evasion: encrypted zip, no password opened it", kHeld, kSoon);
    ASSERT_TRUE(d) << verdict;
    EXPECT_EQ(d->cause, "suspicious") << verdict;
    EXPECT_EQ(d->action, "tag");
    EXPECT_EQ(d->why, "suspicious: a.zip: evasion: encrypted zip, no password opened it");
  }
  // ... but does not make a dangerous message less so.
  auto d = decideHold(policy(), "checked", "dangerous", "evasion: limit hit", kHeld, kSoon);
  EXPECT_EQ(d->cause, "dangerous");
}

TEST(HoldPolicy, AnUnknownVerdictIsUnscanned) {
  auto d = decideHold(policy(), "checked", "weird", "", kHeld, kSoon);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cause, "unscanned");
  EXPECT_EQ(d->action, "pass");
}

TEST(HoldPolicy, WithoutAVerdictTheMessageIsHeldUntilSmtpMaxHold) {
  auto p = policy();
  for (std::string state : {"pending", "analyzing"}) {
    EXPECT_FALSE(decideHold(p, state, "", "", kHeld, kSoon)) << state;
    EXPECT_FALSE(decideHold(p, state, "", "", kHeld, kHeld + 3'599'999)) << state;
  }
  auto d = decideHold(p, "analyzing", "", "", kHeld, kHeld + 3'600'000);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cause, "timeout");
  EXPECT_EQ(d->action, "pass");  // fail-open, as APT Blocker
  EXPECT_EQ(d->state, "deliver");
  EXPECT_EQ(d->why, "timeout: no verdict after 60 min (SmtpMaxHold)");

  p.timeoutAction = "quarantine";
  p.maxHold = std::chrono::seconds(90);
  d = decideHold(p, "pending", "", "", kHeld, kHeld + 90'000);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->action, "quarantine");
  EXPECT_EQ(d->state, "quarantined");
  EXPECT_EQ(d->why, "timeout: no verdict after 90 s (SmtpMaxHold)");
}

TEST(HoldPolicy, AVerdictThatCameLateStillDecides) {
  // Past SmtpMaxHold but checked: the verdict, not the timeout.
  auto d = decideHold(policy(), "checked", "dangerous", "", kHeld, kHeld + 7'200'000);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cause, "dangerous");
}

TEST(HoldPolicy, HoldUnknownNoPassesAtOnceButAVerdictStillDecides) {
  auto p = policy();
  p.holdUnknown = false;
  p.unscanned = "quarantine";  // not what a message released before analysis gets
  auto d = decideHold(p, "pending", "", "", kHeld, kHeld);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->action, "pass");
  EXPECT_EQ(d->state, "deliver");
  EXPECT_EQ(d->cause, "unscanned");
  EXPECT_EQ(d->why, "unscanned: released before analysis (SmtpHoldUnknown=no)");
  // A verdict already there (the cache): its action.
  d = decideHold(p, "checked", "dangerous", "", kHeld, kHeld);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->action, "quarantine");
}

TEST(HoldPolicy, StateForAction) {
  EXPECT_EQ(stateForAction("pass"), "deliver");
  EXPECT_EQ(stateForAction("tag"), "deliver");
  EXPECT_EQ(stateForAction("quarantine"), "quarantined");
  EXPECT_EQ(stateForAction("discard"), "discarded");
  EXPECT_EQ(stateForAction("nonsense"), "quarantined");  // kept: an administrator decides
}

}  // namespace
}  // namespace bccsink
