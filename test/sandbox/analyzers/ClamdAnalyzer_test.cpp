#include "sandbox/analyzers/ClamdAnalyzer.h"

#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/analyzers/AnalyzerRunner.h"
#include "test/TempDir.h"
#include "test/sandbox/analyzers/ClamdProcess.h"
#include "test/sandbox/analyzers/RunnerTesting.h"

using bccsink::sandbox::AnalyzerRunner;
using bccsink::sandbox::ClamdAnalyzer;
using bccsink::sandbox::ClamdSettings;
using bccsink::sandbox::parseClamdReply;
using bccsink::sandbox::RunnerSettings;
using bccsink::sandbox::Submission;
using bccsink::sandbox::Verdict;
using bccsink::sandbox::VerdictKind;
using bccsink::test::ClamdProcess;
using bccsink::test::eventually;
using bccsink::test::kClamavTestfiles;
using bccsink::test::kClamExeSignature;
using bccsink::test::kMarker;
using bccsink::test::kMarkerSignature;
using bccsink::test::TempDir;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Submission fileAt(const std::string& path) {
  Submission s;
  s.path = path;
  s.name = std::filesystem::path(path).filename().string();
  std::error_code ec;
  s.size = std::filesystem::file_size(path, ec);
  return s;
}

std::string writeFile(const TempDir& dir, const std::string& name, const std::string& bytes) {
  auto path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

ClamdSettings settingsFor(const std::string& socket, std::chrono::milliseconds timeout = 10s) {
  ClamdSettings s;
  s.socket = socket;
  s.timeout = timeout;
  s.maxStreamSize = 8 * 1024 * 1024;
  return s;
}

// Answers collected from any thread; wait() bounds every test that expects them.
class Answers {
 public:
  std::function<void(Verdict)> callback(const std::string& key) {
    return [this, key](Verdict v) {
      std::lock_guard lock(mu_);
      auto& a = answers_[key];
      ++a.count;
      a.verdict = std::move(v);
      a.thread = std::this_thread::get_id();
      changed_.notify_all();
    };
  }
  bool wait(std::size_t n, std::chrono::milliseconds limit = 20s) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, limit, [&] { return answers_.size() >= n; });
  }
  struct Answer {
    int count = 0;
    Verdict verdict;
    std::thread::id thread;
  };
  Answer get(const std::string& key) {
    std::lock_guard lock(mu_);
    return answers_[key];
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, Answer> answers_;
};

// What `analyzer` says of the file at `path`, on this thread.
Verdict scan(ClamdAnalyzer& analyzer, const std::string& path) {
  auto v = analyzer.scan(fileAt(path), {});
  EXPECT_EQ(v.analyzer, "clamd");
  return v;
}

// A loopback port that nothing listens on (bound, then let go).
std::string closedPort() {
  Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
  return "127.0.0.1:" + std::to_string(probe.address().port());
}

// ---- clamd's replies, from strings ----

TEST(ClamdReplyTest, OkIsClean) {
  auto v = parseClamdReply("stream: OK");
  EXPECT_EQ(v.kind, VerdictKind::Clean);
  EXPECT_EQ(v.analyzer, "clamd");
  EXPECT_TRUE(v.threats.empty());
  EXPECT_EQ(parseClamdReply("stream: OK\n").kind, VerdictKind::Clean);
}

TEST(ClamdReplyTest, FoundIsDangerousWithTheSignatureName) {
  auto v = parseClamdReply("stream: Win.Test.EICAR_HDB-1 FOUND");
  EXPECT_EQ(v.kind, VerdictKind::Dangerous);
  EXPECT_EQ(v.score, 100);
  EXPECT_EQ(v.threats, std::vector<std::string>{"Win.Test.EICAR_HDB-1"});
  EXPECT_FALSE(v.transient);
}

TEST(ClamdReplyTest, HeuristicsAreSuspiciousAndLimitsUnscanned) {
  auto phish = parseClamdReply("stream: Heuristics.Phishing.Email.SpoofedDomain FOUND");
  EXPECT_EQ(phish.kind, VerdictKind::Suspicious);
  EXPECT_EQ(phish.score, 50);
  EXPECT_EQ(phish.threats, std::vector<std::string>{"Heuristics.Phishing.Email.SpoofedDomain"});
  auto limits = parseClamdReply("stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND");
  EXPECT_EQ(limits.kind, VerdictKind::Unscanned);
  EXPECT_FALSE(limits.transient);
  EXPECT_NE(limits.reason.find("Heuristics.Limits.Exceeded.MaxFileSize"), std::string::npos);
}

TEST(ClamdReplyTest, SizeLimitIsUnscannedForGood) {
  auto v = parseClamdReply("INSTREAM size limit exceeded. ERROR");
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_EQ(v.reason, "file over clamd's StreamMaxLength");
  EXPECT_FALSE(v.transient);
}

TEST(ClamdReplyTest, OtherErrorsCarryClamdsMessage) {
  auto v = parseClamdReply("stream: Can't allocate memory ERROR");
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_EQ(v.reason, "clamd: Can't allocate memory");
  EXPECT_FALSE(v.transient);
}

TEST(ClamdReplyTest, AnythingElseIsATransientFailure) {
  for (std::string reply : {"COMMAND READ TIMED OUT", "", "stream:  FOUND", "PONG", "stream: "}) {
    auto v = parseClamdReply(reply);
    EXPECT_EQ(v.kind, VerdictKind::Unscanned) << reply;
    EXPECT_TRUE(v.transient) << reply;
    EXPECT_NE(v.reason.find("unexpected answer from clamd"), std::string::npos) << reply;
  }
}

// What clamd says ends up in report mails: no line breaks get through.
TEST(ClamdReplyTest, ControlCharactersNeverGetThrough) {
  auto found = parseClamdReply("stream: X\r\nBcc: victim@example.org FOUND");
  EXPECT_EQ(found.threats, std::vector<std::string>{"X??Bcc: victim@example.org"});
  auto odd = parseClamdReply("stream: X FOUND\r\nBcc: victim@example.org");
  EXPECT_EQ(odd.reason.find_first_of("\r\n"), std::string::npos) << odd.reason;
  auto error = parseClamdReply("stream: a\nb ERROR");
  EXPECT_EQ(error.reason, "clamd: a?b");
}

// Bytes from 0x80 up (a broken or hostile clamd, a name in some code page) reach logs,
// reasons and threat names as '?': they were passed through before.
TEST(ClamdReplyTest, EightBitBytesNeverGetThrough) {
  auto found = parseClamdReply("stream: Win.\xc3\xa9vil\xff FOUND");
  EXPECT_EQ(found.threats, std::vector<std::string>{"Win.??vil?"});
  auto error = parseClamdReply("stream: caf\xe9\x9b ERROR");
  EXPECT_EQ(error.reason, "clamd: caf??");
  auto odd = parseClamdReply("\x80\xfe" + std::string(500, 'x'));
  EXPECT_EQ(odd.reason, "unexpected answer from clamd: '??" + std::string(195, 'x') + "...'");
}

// ---- settings ----

TEST(ClamdAnalyzerSettingsTest, RejectsAddressesThatAreNeitherUnixNorHostPort) {
  for (const std::string& bad : std::vector<std::string>{
           "", "unix:", "localhost", "localhost:", ":3310", "localhost:0", "localhost:65536",
           "localhost:33x", "::1:3310", "[::1:3310", "unix:/" + std::string(200, 'a')}) {
    EXPECT_THROW(ClamdAnalyzer(settingsFor(bad)), std::invalid_argument) << "'" << bad << "'";
  }
  for (std::string good : {"unix:/run/clamav/clamd.ctl", "/run/clamav/clamd.ctl", "127.0.0.1:3310",
                           "localhost:3310", "[::1]:3310"}) {
    EXPECT_NO_THROW(ClamdAnalyzer(settingsFor(good))) << good;
  }
  auto zeroThreads = settingsFor("127.0.0.1:3310");
  zeroThreads.threads = 0;
  EXPECT_THROW(ClamdAnalyzer{zeroThreads}, std::invalid_argument);
}

// ---- no clamd there ----

TEST(ClamdAnalyzerUnreachableTest, MissingSocketAndClosedPortAreTransient) {
  TempDir dir;
  auto file = writeFile(dir, "note.txt", "hello");
  for (auto address : {"unix:" + (dir / "no-such.sock"), closedPort()}) {
    ClamdAnalyzer clamd(settingsFor(address));
    auto v = scan(clamd, file);
    EXPECT_EQ(v.kind, VerdictKind::Unscanned) << address;
    EXPECT_TRUE(v.transient) << address;
    EXPECT_NE(v.reason.find("cannot connect to clamd at " + address), std::string::npos)
        << v.reason;
    EXPECT_NE(clamd.ping().find("cannot connect to clamd at " + address), std::string::npos);
  }
}

TEST(ClamdAnalyzerUnreachableTest, MissingFileIsUnscannedForGood) {
  ClamdAnalyzer clamd(settingsFor(closedPort()));
  auto v = scan(clamd, "/nonexistent/bccsink/file");
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_FALSE(v.transient);
  EXPECT_NE(v.reason.find("cannot read /nonexistent/bccsink/file"), std::string::npos);
}

// A server that takes connections (the kernel completes them for the listen backlog) and
// never says a word: the analyzer gives up at its timeout.
TEST(ClamdAnalyzerUnreachableTest, SilentServerTimesOutAsTransient) {
  TempDir dir;
  auto file = writeFile(dir, "note.txt", "hello");
  Poco::Net::ServerSocket tcp(Poco::Net::SocketAddress("127.0.0.1", 0));
  Poco::Net::ServerSocket local;
  local.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, dir / "silent.sock"));
  local.listen();
  for (auto address :
       {"127.0.0.1:" + std::to_string(tcp.address().port()), "unix:" + (dir / "silent.sock")}) {
    ClamdAnalyzer clamd(settingsFor(address, 300ms));
    auto start = Clock::now();
    auto v = scan(clamd, file);
    auto took = Clock::now() - start;
    EXPECT_EQ(v.kind, VerdictKind::Unscanned);
    EXPECT_TRUE(v.transient);
    EXPECT_NE(v.reason.find("timed out after 300 ms waiting for clamd's answer"), std::string::npos)
        << v.reason;
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 5s);
    EXPECT_NE(clamd.ping().find("timed out after 300 ms"), std::string::npos) << address;
  }
}

// A server that takes the file and hangs up without a word.
TEST(ClamdAnalyzerUnreachableTest, ServerThatHangsUpIsTransient) {
  TempDir dir;
  auto file = writeFile(dir, "note.txt", "hello");
  Poco::Net::ServerSocket server(Poco::Net::SocketAddress("127.0.0.1", 0));
  std::thread hangUp([&] {
    auto s = server.acceptConnection();
    char buf[256];
    s.setReceiveTimeout(Poco::Timespan(5, 0));
    s.receiveBytes(buf, sizeof buf);
    s.close();
  });
  ClamdAnalyzer clamd(settingsFor("127.0.0.1:" + std::to_string(server.address().port())));
  auto v = scan(clamd, file);
  hangUp.join();
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_TRUE(v.transient);
  EXPECT_NE(v.reason.find("clamd closed the connection"), std::string::npos) << v.reason;
}

// The runner's stop() answers what waits, and its stop token cuts the conversation in
// progress short at once (stop() waits for it: a 60 s timeout would show).
TEST(ClamdAnalyzerUnreachableTest, RunnerStopAnswersEverythingAndCutsTheConversationShort) {
  TempDir dir;
  auto file = writeFile(dir, "note.txt", "hello");
  Poco::Net::ServerSocket silent(Poco::Net::SocketAddress("127.0.0.1", 0));
  auto settings = settingsFor("127.0.0.1:" + std::to_string(silent.address().port()), 60s);
  settings.threads = 1;
  auto made = ClamdAnalyzer::make(settings);
  EXPECT_EQ(made.runner.maxConcurrent, 1u);
  EXPECT_EQ(made.runner.attemptTimeout, 65s);
  AnalyzerRunner runner(made.analyzer, made.runner);
  Answers answers;
  for (auto key : {"a", "b", "c"})
    runner.submit(fileAt(file), Clock::now() + 60s, answers.callback(key));
  ASSERT_TRUE(eventually([&] { return runner.inFlight() == 1; }));  // "a"; "b", "c" wait
  std::this_thread::sleep_for(50ms);  // "a" is talking to the silent server
  auto start = Clock::now();
  runner.stop();
  EXPECT_LT(Clock::now() - start, 2s);
  ASSERT_TRUE(answers.wait(3, 1s));
  for (auto key : {"a", "b", "c"}) {
    auto a = answers.get(key);
    EXPECT_EQ(a.count, 1) << key;
    EXPECT_EQ(a.verdict.kind, VerdictKind::Unscanned) << key;
    EXPECT_EQ(a.verdict.reason, "shutting down") << key;
  }
}

// Through the runner, a clamd that stays down ends as a fail-open unscanned verdict.
TEST(ClamdAnalyzerUnreachableTest, RunnerRetriesThenFailsOpen) {
  TempDir dir;
  auto file = writeFile(dir, "note.txt", "hello");
  auto clamd = std::make_shared<ClamdAnalyzer>(settingsFor("unix:" + (dir / "down.sock")));
  RunnerSettings rs;
  rs.backoffBase = 20ms;
  rs.backoffCap = 50ms;
  AnalyzerRunner runner(clamd, rs);
  Answers answers;
  runner.submit(fileAt(file), Clock::now() + 400ms, answers.callback("file"));
  ASSERT_TRUE(answers.wait(1, 10s));
  auto v = answers.get("file").verdict;
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_FALSE(v.transient);
  EXPECT_NE(v.reason.find("analyzer unreachable until the deadline: cannot connect to clamd"),
            std::string::npos)
      << v.reason;
}

// ---- a real clamd, started once for the suite ----

class ClamdAnalyzerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    try {
      clamd_ = std::make_unique<ClamdProcess>("2M");
    } catch (const std::exception& e) {
      startError_ = e.what();
    }
  }
  static void TearDownTestSuite() { clamd_.reset(); }

  void SetUp() override { ASSERT_TRUE(clamd_) << "no clamd to test against: " << startError_; }

  static std::unique_ptr<ClamdProcess> clamd_;
  static std::string startError_;
};

std::unique_ptr<ClamdProcess> ClamdAnalyzerTest::clamd_;
std::string ClamdAnalyzerTest::startError_;

TEST_F(ClamdAnalyzerTest, PingsOverUnixAndTcp) {
  EXPECT_EQ(ClamdAnalyzer(settingsFor(clamd_->unixSocket())).ping(), "");
  EXPECT_EQ(ClamdAnalyzer(settingsFor(clamd_->tcpSocket())).ping(), "");
}

TEST_F(ClamdAnalyzerTest, ClamExeIsDangerousWithTheSignatureName) {
  for (const auto& address : {clamd_->unixSocket(), clamd_->tcpSocket()}) {
    ClamdAnalyzer clamd(settingsFor(address));
    auto v = scan(clamd, std::string(kClamavTestfiles) + "/clam.exe");
    EXPECT_EQ(v.kind, VerdictKind::Dangerous) << address << ": " << v.reason;
    EXPECT_EQ(v.score, 100);
    EXPECT_EQ(v.threats, std::vector<std::string>{kClamExeSignature}) << address;
  }
}

// clamd unpacks archives, packers, installers and documents: every file of
// clamav-testfiles holds clam.exe, so the one MD5 signature finds each of them.
TEST_F(ClamdAnalyzerTest, EveryClamavTestfileIsDangerous) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(kClamavTestfiles))
    files.push_back(e.path().string());
  ASSERT_GE(files.size(), 40u) << kClamavTestfiles;
  auto settings = settingsFor(clamd_->tcpSocket());
  settings.threads = 4;
  auto clamd = ClamdAnalyzer::make(settings);
  AnalyzerRunner runner(clamd.analyzer, clamd.runner);
  Answers answers;
  for (const auto& f : files) runner.submit(fileAt(f), Clock::now() + 60s, answers.callback(f));
  ASSERT_TRUE(answers.wait(files.size(), 60s));
  for (const auto& f : files) {
    auto a = answers.get(f);
    EXPECT_EQ(a.count, 1) << f;
    EXPECT_EQ(a.verdict.kind, VerdictKind::Dangerous) << f << ": " << a.verdict.reason;
    EXPECT_EQ(a.verdict.threats, std::vector<std::string>{kClamExeSignature}) << f;
  }
}

TEST_F(ClamdAnalyzerTest, CleanAndEmptyFilesAreClean) {
  TempDir dir;
  auto text = writeFile(dir, "note.txt", "Minutes of the meeting.\n");
  auto empty = writeFile(dir, "empty", "");
  // More than one chunk, so that the framing of several chunks is exercised.
  auto big = writeFile(dir, "big.bin", std::string(200 * 1024 + 7, 'x'));
  for (const auto& address : {clamd_->unixSocket(), clamd_->tcpSocket()}) {
    ClamdAnalyzer clamd(settingsFor(address));
    for (const auto& f : {text, empty, big}) {
      auto v = scan(clamd, f);
      EXPECT_EQ(v.kind, VerdictKind::Clean) << address << " " << f << ": " << v.reason;
      EXPECT_TRUE(v.threats.empty());
    }
  }
}

// The body signature sits across a chunk boundary: clamd sees one stream.
TEST_F(ClamdAnalyzerTest, BodySignatureIsFoundAcrossChunks) {
  TempDir dir;
  auto bytes = std::string(64 * 1024 - 10, 'a') + kMarker + std::string(1000, 'b');
  auto file = writeFile(dir, "report.txt", bytes);
  ClamdAnalyzer clamd(settingsFor(clamd_->unixSocket()));
  auto v = scan(clamd, file);
  EXPECT_EQ(v.kind, VerdictKind::Dangerous) << v.reason;
  EXPECT_EQ(v.threats, std::vector<std::string>{kMarkerSignature});
}

// clamd here takes at most 2M; a bigger stream is refused, never passed as clean.
TEST_F(ClamdAnalyzerTest, StreamOverClamdsStreamMaxLengthIsUnscanned) {
  TempDir dir;
  auto file = writeFile(dir, "big.bin", kMarker + std::string(3 * 1024 * 1024, 'z'));
  for (const auto& address : {clamd_->unixSocket(), clamd_->tcpSocket()}) {
    ClamdAnalyzer clamd(settingsFor(address));
    auto v = scan(clamd, file);
    EXPECT_EQ(v.kind, VerdictKind::Unscanned) << address;
    EXPECT_EQ(v.reason, "file over clamd's StreamMaxLength") << address;
    EXPECT_FALSE(v.transient) << address;
    EXPECT_EQ(clamd.ping(), "") << "clamd must still be up";
  }
}

TEST_F(ClamdAnalyzerTest, FileOverOurOwnLimitIsNotSent) {
  TempDir dir;
  auto file = writeFile(dir, "big.bin", kMarker + std::string(1000, 'z'));
  Poco::Net::ServerSocket listener(Poco::Net::SocketAddress("127.0.0.1", 0));
  auto settings = settingsFor("127.0.0.1:" + std::to_string(listener.address().port()));
  settings.maxStreamSize = 1000;
  ClamdAnalyzer clamd(settings);
  auto v = scan(clamd, file);
  EXPECT_EQ(v.kind, VerdictKind::Unscanned);
  EXPECT_FALSE(v.transient);
  EXPECT_NE(v.reason.find("is over ClamdMaxStreamSize (1000 bytes)"), std::string::npos)
      << v.reason;
  EXPECT_FALSE(listener.poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ))
      << "nobody should have connected";
  // At the limit it is sent, and found.
  settings.socket = clamd_->unixSocket();
  settings.maxStreamSize = std::filesystem::file_size(file);
  ClamdAnalyzer atLimit(settings);
  EXPECT_EQ(scan(atLimit, file).kind, VerdictKind::Dangerous);
}

// clamd going away (restarted, upgraded, killed) is a failure that passes.
TEST_F(ClamdAnalyzerTest, ClamdThatStopsIsTransient) {
  ClamdProcess own;
  auto clamExe = std::string(kClamavTestfiles) + "/clam.exe";
  ClamdAnalyzer local(settingsFor(own.unixSocket()));
  ClamdAnalyzer tcp(settingsFor(own.tcpSocket()));
  EXPECT_EQ(scan(local, clamExe).kind, VerdictKind::Dangerous);
  EXPECT_EQ(scan(tcp, clamExe).kind, VerdictKind::Dangerous);
  own.stop();
  for (auto* clamd : {&local, &tcp}) {
    auto v = scan(*clamd, clamExe);
    EXPECT_EQ(v.kind, VerdictKind::Unscanned);
    EXPECT_TRUE(v.transient);
    EXPECT_NE(v.reason.find("cannot connect to clamd"), std::string::npos) << v.reason;
  }
}

// The daemon's shape: a runner over the analyzer, 8 files in flight at once, each answer
// its own file's, none on the runner's caller.
TEST_F(ClamdAnalyzerTest, EightAtOnceThroughAnAnalyzerRunner) {
  TempDir dir;
  std::map<std::string, VerdictKind> expected;
  for (auto name : {"clam.zip", "clam.7z", "clam-upx.exe", "clam.pdf", "clam.ole.doc",
                    "clam.tar.gz", "clam.cab", "clam.exe.rtf"}) {
    expected[std::string(kClamavTestfiles) + "/" + name] = VerdictKind::Dangerous;
  }
  for (int i = 0; i < 8; ++i) {
    auto f = writeFile(dir, "clean" + std::to_string(i), "clean file number " + std::to_string(i));
    expected[f] = VerdictKind::Clean;
  }
  auto settings = settingsFor(clamd_->unixSocket());
  settings.threads = 8;
  RunnerSettings rs;
  rs.maxConcurrent = 8;
  rs.attemptTimeout = 15s;
  AnalyzerRunner runner(std::make_shared<ClamdAnalyzer>(settings), rs);
  Answers answers;
  for (const auto& [path, kind] : expected)
    runner.submit(fileAt(path), Clock::now() + 20s, answers.callback(path));
  ASSERT_TRUE(answers.wait(expected.size()));
  for (const auto& [path, kind] : expected) {
    auto a = answers.get(path);
    EXPECT_EQ(a.count, 1) << path;
    EXPECT_EQ(a.verdict.kind, kind) << path << ": " << a.verdict.reason;
    EXPECT_NE(a.thread, std::this_thread::get_id()) << path;
  }
  EXPECT_EQ(runner.inFlight(), 0u);
}

}  // namespace
