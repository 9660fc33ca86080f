// RecheckStage: a changed generation re-checks the kept files of the window with that
// analyzer alone, newest first, at the rate asked, from where a previous run stopped; an
// unchanged one re-checks nothing; an answer that turned makes a retro-alert.

#include "sandbox/retro/RecheckStage.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "db/FileRepository.h"
#include "db/RetroAlerts.h"
#include "test/sandbox/retro/RetroTesting.h"

using namespace bccsink;
using namespace std::chrono_literals;

namespace {

// An analyzer whose answers the test sets: the files listed in `bad` are dangerous.
class FakeAnalyzer : public sandbox::BlockingAnalyzer {
 public:
  explicit FakeAnalyzer(std::string name = "yara") : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  sandbox::Verdict scan(const sandbox::Submission& file, std::stop_token) override {
    std::lock_guard lock(mu);
    scanned.push_back(file.sha256);
    sandbox::Verdict v;
    v.analyzer = name_;
    v.kind = bad.count(file.sha256) ? sandbox::VerdictKind::Dangerous : sandbox::VerdictKind::Clean;
    if (bad.count(file.sha256)) v.threats = {"New_Rule"};
    return v;
  }
  std::mutex mu;
  std::vector<std::string> scanned;
  std::set<std::string> bad;

 private:
  std::string name_;
};

struct Fixture {
  test::RetroWorld world;
  std::shared_ptr<FakeAnalyzer> yara = std::make_shared<FakeAnalyzer>();
  std::string generation = "rules-1";
  sandbox::RetroJudge judge{[] {
    sandbox::RetroSettings s;
    s.sink = "sink-a";
    s.window = std::chrono::hours(24);
    int n = 0;
    s.newId = [n]() mutable { return "01ALERT" + std::to_string(++n); };
    return s;
  }()};

  std::shared_ptr<FakeAnalyzer> list = std::make_shared<FakeAnalyzer>("hashlist");
  std::string listGeneration = "list-1";
  bool withList = false;

  std::unique_ptr<sandbox::RecheckStage> stage(double rate = 100000) {
    sandbox::RecheckSettings s;
    s.databaseUrl = world.url();
    s.sink = "sink-a";
    s.window = std::chrono::hours(24);
    s.rate = rate;
    s.batch = 2;  // several batches in every test
    sandbox::RecheckAnalyzer a;
    a.name = "yara";
    a.cause = sandbox::RetroCause::RulesReload;
    a.analyzer = yara;
    a.generation = [this] { return generation; };
    std::vector<sandbox::RecheckAnalyzer> all{a};
    if (withList) {
      sandbox::RecheckAnalyzer l;
      l.name = "hashlist";
      l.cause = sandbox::RetroCause::HashList;
      l.analyzer = list;
      l.generation = [this] { return listGeneration; };
      l.keptOnly = false;
      all.push_back(l);
    }
    return std::make_unique<sandbox::RecheckStage>(s, world.store(), judge, all);
  }
};

}  // namespace

TEST(RecheckStageTest, AnUnchangedGenerationRechecksNothing) {
  Fixture f;
  f.world.message("01A", 5, test::digestOf('a'));
  auto stage = f.stage();
  EXPECT_FALSE(stage->runOnceForTest(f.world.db(), 100));  // the first one is only stored
  EXPECT_EQ(db::RetroAlerts(f.world.db()).generation("sink-a", "yara")->generation, "rules-1");
  auto again = f.stage();  // a restart with the same rules
  EXPECT_FALSE(again->runOnceForTest(f.world.db(), 100));
  EXPECT_TRUE(f.yara->scanned.empty());
}

TEST(RecheckStageTest, NewRulesRecheckKeptFilesNewestFirstAndAlertOnWhatTurned) {
  Fixture f;
  f.world.message("01A", 30, test::digestOf('a'));
  f.world.message("01B", 20, test::digestOf('b'));
  f.world.message("01C", 10, test::digestOf('c'));
  f.world.message("01D", 5, test::digestOf('d'), "clean", "sink-a", false);  // bytes gone
  f.world.message("01E", 60 * 25, test::digestOf('e'));                      // before the window
  f.world.message("01F", 3, test::digestOf('f'), "clean", "sink-b");         // another sink's
  // clamd's clean verdict on b stays whatever YARA now says.
  db::StoredVerdict clamd;
  clamd.sha256 = test::digestOf('b');
  clamd.analyzer = "clamd";
  clamd.verdict = "clean";
  clamd.decidedAt = isoNow();
  db::FileRepository(f.world.db()).recordVerdict(clamd);
  auto stage = f.stage();
  stage->runOnceForTest(f.world.db(), 100);
  f.generation = "rules-2";
  f.yara->bad = {test::digestOf('b')};
  while (stage->runOnceForTest(f.world.db(), 100)) {
  }
  EXPECT_EQ(f.yara->scanned, (std::vector<std::string>{test::digestOf('c'), test::digestOf('b'),
                                                       test::digestOf('a')}));
  EXPECT_EQ(stage->filesRechecked().front().second, 3u);
  EXPECT_EQ(stage->pendingFiles(), 0);
  EXPECT_EQ(f.world.scalar("SELECT cause || ' ' || msg_id FROM retro_alerts"
                           " JOIN retro_messages ON alert_id = id"),
            "rules-reload 01B");
  EXPECT_EQ(f.judge.alerts(sandbox::RetroCause::RulesReload), 1u);
  auto verdicts = db::FileRepository(f.world.db()).verdicts(test::digestOf('b'));
  ASSERT_EQ(verdicts.size(), 2u);
  EXPECT_EQ(verdicts[0].analyzer + " " + verdicts[0].verdict, "clamd clean");
  EXPECT_EQ(verdicts[1].analyzer + " " + verdicts[1].verdict, "yara dangerous");
  EXPECT_FALSE(db::RetroAlerts(f.world.db()).generation("sink-a", "yara")->cursor);
}

TEST(RecheckStageTest, ARestartGoesOnFromTheCursor) {
  Fixture f;
  for (char c : std::string("abcde"))
    f.world.message(std::string("01") + c, 50 - (c - 'a'), test::digestOf(c));
  f.stage()->runOnceForTest(f.world.db(), 100);
  f.generation = "rules-2";
  f.stage()->runOnceForTest(f.world.db(), 2);  // then "stopped"
  EXPECT_EQ(f.yara->scanned, (std::vector<std::string>{test::digestOf('e'), test::digestOf('d')}));
  auto restarted = f.stage();
  while (restarted->runOnceForTest(f.world.db(), 100)) {
  }
  EXPECT_EQ(f.yara->scanned,
            (std::vector<std::string>{test::digestOf('e'), test::digestOf('d'), test::digestOf('c'),
                                      test::digestOf('b'), test::digestOf('a')}));
}

TEST(RecheckStageTest, TheRateBoundsFilesPerSecond) {
  Fixture f;
  for (int i = 0; i < 10; ++i)
    f.world.message("01M" + std::to_string(i), 10 + i, test::digestOf(static_cast<char>('0' + i)));
  auto stage = f.stage(20);  // 20 files/s: 10 files take at least 0.45 s
  stage->runOnceForTest(f.world.db(), 100);
  f.generation = "rules-2";
  const auto start = std::chrono::steady_clock::now();
  while (stage->runOnceForTest(f.world.db(), 100)) {
  }
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(f.yara->scanned.size(), 10u);
  EXPECT_GE(took, 440ms);
  EXPECT_LT(took, 3s);
}

TEST(RecheckStageTest, TheThreadRechecksAfterWake) {
  Fixture f;
  f.world.message("01A", 5, test::digestOf('a'));
  auto stage = f.stage();
  stage->start();
  // The first generation gets stored by the thread.
  for (int i = 0; i < 200 && !db::RetroAlerts(f.world.db()).generation("sink-a", "yara"); ++i)
    std::this_thread::sleep_for(10ms);
  f.yara->bad = {test::digestOf('a')};
  f.generation = "rules-2";
  stage->wake();
  for (int i = 0; i < 300 && f.judge.alerts(sandbox::RetroCause::RulesReload) == 0; ++i)
    std::this_thread::sleep_for(10ms);
  stage->stop();
  EXPECT_EQ(f.judge.alerts(sandbox::RetroCause::RulesReload), 1u);
  EXPECT_EQ(f.world.scalar("SELECT verdict FROM messages WHERE id = '01A'"), "dangerous");
}

TEST(RecheckStageTest, TwoAnalyzersChangedAtOnceEachGoThroughTheirFiles) {
  Fixture f;
  f.withList = true;
  f.world.message("01A", 20, test::digestOf('a'));
  f.world.message("01B", 10, test::digestOf('b'), "clean", "sink-a", false);  // bytes gone
  auto stage = f.stage();
  stage->runOnceForTest(f.world.db(), 100);
  f.generation = "rules-2";
  f.listGeneration = "list-2";
  f.list->bad = {test::digestOf('b')};
  while (stage->runOnceForTest(f.world.db(), 1)) {  // one file a round, YARA then the list
  }
  EXPECT_EQ(f.yara->scanned, std::vector<std::string>{test::digestOf('a')});
  // The hash list needs no bytes: the file whose content went is looked up too.
  EXPECT_EQ(f.list->scanned, (std::vector<std::string>{test::digestOf('b'), test::digestOf('a')}));
  EXPECT_EQ(f.judge.alerts(sandbox::RetroCause::HashList), 1u);
  EXPECT_EQ(f.world.scalar("SELECT verdict FROM messages WHERE id = '01B'"), "dangerous");
}
