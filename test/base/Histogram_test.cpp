// base/Histogram: values fall in the first bucket whose bound is >= them (Prometheus' le),
// the rest in +Inf; sum, count and the interpolated quantile.

#include "base/Histogram.h"

#include <gtest/gtest.h>

namespace bccsink {
namespace {

TEST(Histogram, CountsEachValueInTheFirstBucketItFitsAndAboveTheLastInInf) {
  Histogram h({1, 5, 15});
  for (double v : {0.0, 1.0, 1.5, 5.0, 16.0, 100.0}) h.observe(v);
  auto s = h.snapshot();
  EXPECT_EQ(s.bounds, (std::vector<double>{1, 5, 15}));
  EXPECT_EQ(s.counts, (std::vector<std::uint64_t>{2, 2, 0, 2}));
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 123.5);
}

TEST(Histogram, QuantileInterpolatesInsideItsBucket) {
  Histogram h({1, 5});
  EXPECT_EQ(h.snapshot().quantile(0.5), 0.0);  // nothing yet
  h.observe(0.5);
  h.observe(3);
  h.observe(4);
  h.observe(4);
  auto s = h.snapshot();
  EXPECT_DOUBLE_EQ(s.quantile(0.25), 1.0);
  EXPECT_DOUBLE_EQ(s.quantile(1.0), 5.0);
  h.observe(50);
  EXPECT_DOUBLE_EQ(h.snapshot().quantile(1.0), 5.0);  // +Inf: its lower bound
}

}  // namespace
}  // namespace bccsink
