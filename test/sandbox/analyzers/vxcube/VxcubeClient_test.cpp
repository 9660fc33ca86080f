#include "sandbox/analyzers/vxcube/VxcubeClient.h"

#include <Poco/Net/ServerSocket.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include "sandbox/analyzers/vxcube/emulator/Emulator.h"
#include "sandbox/extract/Digest.h"
#include "test/TempDir.h"

using bccsink::emulator::Emulator;
using bccsink::emulator::EmulatorOptions;
using bccsink::emulator::Listed;
using bccsink::emulator::parseFault;
using bccsink::sandbox::CallOutcome;
using bccsink::sandbox::CallResult;
using bccsink::sandbox::safeUploadName;
using bccsink::sandbox::VxAnalysis;
using bccsink::sandbox::VxcubeClient;
using bccsink::sandbox::VxcubeSettings;
using bccsink::sandbox::VxSample;
using bccsink::test::TempDir;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

const std::string kKey = "k3y-6a1f0c2e9d8b";

EmulatorOptions emulatorOptions() {
  EmulatorOptions o;
  o.apiKey = kKey;
  o.analysisTime = 150ms;
  o.maxThreads = 8;
  return o;
}

VxcubeSettings settingsFor(const Emulator& emu) {
  VxcubeSettings s;
  s.apiAddress = emu.baseUrl();
  s.apiKey = kKey;
  s.requestTimeout = 2000ms;
  return s;
}

std::string writeFile(const TempDir& dir, const std::string& name, const std::string& bytes) {
  auto path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

// The result must not give the key away, whoever echoed it.
void expectNoKey(const CallResult& r, const std::string& key = kKey) {
  EXPECT_EQ(r.error.find(key), std::string::npos) << r.error;
}

class VxcubeClientTest : public ::testing::Test {
 protected:
  Emulator emu{emulatorOptions()};
  VxcubeClient client{settingsFor(emu)};
  TempDir dir;
};

}  // namespace

TEST(VxcubeClientAddress, HostNameMeansHttpsAndTheApiPath) {
  VxcubeSettings s;
  s.apiAddress = "vxcube.example.com";
  EXPECT_EQ(VxcubeClient(s).baseUrl(), "https://vxcube.example.com/api-2.0/");
  s.apiAddress = "vxcube.example.com:8443";
  EXPECT_EQ(VxcubeClient(s).baseUrl(), "https://vxcube.example.com:8443/api-2.0/");
  s.apiAddress = "http://127.0.0.1:8081";
  EXPECT_EQ(VxcubeClient(s).baseUrl(), "http://127.0.0.1:8081/api-2.0/");
  s.apiAddress = "http://127.0.0.1:8081/custom/api-2.0";
  EXPECT_EQ(VxcubeClient(s).baseUrl(), "http://127.0.0.1:8081/custom/api-2.0/");
  EXPECT_EQ(VxcubeClient(s).taskReportUrl("12"),
            "http://127.0.0.1:8081/custom/api-2.0/tasks/12/report");
}

TEST(VxcubeClientAddress, WrongAddressesNameTheOption) {
  for (const char* bad : {"", "ftp://host/", "http://", "http://host/?q=1"}) {
    VxcubeSettings s;
    s.apiAddress = bad;
    try {
      VxcubeClient c(s);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      EXPECT_EQ(std::string(e.what()).rfind("VxcubeApiAddress: ", 0), 0u) << e.what();
    }
  }
}

TEST(VxcubeClientUploadName, HeaderBreakingCharactersAreReplaced) {
  EXPECT_EQ(safeUploadName("invoice.pdf.exe", "x"), "invoice.pdf.exe");
  EXPECT_EQ(safeUploadName("a\"b\r\nX-Evil: 1\\c.exe", "x"), "a_b__X-Evil: 1_c.exe");
  EXPECT_EQ(safeUploadName("\xd0\xa1\xd1\x87\xd0\xb5\xd1\x82.doc", "x"), "________.doc");
  EXPECT_EQ(safeUploadName("", "fallback"), "fallback");
  EXPECT_EQ(safeUploadName("../", "fallback"), "fallback");
  auto longName = safeUploadName(std::string(300, 'a') + ".docm", "x");
  EXPECT_EQ(longName.size(), 120u);
  EXPECT_EQ(longName.substr(115), ".docm");
}

TEST_F(VxcubeClientTest, UnknownDigestIsNotFound) {
  std::optional<VxSample> found;
  auto r = client.findSample(std::string(64, 'a'), found);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_FALSE(found);
  EXPECT_EQ(emu.stats().lookups, 1u);
}

TEST_F(VxcubeClientTest, UploadedSampleIsFoundByItsDigest) {
  const std::string bytes = "MZ\x90 an executable of sorts";
  auto path = writeFile(dir, "tool.exe", bytes);
  std::vector<VxSample> samples;
  auto r = client.uploadSample(path, "a\"b\r\nX-Evil: 1.exe", samples);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(samples.size(), 1u);
  const auto sha256 = bccsink::sandbox::digest(bytes).sha256;
  EXPECT_EQ(samples[0].sha256, sha256);
  EXPECT_EQ(samples[0].name, "a_b__X-Evil: 1.exe");
  EXPECT_EQ(samples[0].formatName, "exe");
  EXPECT_TRUE(samples[0].numericId);
  EXPECT_NE(std::find(samples[0].platforms.begin(), samples[0].platforms.end(), "win10x64"),
            samples[0].platforms.end());

  std::optional<VxSample> found;
  ASSERT_TRUE(client.findSample(sha256, found).ok());
  ASSERT_TRUE(found);
  EXPECT_EQ(found->id, samples[0].id);
  EXPECT_EQ(emu.stats().uploads, 1u);
}

// A file its message did not keep (BccMaxStoredPerMessage) is uploaded from memory: the
// same sample as from a path, with no file anywhere.
TEST_F(VxcubeClientTest, AFileNotKeptIsUploadedFromMemory) {
  auto bytes = std::make_shared<const std::string>("MZ\x90 held in memory only");
  std::vector<VxSample> samples;
  auto r = client.uploadSampleBytes(bytes, "held.exe", samples);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].sha256, bccsink::sandbox::digest(*bytes).sha256);
  EXPECT_EQ(samples[0].name, "held.exe");
  EXPECT_EQ(emu.stats().uploads, 1u);
}

TEST_F(VxcubeClientTest, ContainerComesBackAsAListOfSamples) {
  auto path = writeFile(dir, "a.zip", std::string("PK\x03\x04", 4) + "members");
  std::vector<VxSample> samples;
  auto r = client.uploadSample(path, "a.zip", samples);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(samples[0].formatName, "zip");
}

TEST_F(VxcubeClientTest, AnalysisRunsToTheEndWithTheListedVerdict) {
  const std::string bytes = "MZ listed as dangerous";
  emu.list(Listed::Dangerous, bccsink::sandbox::digest(bytes).sha256);
  std::vector<VxSample> samples;
  ASSERT_TRUE(client.uploadSample(writeFile(dir, "d.exe", bytes), "d.exe", samples).ok());
  VxAnalysis a;
  auto r = client.startAnalysis(samples[0], {"win7x64", "win10x64"}, 60s, a);
  ASSERT_TRUE(r.ok()) << r.error;
  ASSERT_EQ(a.tasks.size(), 2u);
  EXPECT_FALSE(a.finished());
  EXPECT_EQ(a.tasks[0].status, "in queue");
  EXPECT_FALSE(a.tasks[0].maliciousness);
  const auto end = Clock::now() + 5s;
  while (!a.finished() && Clock::now() < end) {
    std::this_thread::sleep_for(50ms);
    ASSERT_TRUE(client.getAnalysis(a.id, a).ok());
  }
  ASSERT_TRUE(a.finished());
  for (const auto& t : a.tasks) {
    EXPECT_EQ(t.status, "successful");
    EXPECT_EQ(t.verdict, "malware2");
    EXPECT_EQ(t.maliciousness, 95);
    EXPECT_EQ(t.maliciousRules, std::vector<std::string>{"Emulator.Sha256List.Dangerous"});
  }
  bccsink::sandbox::VxTask task;
  ASSERT_TRUE(client.getTask(a.tasks[1].id, task).ok());
  EXPECT_EQ(task.platform, "win10x64");
}

TEST_F(VxcubeClientTest, OtherRefusalIsAFailureWithTheServersMessage) {
  std::vector<VxSample> samples;
  ASSERT_TRUE(client.uploadSample(writeFile(dir, "t.exe", "MZ"), "t.exe", samples).ok());
  VxAnalysis a;
  auto r = client.startAnalysis(samples[0], {"android7"}, 0s, a);
  EXPECT_EQ(r.outcome, CallOutcome::Failed);
  EXPECT_EQ(r.httpStatus, 400);
  EXPECT_NE(r.error.find("[platforms] 'android7' is not a platform for exe"), std::string::npos)
      << r.error;
  EXPECT_FALSE(r.outage);
}

TEST_F(VxcubeClientTest, WrongKeyIsAConfigurationErrorAndNeverEchoed) {
  auto s = settingsFor(emu);
  s.apiKey = "wr0ng-key-5e5e5e";
  VxcubeClient wrong(s);
  std::optional<VxSample> found;
  auto r = wrong.findSample(std::string(64, 'b'), found);
  EXPECT_EQ(r.outcome, CallOutcome::ConfigError);
  EXPECT_EQ(r.httpStatus, 401);
  EXPECT_FALSE(r.outage);
  EXPECT_NE(r.error.find("VxcubeApiKey"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("<api key>"), std::string::npos) << r.error;  // the echo, scrubbed
  expectNoKey(r, s.apiKey);
  EXPECT_EQ(emu.stats().refused, 1u);
}

TEST_F(VxcubeClientTest, InjectedForbiddenIsAConfigurationError) {
  emu.addFault(parseFault("any:403:x1"));
  std::vector<std::string> codes;
  auto r = client.getPlatforms(codes);
  EXPECT_EQ(r.outcome, CallOutcome::ConfigError);
  expectNoKey(r);
}

TEST_F(VxcubeClientTest, RateLimitIsTransientWithItsRetryAfter) {
  emu.addFault(parseFault("lookup:429:x1"));
  std::optional<VxSample> found;
  auto r = client.findSample(std::string(64, 'c'), found);
  EXPECT_EQ(r.outcome, CallOutcome::Transient);
  EXPECT_EQ(r.httpStatus, 429);
  EXPECT_EQ(r.retryAfter, 1000ms);
  EXPECT_FALSE(r.outage);  // the server is there, only busy
  EXPECT_TRUE(client.findSample(std::string(64, 'c'), found).ok());
}

TEST_F(VxcubeClientTest, ServerErrorIsATransientOutage) {
  emu.addFault(parseFault("lookup:500:x1"));
  std::optional<VxSample> found;
  auto r = client.findSample(std::string(64, 'd'), found);
  EXPECT_EQ(r.outcome, CallOutcome::Transient);
  EXPECT_TRUE(r.outage);
  EXPECT_NE(r.error.find("HTTP 500: emulated HTTP 500"), std::string::npos) << r.error;
}

TEST_F(VxcubeClientTest, HangIsCutAtTheRequestTimeout) {
  auto s = settingsFor(emu);
  s.requestTimeout = 300ms;
  VxcubeClient quick(s);
  emu.addFault(parseFault("lookup:hang:x1"));
  std::optional<VxSample> found;
  auto start = Clock::now();
  auto r = quick.findSample(std::string(64, 'e'), found);
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_EQ(r.outcome, CallOutcome::Transient);
  EXPECT_TRUE(r.outage);
  EXPECT_NE(r.error.find("no answer within 0.3s"), std::string::npos) << r.error;
}

TEST_F(VxcubeClientTest, ResetIsATransientOutage) {
  emu.addFault(parseFault("poll:reset:x1"));
  VxAnalysis a;
  auto r = client.getAnalysis("no-such-analysis", a);
  EXPECT_EQ(r.outcome, CallOutcome::Transient);
  EXPECT_TRUE(r.outage);
  EXPECT_EQ(r.httpStatus, 0);
}

TEST_F(VxcubeClientTest, BrokenJsonIsATransientOutage) {
  emu.addFault(parseFault("platforms:badjson:x1"));
  std::vector<std::string> codes;
  auto r = client.getPlatforms(codes);
  EXPECT_EQ(r.outcome, CallOutcome::Transient);
  EXPECT_TRUE(r.outage);
  EXPECT_NE(r.error.find("not JSON"), std::string::npos) << r.error;
  ASSERT_TRUE(client.getPlatforms(codes).ok());
  EXPECT_EQ(codes.size(), 5u);
}

TEST(VxcubeClientConnection, RefusedConnectionIsATransientOutage) {
  std::uint16_t port = 0;
  {
    Poco::Net::ServerSocket probe(Poco::Net::SocketAddress("127.0.0.1", 0));
    port = probe.address().port();
  }  // closed: nothing listens there now
  VxcubeSettings s;
  s.apiAddress = "http://127.0.0.1:" + std::to_string(port) + "/api-2.0/";
  s.apiKey = kKey;
  VxcubeClient c(s);
  std::optional<VxSample> found;
  auto r = c.findSample(std::string(64, 'f'), found);
  EXPECT_EQ(r.outcome, CallOutcome::Transient);
  EXPECT_TRUE(r.outage);
  expectNoKey(r);
}

TEST_F(VxcubeClientTest, CancelCutsACallInProgressShort) {
  auto s = settingsFor(emu);
  s.requestTimeout = 20s;
  VxcubeClient slow(s);
  emu.addFault(parseFault("lookup:hang:x1"));
  auto call = std::async(std::launch::async, [&] {
    std::optional<VxSample> found;
    return slow.findSample(std::string(64, '1'), found);
  });
  std::this_thread::sleep_for(200ms);
  auto start = Clock::now();
  slow.cancel();
  ASSERT_EQ(call.wait_for(3s), std::future_status::ready);
  EXPECT_LT(Clock::now() - start, 3s);
  auto r = call.get();
  EXPECT_EQ(r.outcome, CallOutcome::Transient);
  EXPECT_NE(r.error.find("shutting down"), std::string::npos) << r.error;
}

// HTTPS against the emulator with a certificate the test makes: trusted through
// VxcubeCaFile, refused as a configuration error without it, accepted with verification off.
TEST(VxcubeClientTls, CertificateIsCheckedAgainstTheCaFile) {
  TempDir dir;
  const auto cert = dir / "cert.pem", key = dir / "key.pem";
  const auto command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0)
      << "openssl could not make a certificate (deploy/install-deps.sh installs openssl)";
  auto options = emulatorOptions();
  options.tlsCert = cert;
  options.tlsKey = key;
  Emulator emu(options);
  ASSERT_EQ(emu.baseUrl().rfind("https://", 0), 0u);
  auto s = settingsFor(emu);
  std::vector<std::string> codes;

  s.caFile = cert;
  auto r = VxcubeClient(s).getPlatforms(codes);
  EXPECT_TRUE(r.ok()) << r.error;

  s.caFile = dir / "other.pem";  // a CA that did not sign it
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=other "
                         "-keyout " +
                         dir / "otherkey.pem" + " -out " + s.caFile + " >/dev/null 2>&1")
                            .c_str()),
            0);
  r = VxcubeClient(s).getPlatforms(codes);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.outcome, CallOutcome::ConfigError) << r.error;

  s.verifyTls = false;
  r = VxcubeClient(s).getPlatforms(codes);
  EXPECT_TRUE(r.ok()) << r.error;
}
