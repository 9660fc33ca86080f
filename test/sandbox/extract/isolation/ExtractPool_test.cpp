// Extraction in parser processes (BccExtractIsolation): the pool gives what the Extractor
// gives in the daemon's process; a worker that crashes or hangs costs only its message
// (unscanned, an evasion) and the next message is parsed; workers are replaced after
// BccExtractWorkerMessages; the seccomp filter refuses open() and kills on socket() and
// execve(). The workers' parse function here is the test's: it acts on a marker in the
// message, so the faults are real ones in a real confined child.
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

namespace bccsink::sandbox {
namespace {

bool has(std::string_view message, std::string_view marker) {
  return message.find(marker) != std::string_view::npos;
}

// One file named after the message, kept, and the worker's pid as an error line; the
// markers make the worker misbehave.
ParseMessage markerParser() {
  return [](std::string_view message, const KeepFile& keep) {
    if (has(message, "CRASH")) std::abort();
    if (has(message, "HANG")) {
      for (;;) ::pause();
    }
    Extraction out;
    if (has(message, "NOISE")) {
      // A library's warning: must not reach the frames.
      (void)!::write(1, "stdout\n", 7);
      (void)!::write(2, "stderr\n", 7);
    }
    if (has(message, "OPEN")) {
      errno = 0;
      const int fd = ::open("/etc/hostname", O_RDONLY);
      out.errors.push_back("open: " + std::to_string(fd) + " " + std::strerror(errno));
    }
    if (has(message, "SIGNAL")) {
      errno = 0;
      const int rc = ::kill(::getppid(), 0);  // the master; the daemon alike
      out.errors.push_back("kill: " + std::to_string(rc) + " " + std::strerror(errno));
    }
    if (has(message, "SOCKET")) {
      const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      out.errors.push_back("socket: " + std::to_string(fd));  // not reached: killed
    }
    if (has(message, "EXEC")) {
      char* argv[] = {const_cast<char*>("/bin/true"), nullptr};
      ::execv("/bin/true", argv);
      out.errors.push_back("exec failed");  // not reached: killed
    }
    ExtractedFile f;
    f.name = std::string(message.substr(0, 20));
    f.size = message.size();
    const auto d = digest(message);
    f.sha256 = d.sha256;
    f.md5 = d.md5;
    // A subverted parser: the bytes under another file's digest.
    if (has(message, "LIE")) f.sha256 = std::string(64, '0');
    f.selected = true;
    keep(f, message);
    out.files.push_back(f);
    out.errors.push_back("pid " + std::to_string(::getpid()));
    return out;
  };
}

ExtractPoolSettings settings(std::size_t workers, std::size_t perWorker,
                             std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  ExtractPoolSettings s;
  s.workers = workers;
  s.messagesPerWorker = perWorker;
  s.timeout = timeout;
  return s;
}

struct Parsed {
  Extraction extraction;
  std::vector<std::string> kept;
};

Parsed parse(const ExtractPool& pool, std::string_view message) {
  Parsed p;
  p.extraction = pool.extract(
      message, [&](const ExtractedFile&, std::string_view bytes) { p.kept.emplace_back(bytes); });
  return p;
}

std::string pidOf(const Extraction& e) {
  return e.errors.empty() ? "" : e.errors.back();
}

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

TEST(ExtractPool, SeccompRefusesOpenInTheWorker) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  auto p = parse(pool, "OPEN");
  ASSERT_GE(p.extraction.errors.size(), 1u);
  EXPECT_EQ(p.extraction.errors[0], "open: -1 " + std::string(std::strerror(EPERM)));
}

TEST(ExtractPool, SeccompRefusesSignalsToOtherProcesses) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  auto p = parse(pool, "SIGNAL");
  ASSERT_GE(p.extraction.errors.size(), 1u);
  EXPECT_EQ(p.extraction.errors[0], "kill: -1 " + std::string(std::strerror(EPERM)));
}

TEST(ExtractPool, SeccompKillsAWorkerThatOpensASocketOrRunsAProgram) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  for (const char* marker : {"SOCKET", "EXEC"}) {
    auto p = parse(pool, marker);
    ASSERT_EQ(p.extraction.files.size(), 1u) << marker;
    EXPECT_EQ(p.extraction.files[0].reason, "evasion: parser crashed") << marker;
    // SIGSYS: the filter's kill.
    EXPECT_NE(p.extraction.errors[0].find("signal " + std::to_string(SIGSYS)), std::string::npos)
        << p.extraction.errors[0];
  }
  EXPECT_EQ(parse(pool, "fine").extraction.files[0].name, "fine");
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

// The real Extractor in a confined worker finds what it finds in the daemon's process:
// every MIME case (test/data/mime), with the shipped selection. What the filter refuses
// (libmagic's database, locales, iconv modules) was loaded before it.
TEST(ExtractPool, RealExtractorGivesTheSameFilesAsInProcess) {
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
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(BCCSINK_SOURCE_DIR) + "/test/data/mime")) {
    if (entry.path().extension() != ".eml") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string message = ss.str();
    std::size_t keptHere = 0, keptThere = 0;
    auto here = local.extract(message, [&](const ExtractedFile&, std::string_view) { ++keptHere; });
    auto there =
        pool.extract(message, [&](const ExtractedFile&, std::string_view) { ++keptThere; });
    const std::string name = entry.path().filename().string();
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
  EXPECT_GT(cases, 10);
  EXPECT_EQ(pool.counters().crashed, 0u);
}

}  // namespace
}  // namespace bccsink::sandbox
