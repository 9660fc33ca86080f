#include "sink/smtp/Ulid.h"

#include <gtest/gtest.h>

#include <set>

using namespace std::chrono;

TEST(Ulid, HasTwentySixCrockfordCharacters) {
  auto id = bccsink::newUlid();
  ASSERT_EQ(id.size(), 26u);
  EXPECT_EQ(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), std::string::npos);
}

TEST(Ulid, EncodesTheTimestampSoIdsSortByTime) {
  system_clock::time_point t0{milliseconds(1469918176385)};  // the spec's example time
  EXPECT_EQ(bccsink::newUlid(t0).substr(0, 10), "01ARYZ6S41");
  EXPECT_LT(bccsink::newUlid(t0), bccsink::newUlid(t0 + milliseconds(1)));
}

TEST(Ulid, IsUniqueWithinOneMillisecond) {
  system_clock::time_point t{milliseconds(1700000000000)};
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.insert(bccsink::newUlid(t));
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(Ulid, IsoTimeIsUtcWithMilliseconds) {
  system_clock::time_point t{milliseconds(1764043518123)};
  EXPECT_EQ(bccsink::isoTime(t), "2025-11-25T04:05:18.123Z");
}
