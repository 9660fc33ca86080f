#include "base/Backoff.h"

#include <gtest/gtest.h>

using namespace bccsink;
using std::chrono::milliseconds;

TEST(Backoff, TheWaitDoublesFromTheBaseWithEachFailure) {
  EXPECT_EQ(retryDelay(1, milliseconds(30000), milliseconds(3600000)), milliseconds(30000));
  EXPECT_EQ(retryDelay(2, milliseconds(30000), milliseconds(3600000)), milliseconds(60000));
  EXPECT_EQ(retryDelay(3, milliseconds(30000), milliseconds(3600000)), milliseconds(120000));
}

TEST(Backoff, TheWaitStopsAtTheCapAndNeverOverflows) {
  EXPECT_EQ(retryDelay(8, milliseconds(30000), milliseconds(3600000)), milliseconds(3600000));
  EXPECT_EQ(retryDelay(40, milliseconds(30000), milliseconds(3600000)), milliseconds(3600000));
  EXPECT_EQ(retryDelay(1000000, milliseconds(1), milliseconds(5000)), milliseconds(5000));
}
