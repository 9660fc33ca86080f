// The seccomp filter of a parser process (sandbox/extract/isolation/Seccomp.cpp), in a
// real confined worker: an allow-list, so what is not named fails with EPERM (open,
// signals and rt_sigqueueinfo to another process, prlimit64 on another, executable
// memory, any call nobody named) and the dangerous families kill the process (socket,
// exec, io_uring, fork, another architecture's calls); a thread of its own is allowed.
// Its memory cap and OOM score too. The master is forked from the test process, which
// has one thread when these run.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "sandbox/extract/Evasion.h"
#include "test/sandbox/extract/isolation/MarkerParser.h"

namespace bccsink::sandbox {
namespace {

using namespace markers;

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

// The filter is an allow-list (Seccomp.cpp): what is not named fails with EPERM, the
// dangerous families kill. Each of these was allowed by the block-list before it.
TEST(ExtractPool, SeccompKillsIoUringAndFork) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  for (const char* marker : {"IOURING", "FORK"}) {
    auto p = parse(pool, marker);
    ASSERT_EQ(p.extraction.files.size(), 1u) << marker;
    EXPECT_EQ(p.extraction.files[0].reason, "evasion: parser crashed")
        << marker << ": " << (p.extraction.errors.empty() ? "" : p.extraction.errors[0]);
    EXPECT_NE(p.extraction.errors[0].find("signal " + std::to_string(SIGSYS)), std::string::npos)
        << p.extraction.errors[0];
  }
  EXPECT_EQ(parse(pool, "fine").extraction.files[0].name, "fine");
}

#if defined(__x86_64__)
// The rules name x86_64's numbers: an i386 or x32 call (other numbers, other meanings)
// must not slip past them.
TEST(ExtractPool, SeccompKillsCallsOfAnotherArchitecture) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  for (const char* marker : {"I386", "X32"}) {
    auto p = parse(pool, marker);
    ASSERT_EQ(p.extraction.files.size(), 1u) << marker;
    EXPECT_EQ(p.extraction.files[0].reason, "evasion: parser crashed")
        << marker << ": " << (p.extraction.errors.empty() ? "" : p.extraction.errors[0]);
    EXPECT_NE(p.extraction.errors[0].find("signal " + std::to_string(SIGSYS)), std::string::npos)
        << p.extraction.errors[0];
  }
}
#endif

TEST(ExtractPool, SeccompRefusesWhatIsNotOnTheList) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  const std::string eperm = "-1 " + std::string(std::strerror(EPERM));
  for (auto [marker, line] :
       std::vector<std::pair<std::string, std::string>>{{"SIGQUEUE", "rt_sigqueueinfo: "},
                                                        {"PRLIMIT", "prlimit: "},
                                                        {"UNLISTED", "access: "},
                                                        {"WXMEM", "mmap exec: "}}) {
    auto p = parse(pool, marker);
    ASSERT_GE(p.extraction.errors.size(), 2u) << marker;
    EXPECT_EQ(p.extraction.errors[0], line + eperm) << marker;
    EXPECT_EQ(p.extraction.files[0].reason, "") << marker;
  }
  EXPECT_EQ(pool.counters().crashed, 0u);
}

TEST(ExtractPool, AWorkerMayStartAThread) {
  ParserMaster master(markerParser);
  ExtractPool pool(master, settings(1, 100));
  auto p = parse(pool, "THREAD");
  ASSERT_GE(p.extraction.errors.size(), 2u);
  EXPECT_EQ(p.extraction.errors[0], "thread: 42 ok");
}

TEST(ExtractPool, WorkerMemoryIsCappedAndTheOomKillerTakesItFirst) {
  ParserMasterSettings ms;
  ms.workerMemoryLimit = 1ull << 30;
  ParserMaster master(markerParser, ms);
  ExtractPool pool(master, settings(1, 100));
  auto p = parse(pool, "ASLIMIT");
  ASSERT_GE(p.extraction.errors.size(), 2u);
  EXPECT_EQ(p.extraction.errors[0], "as: " + std::to_string(1ull << 30) + " ok");
  const std::string pid = pidOf(p.extraction).substr(4);
  std::ifstream score("/proc/" + pid + "/oom_score_adj");
  int adj = 0;
  score >> adj;
  EXPECT_EQ(adj, 1000);
  // A memory bomb fails in the worker (std::bad_alloc), not in this process.
  auto bomb = parse(pool, "BOMB");
  ASSERT_FALSE(bomb.extraction.errors.empty());
  EXPECT_TRUE(isEvasion(bomb.extraction.errors[0])) << bomb.extraction.errors[0];
  EXPECT_NE(bomb.extraction.errors[0].find("bad_alloc"), std::string::npos)
      << bomb.extraction.errors[0];
}

}  // namespace
}  // namespace bccsink::sandbox
