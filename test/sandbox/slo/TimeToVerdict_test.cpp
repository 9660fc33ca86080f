// sandbox/slo/TimeToVerdict: the received time read from a copy's ULID, the histogram by
// verdict (failed copies apart), and the SLO window it feeds.

#include "sandbox/slo/TimeToVerdict.h"

#include <gtest/gtest.h>

#include <cctype>

#include "sink/smtp/Ulid.h"

namespace bccsink::sandbox {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kT0 = 1'796'011'200'000;  // 2026-11-30T04:00:00.000Z

std::string lowerCopy(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(TimeToVerdict, ReadsTheReceivedTimeFromTheUlid) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(kT0 + 123));
  EXPECT_EQ(TimeToVerdict::ulidTimeMs(newUlid(t)), kT0 + 123);
  EXPECT_EQ(TimeToVerdict::ulidTimeMs(lowerCopy(newUlid(t))), kT0 + 123);
  EXPECT_EQ(TimeToVerdict::ulidTimeMs("01A"), 0);                         // too short
  EXPECT_EQ(TimeToVerdict::ulidTimeMs("01JDUMMYUUUUUUUUUUUUUUUUUU"), 0);  // U: not base32
  EXPECT_EQ(TimeToVerdict::ulidTimeMs("81JD0000000000000000000000"), 0);  // past 48 bits
}

TEST(TimeToVerdict, CountsEachCopyByVerdictWithFailedApart) {
  TimeToVerdict ttv(15min);
  auto before = ttv.histograms();
  for (const char* label : {"clean", "suspicious", "dangerous", "unscanned", "failed"}) {
    ASSERT_TRUE(before.count(label)) << label;
    EXPECT_EQ(before[label].count, 0u);
  }
  const auto id = newUlid(std::chrono::system_clock::time_point(std::chrono::milliseconds(kT0)));
  ttv.finished(id, "clean", false, kT0 + 3'000);         // 3 s
  ttv.finished(id, "clean", false, kT0 + 1'000'000);     // 1000 s
  ttv.finished(id, "unscanned", true, kT0 + 2'000);      // failed: its own label
  ttv.finished("not-a-ulid", "clean", false, kT0 + 10);  // not observed
  auto h = ttv.histograms();
  EXPECT_EQ(h["clean"].count, 2u);
  EXPECT_DOUBLE_EQ(h["clean"].sum, 1003.0);
  EXPECT_EQ(h["clean"].counts[1], 1u);  // (1, 5]
  EXPECT_EQ(h["clean"].counts[9], 1u);  // (900, 1800]
  EXPECT_EQ(h["unscanned"].count, 0u);
  EXPECT_EQ(h["failed"].count, 1u);
  // The SLO: 3 s within; 1000 s late; failed late.
  auto r = ttv.slo().completions(kT0 + 20 * 60'000);
  EXPECT_EQ(r.within, 1u);
  EXPECT_EQ(r.late, 2u);
}

}  // namespace
}  // namespace bccsink::sandbox
