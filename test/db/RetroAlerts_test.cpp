// Retro-alerts' write side on both engines: which messages a worse verdict judges again
// (the window, judged ones only, not those as bad already, any sink's), the threshold
// crossing that makes the report due, and the analyzer generations with their cursor.

#include "db/RetroAlerts.h"

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <thread>

#include "db/FileRepository.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;

namespace {

const std::string kFile(64, 'f');
const std::string kOther(64, 'e');

}  // namespace

class RetroAlertsTest : public test::EngineTest {
 protected:
  db::MessageQueue queue{database()};
  db::MessageFiles files{database()};
  db::FileRepository cache{database()};
  db::RetroAlerts retro{database()};

  void SetUp() override {
    cache.recordSeen({{kFile, "m1", 10, "application/x-dosexec", "PE", "executable"},
                      {kOther, "m2", 10, "text/plain", "text", "text"}},
                     "2026-12-01T00:00:00.000Z");
  }

  // A message of `sink` received at `at` carrying kFile (and kOther), judged `state` with
  // the file's verdict `fileVerdict` and its own `msgVerdict` ('' = not judged yet).
  void message(const std::string& id, const std::string& at, const std::string& fileVerdict,
               const std::string& msgVerdict, const std::string& state = "reported",
               const std::string& sink = "sink-a", bool kept = true) {
    queue.insertPending({test::sampleRecord(id, at, sink)});
    db::MessageFile f;
    f.position = 0;
    f.sha256 = kFile;
    f.name = "a.exe";
    f.path = "x.zip > a.exe";
    f.extension = "exe";
    f.size = 10;
    f.selected = true;
    f.verdict = fileVerdict;
    db::MessageFile g = f;
    g.position = 1;
    g.sha256 = kOther;
    g.name = g.path = "b.txt";
    files.save(id, {f, g}, "", at);
    std::string s = state, v = msgVerdict, i = id;
    if (!msgVerdict.empty()) {
      database().session() << database().sql(
          "UPDATE messages SET state = ?, verdict = ?, checked_at = received_at WHERE id = ?"),
          use(s), use(v), use(i), now;
    }
    if (fileVerdict.empty()) {
      database().session() << database().sql(
          "UPDATE message_files SET verdict = NULL WHERE msg_id = ?"),
          use(i), now;
    }
    if (!kept) {
      database().session() << database().sql(
          "UPDATE messages SET content_expired_at = received_at WHERE id = ?"),
          use(i), now;
    }
  }

  db::WorseVerdict change(const std::string& verdict = "dangerous",
                          const std::string& threshold = "suspicious") {
    db::WorseVerdict w;
    w.alertId = "01ALERT" + std::to_string(++alerts_);
    w.sha256 = kFile;
    w.analyzer = "yara";
    w.verdict = verdict;
    w.threats = {"EICAR_Test"};
    w.cause = "rules-reload";
    w.windowStartIso = "2026-12-01T00:00:00.000Z";
    w.threshold = threshold;
    w.sink = "sink-a";
    w.nowIso = "2026-12-06T00:00:00.000Z";
    w.nowMs = 1'800'000'000'000;
    return w;
  }

  std::string scalar(const std::string& q) {
    std::string out;
    database().session() << q, into(out), now;
    return out;
  }

  int alerts_ = 0;
};

TEST_P(RetroAlertsTest, JudgesAgainTheMessagesOfTheWindowThatCarriedTheFile) {
  message("01OLD", "2026-11-30T23:59:59.000Z", "clean", "clean");  // before the window
  message("01IN", "2026-12-02T10:00:00.000Z", "clean", "clean");
  auto out = retro.recordWorse(change());
  ASSERT_TRUE(out);
  EXPECT_EQ(out->alertId, "01ALERT1");
  EXPECT_EQ(out->messages, 1);
  EXPECT_TRUE(out->due);
  EXPECT_EQ(queue.find("01IN")->verdict, "dangerous");
  EXPECT_EQ(queue.find("01OLD")->verdict, "clean");
  auto list = files.list("01IN");
  EXPECT_EQ(list[0].verdict, "dangerous");
  EXPECT_EQ(list[0].reason, "retro: yara EICAR_Test");
  EXPECT_EQ(list[1].verdict, "clean");  // the other file stays
  EXPECT_EQ(scalar("SELECT report_status FROM retro_alerts WHERE id = '01ALERT1'"), "due");
  EXPECT_EQ(scalar("SELECT cause || ' ' || sink || ' ' || verdict || ' ' || threats"
                   " FROM retro_alerts"),
            "rules-reload sink-a dangerous EICAR_Test");
  EXPECT_EQ(scalar("SELECT msg_id || ' ' || earlier_verdict || ' ' || earlier_checked_at || ' '"
                   " || verdict || ' ' || file_path FROM retro_messages"),
            "01IN clean 2026-12-02T10:00:00.000Z dangerous x.zip > a.exe");
}

TEST_P(RetroAlertsTest, NoMessageAffectedMeansNoAlertRow) {
  message("01BAD", "2026-12-02T10:00:00.000Z", "dangerous", "dangerous");  // as bad already
  message("01WAIT", "2026-12-02T11:00:00.000Z", "", "");                   // analysis outstanding
  EXPECT_FALSE(retro.recordWorse(change()));
  EXPECT_EQ(scalar("SELECT CAST(COUNT(*) AS TEXT) FROM retro_alerts"), "0");
  EXPECT_EQ(files.list("01WAIT")[0].verdict, "");
  EXPECT_EQ(queue.find("01BAD")->verdict, "dangerous");
}

TEST_P(RetroAlertsTest, MessagesStillAnalysedTakeTheNewFileVerdictWithoutAnAlert) {
  // The file decided but the message not yet checked (state analyzing): its completion
  // takes the worst of its files, so the file's verdict becomes the new one; no alert.
  message("01ANA", "2026-12-02T10:00:00.000Z", "clean", "clean", "analyzing");
  EXPECT_FALSE(retro.recordWorse(change()));
  auto list = files.list("01ANA");
  EXPECT_EQ(list[0].verdict, "dangerous");
  EXPECT_EQ(list[0].reason, "retro: yara EICAR_Test");
  EXPECT_EQ(list[1].verdict, "clean");  // the other file stays
  EXPECT_EQ(scalar("SELECT CAST(COUNT(*) AS TEXT) FROM retro_alerts"), "0");
}

TEST_P(RetroAlertsTest, TheReportIsDueOnlyWhenAMessageCrossesOrWorsensAtTheThreshold) {
  // dangerous threshold, the file now suspicious: a clean message does not cross it.
  message("01A", "2026-12-02T10:00:00.000Z", "clean", "clean");
  auto out = retro.recordWorse(change("suspicious", "dangerous"));
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->due);
  EXPECT_EQ(scalar("SELECT report_status FROM retro_alerts"), "none");
  EXPECT_EQ(queue.find("01A")->verdict, "suspicious");
  // Now dangerous: suspicious -> dangerous crosses it.
  out = retro.recordWorse(change("dangerous", "dangerous"));
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->due);
  // At/above the threshold and worse: suspicious threshold, unscanned -> dangerous.
  message("01B", "2026-12-03T10:00:00.000Z", "unscanned", "unscanned");
  out = retro.recordWorse(change("dangerous", "unscanned"));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->messages, 1);  // 01A is dangerous already
  EXPECT_TRUE(out->due);
  EXPECT_EQ(scalar("SELECT earlier_verdict FROM retro_messages WHERE msg_id = '01B'"), "unscanned");
}

TEST_P(RetroAlertsTest, AMessageDangerousByAnotherFileIsJudgedAgainWithoutAReport) {
  message("01A", "2026-12-02T10:00:00.000Z", "clean", "dangerous");
  auto out = retro.recordWorse(change("suspicious"));
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->due);  // the message stays dangerous: nothing new to say
  EXPECT_EQ(queue.find("01A")->verdict, "dangerous");
  EXPECT_EQ(files.list("01A")[0].verdict, "suspicious");
}

TEST_P(RetroAlertsTest, MessagesOfEverySinkAreJudgedOnceByTheSinkThatFoundTheChange) {
  message("01A", "2026-12-02T10:00:00.000Z", "clean", "clean", "reported", "sink-a");
  message("01B", "2026-12-02T11:00:00.000Z", "unscanned", "unscanned", "failed", "sink-b");
  auto first = retro.recordWorse(change());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->messages, 2);
  // The other sink records the same change: nothing left to judge, no second alert.
  auto second = change();
  second.sink = "sink-b";
  EXPECT_FALSE(retro.recordWorse(second));
  EXPECT_EQ(scalar("SELECT CAST(COUNT(*) AS TEXT) || ' ' || MIN(sink) FROM retro_alerts"),
            "1 sink-a");
}

TEST_P(RetroAlertsTest, TwoSinksAtOnceMakeOneAlert) {
  for (int i = 0; i < 20; ++i)
    message("01M" + std::to_string(10 + i), "2026-12-02T10:00:" + std::to_string(10 + i) + ".000Z",
            "clean", "clean", "reported", i % 2 ? "sink-a" : "sink-b");
  auto run = [this](const std::string& sink, const std::string& id) {
    auto d = store_.open();
    db::RetroAlerts r(*d);
    auto w = change();
    w.sink = sink;
    w.alertId = id;
    return r.recordWorse(w);
  };
  std::optional<db::RetroOutcome> a, b;
  std::thread ta([&] { a = run("sink-a", "01X"); });
  std::thread tb([&] { b = run("sink-b", "01Y"); });
  ta.join();
  tb.join();
  EXPECT_NE(a.has_value(), b.has_value());
  EXPECT_EQ(scalar("SELECT CAST(COUNT(*) AS TEXT) FROM retro_alerts"), "1");
  EXPECT_EQ(scalar("SELECT CAST(COUNT(*) AS TEXT) FROM retro_messages"), "20");
}

TEST_P(RetroAlertsTest, GenerationsAndCursorsAreKeptPerSinkAndAnalyzer) {
  EXPECT_FALSE(retro.generation("sink-a", "yara"));
  retro.setGeneration("sink-a", "yara", {"digest1", 1000, std::nullopt});
  auto g = retro.generation("sink-a", "yara");
  ASSERT_TRUE(g);
  EXPECT_EQ(g->generation, "digest1");
  EXPECT_EQ(g->changedMs, 1000);
  EXPECT_FALSE(g->cursor);
  retro.setGeneration("sink-a", "yara", {"digest2", 2000, std::string()});
  EXPECT_EQ(retro.generation("sink-a", "yara")->cursor, std::string());
  retro.setCursor("sink-a", "yara", std::string("2026-12-02T10:00:00.000Z/abc"));
  EXPECT_EQ(retro.generation("sink-a", "yara")->cursor, "2026-12-02T10:00:00.000Z/abc");
  EXPECT_FALSE(retro.generation("sink-b", "yara"));
  retro.setCursor("sink-a", "yara", std::nullopt);
  EXPECT_FALSE(retro.generation("sink-a", "yara")->cursor);
}

TEST_P(RetroAlertsTest, RecheckBatchesGoNewestFirstFromTheCursor) {
  message("01A", "2026-12-02T10:00:00.000Z", "clean", "clean");
  message("01B", "2026-12-03T10:00:00.000Z", "clean", "clean");
  message("01C", "2026-12-04T10:00:00.000Z", "clean", "clean", "reported", "sink-b");
  const std::string since = "2026-12-01T00:00:00.000Z";
  // 01B's files, then 01A's; each file's cursor is its message's.
  auto first = retro.recheckBatch("sink-a", since, "", 1, true);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].sha256, kFile);
  EXPECT_EQ(first[1].sha256, kOther);
  EXPECT_EQ(first[1].cursor, "2026-12-03T10:00:00.000Z/01B");
  EXPECT_EQ(retro.recheckRemaining("sink-a", since, "", true), 2);
  auto rest = retro.recheckBatch("sink-a", since, first[1].cursor, 10, true);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(rest[0].cursor, "2026-12-02T10:00:00.000Z/01A");
  EXPECT_TRUE(retro.recheckBatch("sink-a", since, rest[1].cursor, 10, true).empty());
  EXPECT_EQ(retro.recheckRemaining("sink-a", since, rest[1].cursor, true), 0);
}

TEST_P(RetroAlertsTest, AMessageWithoutFilesStillMovesTheCursor) {
  queue.insertPending({test::sampleRecord("01N", "2026-12-02T10:00:00.000Z")});
  auto batch = retro.recheckBatch("sink-a", "2026-12-01T00:00:00.000Z", "", 10, true);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].sha256, "");
  EXPECT_EQ(batch[0].cursor, "2026-12-02T10:00:00.000Z/01N");
}

TEST_P(RetroAlertsTest, RecheckOfKeptFilesSkipsExpiredContentButTheHashListDoesNot) {
  message("01A", "2026-12-02T10:00:00.000Z", "clean", "clean", "reported", "sink-a", false);
  const std::string since = "2026-12-01T00:00:00.000Z";
  EXPECT_TRUE(retro.recheckBatch("sink-a", since, "", 10, true).empty());
  EXPECT_EQ(retro.recheckBatch("sink-a", since, "", 10, false).size(), 2u);
}

BCCSINK_ON_BOTH_ENGINES(RetroAlertsTest);
