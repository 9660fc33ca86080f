// report/http/PrometheusHistogram: a histogram's samples in the text format, cumulative
// buckets up to +Inf, then _sum and _count, with and without labels.

#include "report/http/PrometheusHistogram.h"

#include <gtest/gtest.h>

namespace bccsink::report {
namespace {

TEST(PrometheusHistogram, BucketsAreCumulativeThenSumAndCount) {
  Histogram h({1, 5, 15});
  for (double v : {0.5, 2.0, 3.0, 60.0}) h.observe(v);
  PrometheusText t;
  histogramSamples(t, "x_seconds", "verdict=\"clean\"", h.snapshot());
  EXPECT_EQ(t.take(),
            "x_seconds_bucket{verdict=\"clean\",le=\"1\"} 1\n"
            "x_seconds_bucket{verdict=\"clean\",le=\"5\"} 3\n"
            "x_seconds_bucket{verdict=\"clean\",le=\"15\"} 3\n"
            "x_seconds_bucket{verdict=\"clean\",le=\"+Inf\"} 4\n"
            "x_seconds_sum{verdict=\"clean\"} 65.5\n"
            "x_seconds_count{verdict=\"clean\"} 4\n");
}

TEST(PrometheusHistogram, WithoutLabelsOnlyLe) {
  Histogram h({0.5});
  PrometheusText t;
  histogramSamples(t, "y", "", h.snapshot());
  EXPECT_EQ(t.take(), "y_bucket{le=\"0.5\"} 0\ny_bucket{le=\"+Inf\"} 0\ny_sum 0\ny_count 0\n");
}

}  // namespace
}  // namespace bccsink::report
