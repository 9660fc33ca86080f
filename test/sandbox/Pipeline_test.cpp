// The daemon's analysis stage against a real SQLite queue and spool folder, with
// in-process analyzers whose answers the tests hold back or give.

#include "sandbox/Pipeline.h"

#include <Poco/Base64Encoder.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "db/Database.h"
#include "db/FileRepository.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "sandbox/extract/Digest.h"
#include "sandbox/extract/FileType.h"
#include "sandbox/extract/Selection.h"
#include "test/TempDir.h"
#include "test/sandbox/extract/ZipWriter.h"

using namespace bccsink;
using namespace bccsink::sandbox;
using namespace std::chrono_literals;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::string& clamExe() {
  static const std::string bytes = readFile("/usr/share/clamav-testfiles/clam.exe");
  return bytes;
}

// A PE that is not clam.exe: the same bytes with a different tail.
std::string otherExe(int n) {
  return clamExe() + "\n" + std::to_string(n);
}

std::string message(const std::string& id,
                    const std::vector<std::pair<std::string, std::string>>& files) {
  std::ostringstream m;
  m << "From: a@example.org\r\nTo: b@example.org\r\nMessage-ID: <" << id
    << "@t>\r\nSubject: t\r\nMIME-Version: 1.0\r\n"
    << "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n--b0\r\n"
    << "Content-Type: text/plain\r\n\r\nsee attached\r\n";
  for (const auto& [name, bytes] : files) {
    m << "--b0\r\nContent-Type: application/octet-stream; name=\"" << name
      << "\"\r\nContent-Disposition: attachment; filename=\"" << name
      << "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    std::ostringstream b64;
    {
      Poco::Base64Encoder enc(b64);
      enc.rdbuf()->setLineLength(76);
      enc << bytes;
    }
    for (char c : b64.str()) {
      if (c == '\n') m << "\r";
      m << c;
    }
    m << "\r\n";
  }
  m << "--b0--\r\n";
  return m.str();
}

// An analyzer that keeps every submission until the test answers it.
class HeldAnalyzer : public Analyzer {
 public:
  explicit HeldAnalyzer(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  void analyze(const Submission& file, std::function<void(Verdict)> done) override {
    std::lock_guard lock(mutex_);
    held_.push_back({file, std::move(done)});
    ++submissions_;
    cv_.notify_all();
  }
  // Answers every held submission: dangerous when its sha256 is `bad`, clean otherwise.
  void answerAll(const std::string& bad) {
    std::vector<std::pair<Submission, std::function<void(Verdict)>>> held;
    {
      std::lock_guard lock(mutex_);
      held.swap(held_);
    }
    for (auto& [file, done] : held) {
      Verdict v;
      v.kind = file.sha256 == bad ? VerdictKind::Dangerous : VerdictKind::Clean;
      if (file.sha256 == bad) v.threats = {"Test.Bad"};
      v.reportUrl = "https://analyzer.test/r/" + file.sha256.substr(0, 8);
      done(v);
    }
  }
  int submissions() {
    std::lock_guard lock(mutex_);
    return submissions_;
  }
  std::vector<std::string> heldNames() {
    std::lock_guard lock(mutex_);
    std::vector<std::string> names;
    for (auto& h : held_) names.push_back(h.first.name);
    return names;
  }
  bool waitForSubmissions(int n) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, 10s, [&] { return submissions_ >= n; });
  }

 private:
  std::string name_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::pair<Submission, std::function<void(Verdict)>>> held_;
  int submissions_ = 0;
};

struct PipelineTest : ::testing::Test {
  test::TempDir dir;
  std::string url = "sqlite:" + (dir / "q.db");
  std::string spool = dir / "spool";
  db::Database database{url};
  db::MessageQueue queue{database};
  db::MessageFiles messageFiles{database};
  FileTyper typer;
  SelectionRules rules = parseSelection(defaultFileTypes(), 100 << 20);
  Extractor extractor{typer, rules, ExtractLimits{}};
  ContentStore store{dir / "files"};
  std::shared_ptr<HeldAnalyzer> analyzer = std::make_shared<HeldAnalyzer>("held");
  std::unique_ptr<Pipeline> pipeline;
  int next = 0;

  void SetUp() override {
    database.migrate();
    std::filesystem::create_directories(spool);
  }
  void TearDown() override {
    if (pipeline) pipeline->stop();
  }

  PipelineSettings settings() {
    PipelineSettings s;
    s.databaseUrl = url;
    s.spoolDir = spool;
    s.owner = "sink-a";
    s.workers = 2;
    s.lease = 60s;
    s.analysisTimeout = 30s;
    s.maxAttempts = 3;
    s.idlePoll = 20ms;
    s.sweepInterval = 50ms;
    return s;
  }
  void start(PipelineSettings s, std::vector<std::shared_ptr<Analyzer>> analyzers) {
    std::vector<std::unique_ptr<AnalyzerRunner>> runners;
    RunnerSettings rs;
    rs.maxConcurrent = 64;
    for (auto& a : analyzers) runners.push_back(std::make_unique<AnalyzerRunner>(a, rs));
    pipeline = std::make_unique<Pipeline>(s, extractor, store, std::move(runners));
    pipeline->start();
  }
  void start() { start(settings(), {analyzer}); }

  // Spools a message (unless not `spooled`: its file is gone) and queues it as pending;
  // returns its id.
  std::string enqueue(const std::string& bytes, bool spooled = true) {
    char id[16];
    std::snprintf(id, sizeof id, "01M%05d", next++);
    if (spooled) std::ofstream(spool + "/" + id + ".eml", std::ios::binary) << bytes;
    db::MessageRecord r;
    r.id = id;
    r.sink = "sink-a";
    r.receivedAt = "2026-11-25T04:00:00.000Z";
    r.sender = "a@example.org";
    r.recipients = {{"w@bcc.test", "", ""}};
    r.size = static_cast<std::int64_t>(bytes.size());
    r.sha256 = digest(bytes).sha256;
    r.spoolFile = std::string(id) + ".eml";
    queue.insertPending({r});
    if (pipeline) pipeline->wake();
    return id;
  }

  // Waits (bounded) until `id` reaches `state`.
  db::MessageRecord waitFor(const std::string& id, const std::string& state) {
    auto until = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < until) {
      auto m = queue.find(id);
      if (m && m->state == state) return *m;
      std::this_thread::sleep_for(10ms);
    }
    ADD_FAILURE() << id << " never reached " << state << " (is " << queue.find(id)->state << ")";
    return *queue.find(id);
  }
};

}  // namespace

TEST_F(PipelineTest, OneFileInManyMessagesIsSubmittedOnceAndCompletesThemAll) {
  start();
  const auto bad = digest(clamExe()).sha256;
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i)
    ids.push_back(enqueue(message("m" + std::to_string(i), {{"invoice.exe", clamExe()}})));
  ASSERT_TRUE(analyzer->waitForSubmissions(1));
  // Every message is waiting, none is checked, and still one submission only.
  for (const auto& id : ids) waitFor(id, "analyzing");
  std::this_thread::sleep_for(200ms);  // a few sweeps: none of them may submit again
  EXPECT_EQ(analyzer->submissions(), 1);
  EXPECT_EQ(queue.find(ids[0])->state, "analyzing");
  analyzer->answerAll(bad);
  for (const auto& id : ids) {
    auto m = waitFor(id, "checked");
    EXPECT_EQ(m.verdict, "dangerous");
    EXPECT_FALSE(m.checkedAt.empty());
  }
  auto files = messageFiles.list(ids[3]);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].name, "invoice.exe");
  EXPECT_EQ(files[0].verdict, "dangerous");
  EXPECT_EQ(files[0].family, "pe");
  EXPECT_EQ(files[0].sha256, bad);
  EXPECT_TRUE(store.has(bad));

  // Later copies are answered by the cache: no new submission.
  auto late = enqueue(message("late", {{"again.exe", clamExe()}}));
  EXPECT_EQ(waitFor(late, "checked").verdict, "dangerous");
  EXPECT_EQ(analyzer->submissions(), 1);
  EXPECT_GE(pipeline->counters().cacheHits.load(), 1u);
  db::FileRepository cache(database);
  EXPECT_EQ(cache.find(bad)->seenCount, 21);
  EXPECT_EQ(cache.submissionsInFlight(), 0);
}

TEST_F(PipelineTest, AMessageWaitsForEveryAnalyzerAndTakesTheWorstAnswer) {
  auto second = std::make_shared<HeldAnalyzer>("second");
  start(settings(), {analyzer, second});
  auto id = enqueue(
      message("two", {{"a.exe", clamExe()}, {"b.exe", otherExe(1)}, {"notes.txt", "just text\n"}}));
  ASSERT_TRUE(analyzer->waitForSubmissions(2));
  ASSERT_TRUE(second->waitForSubmissions(2));
  analyzer->answerAll("");  // the first says both are clean
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(queue.find(id)->state, "analyzing");  // the second has not answered
  second->answerAll(digest(otherExe(1)).sha256);
  auto m = waitFor(id, "checked");
  EXPECT_EQ(m.verdict, "dangerous");
  auto files = messageFiles.list(id);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].verdict, "clean");
  EXPECT_EQ(files[1].verdict, "dangerous");
  EXPECT_FALSE(files[2].selected);  // a text file is not sent
  EXPECT_EQ(files[2].verdict, "");
  db::FileRepository cache(database);
  auto answers = cache.verdicts(files[1].sha256);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].analyzer, "held");
  EXPECT_EQ(answers[0].verdict, "clean");
  EXPECT_EQ(answers[1].verdict, "dangerous");
  EXPECT_EQ(answers[1].threats, std::vector<std::string>{"Test.Bad"});
  EXPECT_EQ(answers[1].reportUrl.rfind("https://analyzer.test/r/", 0), 0u);
}

TEST_F(PipelineTest, TheDeadlineChecksTheMessageWithWhatIsMissingUnscanned) {
  auto s = settings();
  s.analysisTimeout = 400ms;
  start(s, {analyzer});
  auto id = enqueue(message("slow", {{"slow.exe", clamExe()}}));
  auto m = waitFor(id, "checked");  // the analyzer never answers
  EXPECT_EQ(m.verdict, "unscanned");
  auto files = messageFiles.list(id);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].verdict, "unscanned");
  EXPECT_NE(files[0].reason.find("deadline"), std::string::npos) << files[0].reason;
}

TEST_F(PipelineTest, AnAnswerAfterTheMessagesDeadlineIsStillStoredAndAnnounced) {
  auto s = settings();
  s.analysisTimeout = 400ms;  // the runner's attempt may take 60 s: it outlives the deadline
  std::mutex mutex;
  std::vector<std::string> announced;
  pipeline = std::make_unique<Pipeline>(s, extractor, store, [&] {
    std::vector<std::unique_ptr<AnalyzerRunner>> runners;
    RunnerSettings rs;
    rs.maxConcurrent = 4;
    runners.push_back(std::make_unique<AnalyzerRunner>(analyzer, rs));
    return runners;
  }());
  pipeline->onFileVerdict([&](db::Database&, const db::StoredVerdict& v) {
    std::lock_guard lock(mutex);
    announced.push_back(v.analyzer + " " + v.verdict);
  });
  pipeline->start();
  auto id = enqueue(message("late", {{"late.exe", clamExe()}}));
  EXPECT_EQ(waitFor(id, "checked").verdict, "unscanned");  // judged at its deadline
  ASSERT_TRUE(analyzer->waitForSubmissions(1));
  const auto sha = digest(clamExe()).sha256;
  analyzer->answerAll(sha);  // the answer comes after the message was judged
  db::FileRepository cache(database);
  auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until && cache.verdicts(sha).empty())
    std::this_thread::sleep_for(10ms);
  auto stored = cache.verdicts(sha);
  ASSERT_EQ(stored.size(), 1u) << "the late answer was dropped";
  EXPECT_EQ(stored[0].verdict, "dangerous");
  std::lock_guard lock(mutex);
  EXPECT_EQ(announced, std::vector<std::string>{"held dangerous"});
}

TEST_F(PipelineTest, WithoutAnalyzersSelectedFilesAreUnscannedAndSaySo) {
  start(settings(), {});
  auto id = enqueue(message("none", {{"a.exe", clamExe()}}));
  EXPECT_EQ(waitFor(id, "checked").verdict, "unscanned");
  EXPECT_EQ(messageFiles.list(id)[0].reason, "no analyzer is enabled");
  auto clean = enqueue(message("clean", {}));
  EXPECT_EQ(waitFor(clean, "checked").verdict, "clean");
}

TEST_F(PipelineTest, AFileASenderKeptFromAnalysisMakesTheMessageSuspicious) {
  // An encrypted zip no password opens: the member stays unscanned with the evasion as its
  // reason, and the message is suspicious, so that it is reported by default. A file that
  // is unscanned only because no analyzer answered keeps the message plain unscanned (above).
  start(settings(), {});
  auto id = enqueue(
      message("locked", {{"a.zip", bccsink::test::zip({{"a.exe", clamExe()}}, "no-such-word")}}));
  EXPECT_EQ(waitFor(id, "checked").verdict, "suspicious");
  auto files = messageFiles.list(id);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[1].path, "a.zip > a.exe");
  EXPECT_EQ(files[1].verdict, "unscanned");
  EXPECT_EQ(files[1].reason, "evasion: encrypted zip, no password opened it");
}

TEST_F(PipelineTest, PoisonMessagesFailAfterMaxAttemptsAndKeepTheirSpoolFile) {
  auto id = enqueue(message("poison", {{"a.exe", clamExe()}}));
  // Three claims that never finished (a worker crashed each time).
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(queue.claimNext("sink-a", 1, 2, "t"));
    queue.releaseLeasesOf("sink-a");
  }
  start();
  auto m = waitFor(id, "failed");
  EXPECT_NE(m.reason.find("3 attempts"), std::string::npos) << m.reason;
  EXPECT_EQ(m.verdict, "unscanned");
  EXPECT_TRUE(std::filesystem::exists(spool + "/" + m.spoolFile));
  EXPECT_EQ(analyzer->submissions(), 0);
}

TEST_F(PipelineTest, AMissingSpoolFileFailsTheMessageWithTheReason) {
  auto id = enqueue(message("gone", {}));
  std::filesystem::remove(spool + "/" + id + ".eml");
  start();
  auto m = waitFor(id, "failed");
  EXPECT_NE(m.reason.find("spool file"), std::string::npos) << m.reason;
}

TEST_F(PipelineTest, AStartTakesBackWhatThePreviousRunOfThisSinkHeld) {
  auto id = enqueue(message("held", {{"a.exe", clamExe()}}));
  ASSERT_TRUE(queue.claimNext("sink-a", 4'000'000'000'000, 4'000'000'000'000, "t"));
  db::FileRepository cache(database);
  cache.recordSeen(
      {{digest(clamExe()).sha256, digest(clamExe()).md5, 1, "x", "y", "pe", "", "", 0}}, "t");
  // The previous run had submitted the file, with a lease far in the future.
  ASSERT_TRUE(
      cache.claimSubmission(digest(clamExe()).sha256, "held", "sink-a", {}, 0, 4'000'000'000'000));
  start();
  ASSERT_TRUE(analyzer->waitForSubmissions(1));  // asked again, not waiting for the old lease
  analyzer->answerAll("");
  auto m = waitFor(id, "checked");
  EXPECT_EQ(m.verdict, "clean");
  EXPECT_EQ(m.attempts, 2);
}

TEST_F(PipelineTest, AnExpiredCleanVerdictIsAskedAgain) {
  auto s = settings();
  s.freshness.cleanMaxAgeMs = 1500;
  start(s, {analyzer});
  auto first = enqueue(message("c1", {{"a.exe", otherExe(7)}}));
  ASSERT_TRUE(analyzer->waitForSubmissions(1));
  analyzer->answerAll("");
  EXPECT_EQ(waitFor(first, "checked").verdict, "clean");
  // Within the age the cache answers; past it the file is asked again.
  auto second = enqueue(message("c2", {{"a.exe", otherExe(7)}}));
  EXPECT_EQ(waitFor(second, "checked").verdict, "clean");
  EXPECT_EQ(analyzer->submissions(), 1);
  std::this_thread::sleep_for(1600ms);
  auto third = enqueue(message("c3", {{"a.exe", otherExe(7)}}));
  ASSERT_TRUE(analyzer->waitForSubmissions(2));
  analyzer->answerAll(digest(otherExe(7)).sha256);  // new signatures: now it is known bad
  EXPECT_EQ(waitFor(third, "checked").verdict, "dangerous");
}

TEST_F(PipelineTest, StopAbandonsAnalysesInFlightAndTheNextRunFinishesThem) {
  start();
  auto id = enqueue(message("restart", {{"a.exe", clamExe()}}));
  ASSERT_TRUE(analyzer->waitForSubmissions(1));
  pipeline->stop();
  EXPECT_EQ(queue.find(id)->state, "analyzing");
  db::FileRepository cache(database);
  EXPECT_EQ(cache.submissionsInFlight(), 0);  // "shutting down" is not a verdict
  EXPECT_TRUE(cache.verdicts(digest(clamExe()).sha256).empty());
  auto again = std::make_shared<HeldAnalyzer>("held");
  analyzer = again;
  start();
  ASSERT_TRUE(again->waitForSubmissions(1));
  again->answerAll(digest(clamExe()).sha256);
  EXPECT_EQ(waitFor(id, "checked").verdict, "dangerous");
  // Claimed twice, arrived once.
  EXPECT_EQ(cache.find(digest(clamExe()).sha256)->seenCount, 1);
}

TEST_F(PipelineTest, AFailedMessageKeepsTheWorstVerdictAnEarlierClaimFound) {
  auto id = enqueue(message("known", {{"a.exe", clamExe()}}));
  ASSERT_TRUE(queue.claimNext("sink-a", 1, 2, "t"));
  db::FileRepository cache(database);
  db::FileRow row;
  row.sha256 = digest(clamExe()).sha256;
  row.md5 = digest(clamExe()).md5;
  row.family = "pe";
  cache.recordSeen({row}, "t");
  db::MessageFile f;
  f.sha256 = row.sha256;
  f.name = f.path = "a.exe";
  f.selected = true;
  f.verdict = "dangerous";
  messageFiles.save(id, {f}, "", "t");
  for (int i = 0; i < 3; ++i) {
    queue.releaseLeasesOf("sink-a");
    ASSERT_TRUE(queue.claimNext("sink-a", 1, 2, "t"));
  }
  queue.releaseLeasesOf("sink-a");
  start();
  auto m = waitFor(id, "failed");
  EXPECT_EQ(m.verdict, "dangerous");  // unscanned never hides a worse verdict
  EXPECT_NE(m.reason.find("gave up after 4 attempts"), std::string::npos) << m.reason;
}

TEST_F(PipelineTest, EveryFinishedMessageIsAnnouncedOnceWithItsId) {
  std::mutex m;
  std::condition_variable cv;
  std::vector<std::string> announced;
  auto s = settings();
  s.idlePoll = 1h;  // only wake() and the announcements move anything
  std::vector<std::unique_ptr<AnalyzerRunner>> none;
  pipeline = std::make_unique<Pipeline>(s, extractor, store, std::move(none));
  pipeline->onFinished([&](const std::string& id) {
    std::lock_guard lock(m);
    announced.push_back(id);
    cv.notify_all();
  });
  pipeline->start();
  auto checked = enqueue(message("fine", {}));
  // Without its file from the start: a worker may take it the moment it is queued.
  auto failed = enqueue(message("gone", {}), false);
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, 15s, [&] { return announced.size() >= 2; }))
        << announced.size() << " announced";
  }
  EXPECT_EQ(queue.find(checked)->state, "checked");
  EXPECT_EQ(queue.find(failed)->state, "failed");
  std::this_thread::sleep_for(200ms);  // a second announcement would come now
  std::lock_guard lock(m);
  std::sort(announced.begin(), announced.end());
  EXPECT_EQ(announced, (std::vector<std::string>{checked, failed}));
}
