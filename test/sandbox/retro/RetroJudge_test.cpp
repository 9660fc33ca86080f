// RetroJudge: a stored suspicious or dangerous verdict judges again the messages of the
// window, once, with one log notice, a count by cause and the report woken; a clean one,
// or retro-alerts off, does nothing.

#include "sandbox/retro/RetroJudge.h"

#include <gtest/gtest.h>

#include "test/LogCapture.h"
#include "test/sandbox/retro/RetroTesting.h"

using namespace bccsink;
using sandbox::RetroCause;

namespace {

sandbox::RetroSettings settings(std::chrono::seconds window = std::chrono::hours(24)) {
  sandbox::RetroSettings s;
  s.sink = "sink-a";
  s.window = window;
  s.threshold = "suspicious";
  int n = 0;
  s.newId = [n]() mutable { return "01ALERT" + std::to_string(++n); };
  return s;
}

db::StoredVerdict stored(const std::string& sha256, const std::string& verdict) {
  db::StoredVerdict v;
  v.sha256 = sha256;
  v.analyzer = "vxcube";
  v.verdict = verdict;
  v.threats = {"Trojan.Generic"};
  return v;
}

}  // namespace

TEST(RetroJudgeTest, ALateDangerousAnswerMakesOneAlertLoggedCountedAndAnnounced) {
  test::RetroWorld w;
  w.message("01OLD", 60 * 25, test::digestOf('a'), "clean");  // outside the day's window
  w.message("01NEW", 5, test::digestOf('a'), "unscanned");
  test::LogCapture log("bccsink.retro");
  sandbox::RetroJudge judge(settings());
  int woken = 0;
  judge.onAlert([&](const db::RetroOutcome& o) {
    ++woken;
    EXPECT_EQ(o.messages, 1);
  });
  auto out = judge.judge(w.db(), stored(test::digestOf('a'), "dangerous"), RetroCause::LateAnswer);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->alertId, "01ALERT1");
  EXPECT_TRUE(out->due);
  EXPECT_EQ(woken, 1);
  EXPECT_EQ(judge.alerts(RetroCause::LateAnswer), 1u);
  EXPECT_EQ(judge.alerts(RetroCause::RulesReload), 0u);
  EXPECT_EQ(log.count("retro: " + test::digestOf('a') +
                      " now dangerous (vxcube: Trojan.Generic), 1 messages judged again, alert "
                      "01ALERT1"),
            1)
      << log.all();
  EXPECT_EQ(w.scalar("SELECT cause || ' ' || report_status FROM retro_alerts"), "late-answer due");
  EXPECT_EQ(w.scalar("SELECT msg_id FROM retro_messages"), "01NEW");
  // The same answer again (another sink, a retry): nothing left to judge.
  EXPECT_FALSE(
      judge.judge(w.db(), stored(test::digestOf('a'), "dangerous"), RetroCause::LateAnswer));
  EXPECT_EQ(woken, 1);
}

TEST(RetroJudgeTest, CleanAndUnscannedAnswersJudgeNothing) {
  test::RetroWorld w;
  w.message("01A", 5, test::digestOf('a'), "clean");
  sandbox::RetroJudge judge(settings());
  EXPECT_FALSE(judge.judge(w.db(), stored(test::digestOf('a'), "clean"), RetroCause::LateAnswer));
  // An analyzer that failed on the file later does not make clean messages unscanned.
  EXPECT_FALSE(
      judge.judge(w.db(), stored(test::digestOf('a'), "unscanned"), RetroCause::LateAnswer));
  EXPECT_EQ(w.scalar("SELECT verdict FROM messages"), "clean");
}

TEST(RetroJudgeTest, AWindowOfZeroTurnsItOff) {
  test::RetroWorld w;
  w.message("01A", 5, test::digestOf('a'), "clean");
  sandbox::RetroJudge judge(settings(std::chrono::seconds(0)));
  EXPECT_FALSE(judge.enabled());
  EXPECT_FALSE(
      judge.judge(w.db(), stored(test::digestOf('a'), "dangerous"), RetroCause::LateAnswer));
  EXPECT_EQ(w.scalar("SELECT CAST(COUNT(*) AS TEXT) FROM retro_alerts"), "0");
}
