// One client's deadlines on an injected clock: the session's whole time, the minimum
// data rate over a command line (a line trickled a byte at a time, or lines begun back
// to back) and over DATA after the grace, the send timeout, and the idle timeouts as
// before. Slowloris (one byte every few seconds) is cut after the grace; a fast client
// never is.

#include "sink/smtp/ClientDeadlines.h"

#include <gtest/gtest.h>

namespace bccsink {
namespace {

using namespace std::chrono_literals;
using Expired = ClientDeadlines::Expired;
using Clock = ClientDeadlines::Clock;

ClientLimits bounded() {
  ClientLimits l;
  l.commandTimeout = 300s;
  l.dataTimeout = 180s;
  l.sessionTimeout = 1800s;
  l.minDataRate = 500;
  l.sendTimeout = 120s;
  return l;
}

TEST(ClientDeadlines, NothingExpiresForAClientThatKeepsPace) {
  auto t0 = Clock::now();
  ClientDeadlines d(bounded(), t0);
  for (int s = 1; s < 100; ++s) {
    auto now = t0 + std::chrono::seconds(s);
    d.progress(now, true);
    d.received(now, 2000, true);  // DATA at 2000 bytes/s
    ASSERT_EQ(d.check(now, true), Expired::None) << s << " s";
  }
}

TEST(ClientDeadlines, ALineTrickledAByteEveryFewSecondsIsCutAfterTheGrace) {
  auto t0 = Clock::now();
  ClientDeadlines d(bounded(), t0);
  Clock::time_point cut{};
  for (int s = 0; s <= 60 && cut == Clock::time_point{}; s += 3) {
    auto now = t0 + std::chrono::seconds(s);
    d.progress(now, false);  // each byte resets the idle time: idle alone never ends it
    d.received(now, 1, true);
    for (auto at = now; at < now + 3s; at += 100ms) {
      if (d.check(at, true) == Expired::Slow) {
        cut = at;
        break;
      }
    }
  }
  ASSERT_NE(cut, Clock::time_point{}) << "a trickled line kept the session";
  EXPECT_GE(cut - t0, 10s);
  EXPECT_LT(cut - t0, 11s);
}

TEST(ClientDeadlines, CommandLinesBegunBackToBackAreOneSpan) {
  // "N", "OOP\r\nN", "OOP\r\nN", ...: each read ends a line and begins the next; the
  // session is never between lines, so its few bytes are averaged over the whole time.
  auto t0 = Clock::now();
  ClientDeadlines d(bounded(), t0);
  Expired last = Expired::None;
  for (int s = 0; s <= 30 && last == Expired::None; s += 4) {
    auto now = t0 + std::chrono::seconds(s);
    d.received(now, s == 0 ? 1 : 6, true);
    d.progress(now, false);
    last = d.check(now + 3s, true);
  }
  EXPECT_EQ(last, Expired::Slow);
}

TEST(ClientDeadlines, AWholeLineEndsTheSpanAndSilenceIsTheIdleTimeoutsBusiness) {
  auto t0 = Clock::now();
  ClientDeadlines d(bounded(), t0);
  d.received(t0, 3, true);        // "NOO"
  d.received(t0 + 1s, 3, false);  // "P\r\n": answered, nothing begun
  d.progress(t0 + 1s, false);
  EXPECT_EQ(d.check(t0 + 200s, true), Expired::None);
  EXPECT_EQ(d.check(t0 + 301s, true), Expired::Idle);
}

TEST(ClientDeadlines, DataSlowerThanTheRateIsCutOnceTheGraceIsSpent) {
  auto t0 = Clock::now();
  ClientDeadlines d(bounded(), t0);
  // 100 bytes/s against 500: behind once 100 t < 500 (t - 10), after 12.5 s.
  Expired at12 = Expired::None, at13 = Expired::None;
  for (int tenth = 1; tenth <= 130; ++tenth) {
    auto now = t0 + std::chrono::milliseconds(100 * tenth);
    d.received(now, 10, true);
    if (tenth == 120) at12 = d.check(now, true);
    if (tenth == 130) at13 = d.check(now, true);
  }
  EXPECT_EQ(at12, Expired::None);
  EXPECT_EQ(at13, Expired::Slow);
}

TEST(ClientDeadlines, TheRateIsNotCheckedWhileTheConnectionIsNotReading) {
  auto t0 = Clock::now();
  ClientDeadlines d(bounded(), t0);
  d.received(t0, 1, true);
  EXPECT_EQ(d.check(t0 + 20s, false), Expired::None);
  EXPECT_EQ(d.check(t0 + 20s, true), Expired::Slow);
  // After a commit (the store's time, not the client's) a begun line is timed anew.
  d.resumed(t0 + 20s, true);
  EXPECT_EQ(d.check(t0 + 25s, true), Expired::None);
  EXPECT_EQ(d.check(t0 + 31s, true), Expired::Slow);
}

TEST(ClientDeadlines, TheSessionEndsOnTimeHoweverBusy) {
  auto t0 = Clock::now();
  ClientDeadlines d(bounded(), t0);
  for (int s = 0; s < 1800; s += 10) {
    d.progress(t0 + std::chrono::seconds(s), false);
    d.received(t0 + std::chrono::seconds(s), 20, false);
  }
  EXPECT_EQ(d.check(t0 + 1799s, true), Expired::None);
  EXPECT_EQ(d.check(t0 + 1800s, true), Expired::Session);
  EXPECT_EQ(d.check(t0 + 1800s, false), Expired::Session);
}

TEST(ClientDeadlines, RepliesUnsentTooLongExpireAlthoughSomeGoOut) {
  auto t0 = Clock::now();
  ClientDeadlines d(bounded(), t0);
  d.unsent(t0 + 1s, true);
  d.progress(t0 + 60s, false);  // a few bytes taken: still not read as it should
  d.unsent(t0 + 60s, true);
  EXPECT_EQ(d.check(t0 + 120s, false), Expired::None);
  EXPECT_EQ(d.check(t0 + 121s, false), Expired::Send);
  d.unsent(t0 + 121s, false);  // all taken at last
  EXPECT_EQ(d.check(t0 + 125s, false), Expired::None);
}

TEST(ClientDeadlines, ZeroMeansNoBoundAndTheIdleTimeoutsStayAsTheyWere) {
  ClientLimits l;  // the defaults of ServerSettings: no session, rate or send bound
  l.commandTimeout = 10s;
  l.dataTimeout = 5s;
  auto t0 = Clock::now();
  ClientDeadlines d(l, t0);
  d.unsent(t0, true);
  d.received(t0, 1, true);
  d.progress(t0, true);
  EXPECT_EQ(d.check(t0 + 4s, true), Expired::None);
  EXPECT_EQ(d.check(t0 + 5s, true), Expired::Idle);
  d.progress(t0 + 5s, false);
  EXPECT_EQ(d.check(t0 + 14s, true), Expired::None);
  EXPECT_EQ(d.check(t0 + 15s, true), Expired::Idle);
}

}  // namespace
}  // namespace bccsink
