// The exposition format's own rules, apart from what /metrics counts (test/sink/Metrics).

#include "report/http/PrometheusText.h"

#include <gtest/gtest.h>

using bccsink::report::PrometheusText;

TEST(PrometheusText, AFamilyIsHelpThenTypeThenItsSamples) {
  PrometheusText t;
  t.family("x_total", "counter", "Things.");
  t.sample("x_total", "", std::uint64_t{3});
  t.sample("x_total", "kind=\"a\"", std::int64_t{-1});
  EXPECT_EQ(t.take(),
            "# HELP x_total Things.\n# TYPE x_total counter\nx_total 3\n"
            "x_total{kind=\"a\"} -1\n");
}

TEST(PrometheusText, LabelValuesEscapeBackslashQuoteAndNewlineOnly) {
  EXPECT_EQ(PrometheusText::label("a\\b\"c\nd\te"), "a\\\\b\\\"c\\nd\te");
  EXPECT_EQ(PrometheusText::label(""), "");
}

TEST(PrometheusText, NumbersAreTheShortestTextThatReadsBack) {
  EXPECT_EQ(PrometheusText::number(0.005), "0.005");
  EXPECT_EQ(PrometheusText::number(2.5), "2.5");
  EXPECT_EQ(PrometheusText::number(3), "3");
  EXPECT_EQ(PrometheusText::number(0.1 + 0.2), "0.30000000000000004");
}
