// Extraction in parser processes (BccExtractIsolation): the pool gives what the Extractor
// gives in the daemon's process; a worker that crashes or hangs costs only its message
// (unscanned, an evasion) and the next message is parsed; workers are replaced after
// BccExtractWorkerMessages; a master that is killed or stopped makes each message an
// evasion, never silently unscanned. The workers' parse function is MarkerParser.h's;
// the filter's tests are in ExtractPoolSeccomp_test.cpp.
//
// The master is forked from the test process, which has one thread when these run (no
// test leaves one behind); the daemon forks it before its threads start.

#include "sandbox/extract/isolation/ExtractPool.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "sandbox/Scan.h"
#include "sandbox/extract/Digest.h"
#include "sandbox/extract/Evasion.h"
#include "sandbox/extract/Extractor.h"
#include "sandbox/extract/FileType.h"
#include "sandbox/extract/Selection.h"
#include "test/TempDir.h"
#include "test/sandbox/extract/isolation/MarkerParser.h"

namespace bccsink::sandbox {
namespace {

using namespace markers;

TEST(ExtractPool, ParsesInAWorkerAndKeepsTheSelectedBytes) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  auto p = parse(pool, "hello world");
  ASSERT_EQ(p.extraction.files.size(), 1u);
  EXPECT_EQ(p.extraction.files[0].name, "hello world");
  ASSERT_EQ(p.kept.size(), 1u);
  EXPECT_EQ(p.kept[0], "hello world");
  EXPECT_NE(pidOf(p.extraction), "pid " + std::to_string(::getpid()));
}

TEST(ExtractPool, CrashedWorkerMakesItsMessageUnscannedAndTheNextIsParsed) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  auto crashed = parse(pool, "please CRASH now");
  ASSERT_EQ(crashed.extraction.files.size(), 1u);
  const auto& f = crashed.extraction.files[0];
  EXPECT_TRUE(f.unreadable);
  EXPECT_EQ(f.reason, "evasion: parser crashed");
  ASSERT_EQ(crashed.extraction.errors.size(), 1u);
  EXPECT_TRUE(isEvasion(crashed.extraction.errors[0]));
  EXPECT_NE(crashed.extraction.errors[0].find("signal 6"), std::string::npos)
      << crashed.extraction.errors[0];
  auto next = parse(pool, "a plain message");
  ASSERT_EQ(next.extraction.files.size(), 1u);
  EXPECT_EQ(next.extraction.files[0].name, "a plain message");
  EXPECT_EQ(pool.counters().crashed, 1u);
  EXPECT_EQ(pool.counters().spawned, 2u);
}

TEST(ExtractPool, CrashedMessageIsSuspiciousWithAnUnscannedEntryInScan) {
  test::TempDir dir;
  ContentStore store(dir.path());
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  std::vector<std::unique_ptr<AnalyzerRunner>> none;
  auto report = scanMessage("CRASH", pool, store, none,
                            std::chrono::steady_clock::now() + std::chrono::seconds(5));
  ASSERT_EQ(report.files.size(), 1u);
  EXPECT_EQ(report.files[0].verdict, VerdictKind::Unscanned);
  EXPECT_EQ(report.files[0].file.reason, "evasion: parser crashed");
  // An evasion: at least suspicious, as every "evasion: " reason (Evasion.h).
  EXPECT_EQ(report.verdict, VerdictKind::Suspicious);
}

TEST(ExtractPool, KeptBytesUnderAnotherDigestAreRefused) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  auto p = parse(pool, "LIE about the bytes");
  EXPECT_TRUE(p.kept.empty());
  ASSERT_EQ(p.extraction.files.size(), 1u);
  EXPECT_EQ(p.extraction.files[0].reason, "evasion: parser crashed");
  EXPECT_EQ(parse(pool, "honest").kept.size(), 1u);
}

// The Result is the parser's word too: a digest the store could not take makes it a
// crashed parser (not an error thrown later, outside the message), and names are cleaned
// as the in-process extraction cleans them.
TEST(ExtractPool, AResultWithABadDigestIsACrashAndNamesAreCleaned) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  auto bad = parse(pool, "BADHASH told only");
  ASSERT_EQ(bad.extraction.files.size(), 1u);
  EXPECT_EQ(bad.extraction.files[0].reason, "evasion: parser crashed");
  auto named = parse(pool, "CTRLNAME");
  ASSERT_EQ(named.extraction.files.size(), 1u);
  EXPECT_EQ(named.extraction.files[0].name, "evil__X-Injected: 1_.exe");
}

TEST(ExtractPool, HungWorkerIsKilledAtTheTimeout) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100, std::chrono::milliseconds(300)));
  const auto t0 = std::chrono::steady_clock::now();
  auto hung = parse(pool, "HANG");
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(10));
  ASSERT_EQ(hung.extraction.files.size(), 1u);
  EXPECT_EQ(hung.extraction.files[0].reason, "evasion: parser timed out");
  EXPECT_NE(hung.extraction.errors[0].find("signal 9"), std::string::npos)
      << hung.extraction.errors[0];
  EXPECT_EQ(pool.counters().timedOut, 1u);
  auto next = parse(pool, "after the hang");
  ASSERT_EQ(next.extraction.files.size(), 1u);
  EXPECT_EQ(next.extraction.files[0].name, "after the hang");
}

TEST(ExtractPool, WorkerThatDiedIdleIsReplacedWithoutBlamingTheNextMessage) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  auto first = parse(pool, "first");
  const pid_t pid = std::stoi(pidOf(first.extraction).substr(4));
  ::kill(pid, SIGKILL);  // the master reaps it only when told: it stays a zombie till then
  for (int i = 0; i < 200; ++i) {
    const std::string stat = "/proc/" + std::to_string(pid) + "/stat";
    std::ifstream in(stat);
    std::string line;
    std::getline(in, line);
    if (line.find(") Z") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto next = parse(pool, "second");
  ASSERT_EQ(next.extraction.files.size(), 1u);
  EXPECT_EQ(next.extraction.files[0].name, "second");
  EXPECT_EQ(pool.counters().crashed, 0u);
  EXPECT_EQ(pool.counters().spawned, 2u);
}

TEST(ExtractPool, WorkerIsReplacedAfterItsMessages) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 2));
  auto a = pidOf(parse(pool, "one").extraction);
  auto b = pidOf(parse(pool, "two").extraction);
  auto c = pidOf(parse(pool, "three").extraction);
  EXPECT_EQ(a, b);
  EXPECT_NE(b, c);
  EXPECT_EQ(pool.counters().spawned, 2u);
}

TEST(ExtractPool, WhatAWorkerPrintsDoesNotReachTheFrames) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  auto p = parse(pool, "NOISE");
  ASSERT_EQ(p.extraction.files.size(), 1u);
  EXPECT_EQ(p.extraction.files[0].name, "NOISE");
  EXPECT_EQ(pool.counters().crashed, 0u);
}

// A master that is gone (killed by an escaped parser, or stopped so that spawn() would
// block for ever) must not turn scanning off quietly: each message is an evasion,
// at least suspicious, counted; a stopped master is given up after its answer timeout.
TEST(ExtractPool, StoppedMasterMakesEachMessageAnEvasionWithinTheTimeout) {
  ParserMasterSettings ms;
  ms.answerTimeout = std::chrono::milliseconds(300);
  ParserMaster master(markerParser, ms);
  ExtractPool pool(master, settings(1, 1));
  ASSERT_EQ(parse(pool, "first").extraction.files[0].name, "first");
  ASSERT_EQ(::kill(master.pid(), SIGSTOP), 0);
  const auto t0 = std::chrono::steady_clock::now();
  auto p = parse(pool, "second");  // the worker served its one message: a new one is asked
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  ASSERT_EQ(p.extraction.files.size(), 1u);
  EXPECT_EQ(p.extraction.files[0].reason, "evasion: parser unavailable");
  EXPECT_TRUE(master.gone());
  auto again = parse(pool, "third");
  EXPECT_EQ(again.extraction.files[0].reason, "evasion: parser unavailable");
  EXPECT_EQ(pool.counters().masterGone, 2u);
}

TEST(ExtractPool, StoppedMasterDoesNotKeepTheDaemonFromEnding) {
  ParserMasterSettings ms;
  ms.answerTimeout = std::chrono::milliseconds(200);
  const auto t0 = std::chrono::steady_clock::now();
  {
    ParserMaster master(markerParser, ms);
    ASSERT_EQ(::kill(master.pid(), SIGSTOP), 0);
  }  // closes the socket; the master cannot act on it: killed after the timeout, reaped
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST(ExtractPool, KilledMasterMakesTheMessageSuspiciousInScan) {
  test::TempDir dir;
  ContentStore store(dir.path());
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  ASSERT_EQ(::kill(master.pid(), SIGKILL), 0);
  std::vector<std::unique_ptr<AnalyzerRunner>> none;
  auto report = scanMessage("hello", pool, store, none,
                            std::chrono::steady_clock::now() + std::chrono::seconds(5));
  ASSERT_EQ(report.files.size(), 1u);
  EXPECT_EQ(report.files[0].verdict, VerdictKind::Unscanned);
  EXPECT_EQ(report.files[0].file.reason, "evasion: parser unavailable");
  EXPECT_EQ(report.verdict, VerdictKind::Suspicious);
  EXPECT_TRUE(master.gone());
  EXPECT_EQ(pool.counters().masterGone, 1u);
}

TEST(ExtractPool, WorkersServeThreadsAtOnce) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(2, 3));
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        const std::string m = "t" + std::to_string(t) + "m" + std::to_string(i);
        auto p = parse(pool, m);
        if (p.extraction.files.size() == 1 && p.extraction.files[0].name == m)
          ++good;
        else
          ADD_FAILURE() << m << ": " << (p.extraction.errors.empty() ? "" : p.extraction.errors[0]);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good, 20);
}

// The real Extractor in a confined worker against the same Extractor in this process, over
// every file of `dirs`: the same files, hashes, types, reasons and errors, and no worker
// killed. What the filter refuses (libmagic's database, locales, iconv modules) was
// loaded before it; a call the allow-list lacks shows up here as a difference or a crash.
void expectSameAsInProcess(const std::vector<std::string>& dirs, int atLeast) {
  FileTyper typer;
  auto rules = parseSelection(defaultFileTypes(), 100 << 20);
  Extractor local(typer, rules, ExtractLimits{});
  ParserMaster master([rules] {
    auto t = std::make_shared<FileTyper>();
    auto e = std::make_shared<Extractor>(*t, rules, ExtractLimits{});
    return ParseMessage([t, e](std::string_view m, const KeepFile& k) { return e->extract(m, k); });
  });
  ExtractPool pool(master, settings(1, 100));
  int cases = 0;
  for (const auto& dir : dirs) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().extension() == ".md") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string message = ss.str();
      std::size_t keptHere = 0, keptThere = 0;
      auto here =
          local.extract(message, [&](const ExtractedFile&, std::string_view) { ++keptHere; });
      auto there =
          pool.extract(message, [&](const ExtractedFile&, std::string_view) { ++keptThere; });
      const std::string name = entry.path().string();
      EXPECT_EQ(keptHere, keptThere) << name;
      EXPECT_EQ(here.errors, there.errors) << name;
      ASSERT_EQ(here.files.size(), there.files.size()) << name;
      for (std::size_t i = 0; i < here.files.size(); ++i) {
        EXPECT_EQ(here.files[i].path(), there.files[i].path()) << name;
        EXPECT_EQ(here.files[i].sha256, there.files[i].sha256) << name;
        EXPECT_EQ(here.files[i].type.description, there.files[i].type.description) << name;
        EXPECT_EQ(here.files[i].type.family, there.files[i].type.family) << name;
        EXPECT_EQ(here.files[i].reason, there.files[i].reason) << name;
      }
      ++cases;
    }
  }
  EXPECT_GT(cases, atLeast);
  EXPECT_EQ(pool.counters().crashed, 0u);
  EXPECT_EQ(pool.counters().timedOut, 0u);
}

// Every MIME case (test/data/mime), with the shipped selection.
TEST(ExtractPool, RealExtractorGivesTheSameFilesAsInProcess) {
  expectSameAsInProcess({std::string(BCCSINK_SOURCE_DIR) + "/test/data/mime"}, 10);
}

// The fuzzers' corpora (test/fuzz/corpus: broken MIME, archives, containers, frames), and
// any folder named in BCCSINK_TEST_CORPORA (colon-separated), each file as a message.
TEST(ExtractPool, RealExtractorOverTheCorporaNeverTripsTheFilter) {
  std::vector<std::string> dirs;
  for (const char* name : {"mime", "archive", "container", "decode", "worker"})
    dirs.push_back(std::string(BCCSINK_SOURCE_DIR) + "/test/fuzz/corpus/" + name);
  if (const char* more = std::getenv("BCCSINK_TEST_CORPORA")) {
    std::stringstream list(more);
    for (std::string d; std::getline(list, d, ':');)
      if (!d.empty()) dirs.push_back(d);
  }
  expectSameAsInProcess(dirs, 500);
}

}  // namespace
}  // namespace bccsink::sandbox
