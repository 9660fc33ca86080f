// The API's query strings: ISO 8601 times normalised to the stored form, and every way a
// parameter can be wrong.

#include <gtest/gtest.h>

#include "report/http/ApiQuery.h"

using bccsink::report::ApiQuery;
using bccsink::report::ApiQueryError;
using bccsink::report::normaliseIsoTime;

TEST(HttpApiQuery, IsoTimesBecomeUtcWithMilliseconds) {
  EXPECT_EQ(normaliseIsoTime("2026-11-30"), "2026-11-30T00:00:00.000Z");
  EXPECT_EQ(normaliseIsoTime("2026-11-30T02:03"), "2026-11-30T02:03:00.000Z");
  EXPECT_EQ(normaliseIsoTime("2026-11-30T02:03:04Z"), "2026-11-30T02:03:04.000Z");
  EXPECT_EQ(normaliseIsoTime("2026-11-30t02:03:04.5z"), "2026-11-30T02:03:04.500Z");
  EXPECT_EQ(normaliseIsoTime("2026-11-30T02:03:04.123456789Z"), "2026-11-30T02:03:04.123Z");
  EXPECT_EQ(normaliseIsoTime("2026-11-30 01:00:00+02:00"), "2026-11-29T23:00:00.000Z");
  EXPECT_EQ(normaliseIsoTime("2026-11-30T23:30:00-0100"), "2026-12-01T00:30:00.000Z");
  EXPECT_EQ(normaliseIsoTime("2028-02-29T00:00:00Z"), "2028-02-29T00:00:00.000Z");
  for (const char* bad : {"", "now", "2026-11-30T", "2026-13-01", "2027-02-29", "2026-11-30T24:00",
                          "2026-11-30T02:03:60Z", "26-11-30", "2026-11-30T02:03:04+25:00",
                          "2026-11-30T02:03:04Z junk", "1969-12-31T23:59:59Z", "２０２６-11-30"}) {
    EXPECT_FALSE(normaliseIsoTime(bad)) << bad;
  }
}

TEST(HttpApiQuery, DecodesAndChecksParameters) {
  ApiQuery q("sender=a%40b+c&limit=5&since=2026-11-30&empty=",
             {"sender", "limit", "since", "empty"});
  EXPECT_EQ(q.text("sender"), "a@b c");
  EXPECT_EQ(q.number("limit", 100, 1, 1000), 5u);
  EXPECT_EQ(q.number("absent", 100, 1, 1000), 100u);
  EXPECT_EQ(q.isoTime("since"), "2026-11-30T00:00:00.000Z");
  EXPECT_EQ(q.isoTime("absent"), "");
  EXPECT_TRUE(q.has("empty"));
  EXPECT_EQ(q.oneOf("empty", {"x"}), "");
  EXPECT_EQ(ApiQuery("", {}).has("x"), false);
  EXPECT_EQ(ApiQuery("&&", {}).has(""), false);
  EXPECT_THROW(ApiQuery("x=1", {}), ApiQueryError);
  EXPECT_THROW(ApiQuery("a=1&a=2", {"a"}), ApiQueryError);
  EXPECT_THROW(ApiQuery("a=%4", {"a"}), ApiQueryError);
  EXPECT_THROW(ApiQuery(std::string(9000, 'a'), {}), ApiQueryError);
  EXPECT_THROW(ApiQuery("v=evil", {"v"}).oneOf("v", {"clean"}), ApiQueryError);
  EXPECT_THROW(ApiQuery("n=", {"n"}).number("n", 1, 1, 10), ApiQueryError);
  EXPECT_THROW(ApiQuery("n=11", {"n"}).number("n", 1, 1, 10), ApiQueryError);
  EXPECT_THROW(ApiQuery("t=x", {"t"}).isoTime("t"), ApiQueryError);
  try {
    ApiQuery("limt=5", {"limit", "since"});
    FAIL();
  } catch (const ApiQueryError& e) {
    EXPECT_STREQ(e.what(), "unknown parameter 'limt' (takes limit, since)");
  }
}
