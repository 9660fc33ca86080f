#include "sandbox/analyzers/Verdict.h"

#include <gtest/gtest.h>

using namespace bccsink::sandbox;

TEST(Verdict, WorstOfKeepsDangerAboveUnscannedAndUnscannedAboveClean) {
  EXPECT_EQ(worse(VerdictKind::Clean, VerdictKind::Dangerous), VerdictKind::Dangerous);
  EXPECT_EQ(worse(VerdictKind::Unscanned, VerdictKind::Suspicious), VerdictKind::Suspicious);
  EXPECT_EQ(worse(VerdictKind::Dangerous, VerdictKind::Unscanned), VerdictKind::Dangerous);
  EXPECT_EQ(worse(VerdictKind::Clean, VerdictKind::Unscanned), VerdictKind::Unscanned);
  EXPECT_EQ(worse(VerdictKind::Clean, VerdictKind::Clean), VerdictKind::Clean);
}

TEST(Verdict, NamesRoundTripAndUnknownNamesAreRejected) {
  for (auto k : {VerdictKind::Clean, VerdictKind::Suspicious, VerdictKind::Dangerous,
                 VerdictKind::Unscanned}) {
    VerdictKind back = VerdictKind::Clean;
    ASSERT_TRUE(parseVerdict(toString(k), back));
    EXPECT_EQ(back, k);
  }
  VerdictKind k = VerdictKind::Clean;
  EXPECT_FALSE(parseVerdict("malicious", k));
  EXPECT_FALSE(parseVerdict("", k));
  EXPECT_EQ(k, VerdictKind::Clean);
}
