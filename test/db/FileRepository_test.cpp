#include "db/FileRepository.h"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>

#include "db/Database.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "test/db/Engines.h"

using namespace bccsink;

namespace {

constexpr std::int64_t kT0 = 1'800'000'000'000;  // ms since the epoch
constexpr std::int64_t kDay = 86'400'000;

db::FileRow file(char fill) {
  db::FileRow f;
  f.sha256 = std::string(64, fill);
  f.md5 = std::string(32, fill);
  f.size = 100;
  f.trueType = "application/vnd.microsoft.portable-executable";
  f.description = "PE32 executable";
  f.family = "pe";
  return f;
}

db::StoredVerdict verdict(char fill, const std::string& analyzer, const std::string& kind,
                          std::int64_t at) {
  db::StoredVerdict v;
  v.sha256 = std::string(64, fill);
  v.analyzer = analyzer;
  v.verdict = kind;
  v.score = kind == "dangerous" ? 100 : 0;
  if (kind == "dangerous") v.threats = {"Win.Test.One", "Second Name"};
  v.reportUrl = kind == "dangerous" ? "https://vx.test/report/1" : "";
  v.decidedAt = "2027-01-15T08:00:00.000Z";
  v.decidedMs = at;
  return v;
}

}  // namespace

class FileRepositoryTest : public test::EngineTest {
 protected:
  db::Database& database = *db_;
  db::FileRepository files{database};
};

TEST_P(FileRepositoryTest, RecordSeenInsertsOnceAndCountsEveryArrival) {
  files.recordSeen({file('a'), file('b')}, "2027-01-15T08:00:00.000Z");
  files.recordSeen({file('a')}, "2027-01-16T08:00:00.000Z");
  auto a = files.find(std::string(64, 'a'));
  ASSERT_TRUE(a);
  EXPECT_EQ(a->md5, std::string(32, 'a'));
  EXPECT_EQ(a->family, "pe");
  EXPECT_EQ(a->seenCount, 2);
  EXPECT_EQ(a->firstSeen, "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(a->lastSeen, "2027-01-16T08:00:00.000Z");
  EXPECT_EQ(files.find(std::string(64, 'b'))->seenCount, 1);
  EXPECT_FALSE(files.find(std::string(64, 'c')));
}

TEST_P(FileRepositoryTest, VerdictsComeBackWithEveryField) {
  files.recordSeen({file('a')}, "2027-01-15T08:00:00.000Z");
  files.recordVerdict(verdict('a', "clamd", "dangerous", kT0));
  auto v = files.freshVerdict(std::string(64, 'a'), "clamd", {}, kT0 + 1);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->verdict, "dangerous");
  EXPECT_EQ(v->score, 100);
  EXPECT_EQ(v->threats, (std::vector<std::string>{"Win.Test.One", "Second Name"}));
  EXPECT_EQ(v->reportUrl, "https://vx.test/report/1");
  EXPECT_EQ(v->decidedMs, kT0);
  EXPECT_FALSE(files.freshVerdict(std::string(64, 'a'), "yara", {}, kT0 + 1));
  // A later answer of the same analyzer replaces the earlier one.
  files.recordVerdict(verdict('a', "clamd", "clean", kT0 + 5));
  EXPECT_EQ(files.freshVerdict(std::string(64, 'a'), "clamd", {}, kT0 + 6)->verdict, "clean");
  EXPECT_EQ(files.verdicts(std::string(64, 'a')).size(), 1u);
}

TEST_P(FileRepositoryTest, CleanVerdictsExpireAfterTheConfiguredAgeBadOnesNever) {
  files.recordSeen({file('a'), file('b'), file('c')}, "2027-01-15T08:00:00.000Z");
  files.recordVerdict(verdict('a', "yara", "clean", kT0));
  files.recordVerdict(verdict('b', "yara", "dangerous", kT0));
  files.recordVerdict(verdict('c', "yara", "unscanned", kT0));
  db::Freshness week{7 * kDay, 300'000};
  auto at = [&](char c, std::int64_t t) {
    return files.freshVerdict(std::string(64, c), "yara", week, t).has_value();
  };
  EXPECT_TRUE(at('a', kT0 + 7 * kDay - 1));
  EXPECT_FALSE(at('a', kT0 + 7 * kDay));
  EXPECT_TRUE(at('b', kT0 + 365 * kDay));
  EXPECT_TRUE(at('c', kT0 + 299'999));
  EXPECT_FALSE(at('c', kT0 + 300'000));
  // 0: clean never expires; unscanned is never reused.
  EXPECT_TRUE(files.freshVerdict(std::string(64, 'a'), "yara", {}, kT0 + 365 * kDay));
  EXPECT_FALSE(files.freshVerdict(std::string(64, 'c'), "yara", {}, kT0 + 1));
}

TEST_P(FileRepositoryTest, OneClaimerSubmitsOthersWaitAndAnExpiredLeaseIsTakenOver) {
  files.recordSeen({file('a')}, "2027-01-15T08:00:00.000Z");
  const std::string sha(64, 'a');
  EXPECT_TRUE(files.claimSubmission(sha, "vxcube", "sink-1", {}, kT0, kT0 + 1000));
  EXPECT_FALSE(files.claimSubmission(sha, "vxcube", "sink-2", {}, kT0 + 10, kT0 + 1010));
  // Another analyzer is another submission.
  EXPECT_TRUE(files.claimSubmission(sha, "clamd", "sink-2", {}, kT0 + 10, kT0 + 1010));
  EXPECT_EQ(files.submissionsInFlight(), 2);
  // sink-1 died: once its lease is over, sink-2 takes the file over.
  EXPECT_TRUE(files.claimSubmission(sha, "vxcube", "sink-2", {}, kT0 + 1001, kT0 + 2001));
  // The verdict ends the submission, and from then on nobody submits.
  files.recordVerdict(verdict('a', "vxcube", "dangerous", kT0 + 1500));
  EXPECT_EQ(files.submissionsInFlight(), 1);
  EXPECT_FALSE(files.claimSubmission(sha, "vxcube", "sink-1", {}, kT0 + 5000, kT0 + 6000));
  EXPECT_EQ(files.releaseSubmissionsOf("sink-2"), 1);
  EXPECT_EQ(files.submissionsInFlight(), 0);
}

TEST_P(FileRepositoryTest, ManySessionsClaimingOneFileAtOnceGiveExactlyOneSubmitter) {
  files.recordSeen({file('a')}, "2027-01-15T08:00:00.000Z");
  std::atomic<int> winners{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      db::Database own(store_.url());  // a Session per thread
      db::FileRepository repo(own);
      for (int round = 0; round < 20; ++round) {
        if (repo.claimSubmission(std::string(64, 'a'), "vxcube", "sink-" + std::to_string(i), {},
                                 kT0, kT0 + 60'000)) {
          ++winners;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(winners.load(), 1);
}

TEST_P(FileRepositoryTest, ALeaseOfASinkThatDiedIsTakenOverByAnotherSinkOnceItRunsOut) {
  const std::string sha(64, 'a');
  files.recordSeen({file('a')}, "2027-01-15T08:00:00.000Z");
  {
    db::Database first(store_.url());
    EXPECT_TRUE(
        db::FileRepository(first).claimSubmission(sha, "vxcube", "sink-1", {}, kT0, kT0 + 1000));
  }  // sink-1 is gone; its submission row stays until the lease ends
  db::Database second(store_.url());
  db::FileRepository other(second);
  EXPECT_FALSE(other.claimSubmission(sha, "vxcube", "sink-2", {}, kT0 + 999, kT0 + 2000));
  EXPECT_FALSE(other.claimSubmission(sha, "vxcube", "sink-2", {}, kT0 + 1000, kT0 + 2000));
  EXPECT_TRUE(other.claimSubmission(sha, "vxcube", "sink-2", {}, kT0 + 1001, kT0 + 2001));
  // Now sink-2's: sink-1 back from the dead cannot take it while sink-2's lease runs,
  // nor release it.
  EXPECT_FALSE(files.claimSubmission(sha, "vxcube", "sink-1", {}, kT0 + 1500, kT0 + 2500));
  files.releaseSubmission(sha, "vxcube", "sink-1");
  EXPECT_EQ(files.submissionsInFlight(), 1);
  files.releaseSubmission(sha, "vxcube", "sink-2");
  EXPECT_EQ(files.submissionsInFlight(), 0);
}

// The verdict cache shared by several sinks: each round, every sink tries to claim the
// file many times while the round's winner records its verdict. Exactly one claim wins a
// round: none after the verdict is in (on PostgreSQL, a claim reading before the verdict's
// commit and upserting after it would win again without the per-file lock). Each round's
// verdict is clean and expires before the next round.
TEST_P(FileRepositoryTest, SinksRacingForOneFileWhileItsVerdictArrivesSubmitItOncePerRound) {
  constexpr int kSinks = 4, kRounds = 25, kTries = 15;
  constexpr std::int64_t kRoundMs = 1000;
  const db::Freshness freshness{kRoundMs / 2, 0};
  const std::string sha(64, 'a');
  files.recordSeen({file('a')}, "2027-01-15T08:00:00.000Z");
  std::vector<std::atomic<int>> wins(kRounds);
  std::atomic<int> lateWins{0};
  std::barrier sync(kSinks);
  std::vector<std::thread> sinks;
  for (int i = 0; i < kSinks; ++i) {
    sinks.emplace_back([&, i] {
      const std::string owner = "sink-" + std::to_string(i);
      try {
        db::Database own(store_.url());  // a sink of its own
        db::FileRepository repo(own);
        for (int round = 0; round < kRounds; ++round) {
          const auto t = kT0 + round * kRoundMs;
          sync.arrive_and_wait();
          for (int n = 0; n < kTries; ++n) {
            if (!repo.claimSubmission(sha, "vxcube", owner, freshness, t, t + 60'000)) continue;
            ++wins[round];
            if (repo.freshVerdict(sha, "vxcube", freshness, t)) ++lateWins;
            repo.recordVerdict(verdict('a', "vxcube", "clean", t));
          }
        }
      } catch (const std::exception& e) {
        ADD_FAILURE() << owner << ": " << e.what();
        sync.arrive_and_drop();  // the others go on without it
      }
    });
  }
  for (auto& t : sinks) t.join();
  for (int round = 0; round < kRounds; ++round) EXPECT_EQ(wins[round].load(), 1) << round;
  EXPECT_EQ(lateWins.load(), 0);
  EXPECT_EQ(files.submissionsInFlight(), 0);
}

TEST_P(FileRepositoryTest, AnalyzersTextIsStoredAsValidUtf8WithoutNulOnBothEngines) {
  auto f = file('a');
  f.description = std::string("PE32\xff exe\0cut", 13);
  f.trueType = std::string("application/x\0y", 15);
  files.recordSeen({f}, "2027-01-15T08:00:00.000Z");
  auto back = files.find(f.sha256);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->description, "PE32\xef\xbf\xbd execut");
  EXPECT_EQ(back->trueType, "application/xy");

  auto v = verdict('a', "vxcube", "dangerous", kT0);
  v.threats = {std::string("Win.\xc3(Bad", 9), std::string("Nul\0Name", 8)};
  v.reason = std::string("signature \xe2\x82 matched\0", 21);
  v.taskId = "t\xfe";
  files.recordVerdict(v);
  auto stored = files.freshVerdict(v.sha256, "vxcube", {}, kT0 + 1);
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->threats, (std::vector<std::string>{"Win.\xef\xbf\xbd(Bad", "NulName"}));
  EXPECT_EQ(stored->reason, "signature \xef\xbf\xbd\xef\xbf\xbd matched");
  EXPECT_EQ(stored->taskId, "t\xef\xbf\xbd");
}

TEST_P(FileRepositoryTest, MessageFilesKeepOrderTypesAndWaitingMessages) {
  db::MessageQueue queue(database);
  db::MessageRecord m;
  m.id = "01M";
  m.sink = "sink-a";
  m.receivedAt = "2027-01-15T08:00:00.000Z";
  m.sha256 = std::string(64, 'f');
  m.spoolFile = "01M.eml";
  queue.insertPending({m});
  ASSERT_TRUE(queue.claimNext("sink-a", kT0 + 60'000, kT0 + 600'000, "2027-01-15T08:00:01Z"));
  files.recordSeen({file('a')}, "2027-01-15T08:00:00.000Z");
  db::MessageFiles mf(database);
  db::MessageFile exe;
  exe.position = 0;
  exe.sha256 = std::string(64, 'a');
  exe.name = "a.exe";
  exe.path = "x.zip > a.exe";
  exe.extension = "exe";
  exe.size = 100;
  exe.selected = true;
  db::MessageFile locked;
  locked.position = 1;
  locked.name = "secret.doc";
  locked.path = "secret.doc";
  locked.extension = "doc";
  locked.extensionMismatch = true;
  locked.verdict = "unscanned";
  locked.reason = "encrypted";
  EXPECT_EQ(queue.find("01M")->extractedAt, "");
  mf.save("01M", {exe, locked}, "part 3: base64 truncated", "2027-01-15T08:00:02.000Z");
  EXPECT_EQ(queue.find("01M")->extractedAt, "2027-01-15T08:00:02.000Z");
  auto back = mf.list("01M");
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].path, "x.zip > a.exe");
  EXPECT_EQ(back[0].family, "pe");
  EXPECT_EQ(back[0].md5, std::string(32, 'a'));
  EXPECT_EQ(back[0].verdict, "");
  EXPECT_EQ(back[1].sha256, "");
  EXPECT_TRUE(back[1].extensionMismatch);
  EXPECT_EQ(back[1].reason, "encrypted");
  EXPECT_EQ(queue.find("01M")->errors, "part 3: base64 truncated");
  EXPECT_EQ(mf.errors("01M"), "part 3: base64 truncated");
  EXPECT_EQ(mf.errors("nope"), "");

  EXPECT_EQ(mf.waitingOn(std::string(64, 'a'), "sink-a"), std::vector<std::string>{"01M"});
  EXPECT_TRUE(mf.waitingOn(std::string(64, 'a'), "sink-b").empty());
  mf.setVerdict("01M", 0, "dangerous", "");
  mf.setVerdict("01M", 0, "clean", "");  // the first verdict stays
  EXPECT_EQ(mf.list("01M")[0].verdict, "dangerous");
  EXPECT_TRUE(mf.waitingOn(std::string(64, 'a'), "sink-a").empty());
  // Saving again (a re-claimed message) replaces the list.
  mf.save("01M", {exe}, "", "t2");
  EXPECT_EQ(mf.list("01M").size(), 1u);
  EXPECT_EQ(queue.find("01M")->errors, "");
  EXPECT_EQ(mf.errors("01M"), "");
}

TEST_P(FileRepositoryTest, AClaimsListsAndVerdictsAreSavedTogether) {
  db::MessageQueue queue(database);
  for (const char* id : {"01A", "01B"}) {
    db::MessageRecord m;
    m.id = id;
    m.sink = "sink-a";
    m.receivedAt = "2027-01-15T08:00:00.000Z";
    m.sha256 = std::string(64, 'f');
    m.spoolFile = std::string(id) + ".eml";
    queue.insertPending({m});
  }
  files.recordSeen({file('a')}, "2027-01-15T08:00:00.000Z");
  db::MessageFiles mf(database);
  db::MessageFile exe;
  exe.sha256 = std::string(64, 'a');
  exe.name = exe.path = "a.exe";
  exe.selected = true;
  db::MessageFile text = exe;
  text.position = 1;
  text.sha256 = "";
  text.name = text.path = "body.txt";
  text.selected = false;
  mf.save({{"01A", {exe, text}, "part 2: truncated"}}, "t0");
  mf.save({{"01A", {exe}, ""}, {"01B", {exe, text}, "x"}}, "t1");  // 01A's list replaced
  EXPECT_EQ(mf.list("01A").size(), 1u);
  EXPECT_EQ(mf.list("01B").size(), 2u);
  EXPECT_EQ(mf.errors("01A"), "");
  EXPECT_EQ(mf.errors("01B"), "x");
  EXPECT_EQ(queue.find("01B")->extractedAt, "t1");
  mf.setVerdicts({{"01A", 0, "dangerous", "yara: eicar"}, {"01B", 0, "clean", ""}});
  mf.setVerdicts({{"01A", 0, "clean", ""}});  // the first verdict stays
  EXPECT_EQ(mf.list("01A")[0].verdict, "dangerous");
  EXPECT_EQ(mf.list("01A")[0].reason, "yara: eicar");
  EXPECT_EQ(mf.list("01B")[0].verdict, "clean");
  EXPECT_EQ(mf.list("01B")[1].verdict, "");
}

BCCSINK_ON_BOTH_ENGINES(FileRepositoryTest);
