// The emulator that the vxCube tests and benchmarks lean on: its fault specs, its control
// endpoints and the calls that the client tests do not reach.
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <string>

#include "sandbox/analyzers/vxcube/VxcubeClient.h"
#include "sandbox/analyzers/vxcube/emulator/Emulator.h"
#include "test/TempDir.h"

using bccsink::emulator::Emulator;
using bccsink::emulator::EmulatorOptions;
using bccsink::emulator::FaultKind;
using bccsink::emulator::FaultTable;
using bccsink::emulator::parseFault;
using bccsink::emulator::readSha256List;
using bccsink::sandbox::CallOutcome;
using bccsink::sandbox::VxcubeClient;
using bccsink::sandbox::VxcubeSettings;
using bccsink::test::TempDir;

namespace {

using namespace std::chrono_literals;

const std::string kKey = "emu-key-0001";

EmulatorOptions options() {
  EmulatorOptions o;
  o.apiKey = kKey;
  o.maxThreads = 4;
  return o;
}

VxcubeClient clientFor(const Emulator& emu, const std::string& key = kKey) {
  VxcubeSettings s;
  s.apiAddress = emu.baseUrl();
  s.apiKey = key;
  return VxcubeClient(s);
}

// A raw call, for the control endpoints: status and body.
std::pair<int, std::string> raw(const Emulator& emu, const std::string& method,
                                const std::string& path, const std::string& body = "") {
  Poco::Net::HTTPClientSession session(emu.host(), emu.port());
  Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentLength(static_cast<std::streamsize>(body.size()));
  session.sendRequest(request) << body;
  Poco::Net::HTTPResponse response;
  std::string text;
  Poco::StreamCopier::copyToString(session.receiveResponse(response), text);
  return {static_cast<int>(response.getStatus()), text};
}

std::int64_t stat(const Emulator& emu, const std::string& name) {
  auto [status, body] = raw(emu, "GET", "/_emulator/stats");
  EXPECT_EQ(status, 200);
  return Poco::JSON::Parser()
      .parse(body)
      .extract<Poco::JSON::Object::Ptr>()
      ->getValue<std::int64_t>(name);
}

}  // namespace

TEST(VxcubeEmulatorFault, SpecsParse) {
  auto f = parseFault("lookup:429");
  EXPECT_EQ(f.call, "lookup");
  EXPECT_EQ(f.kind, FaultKind::Status);
  EXPECT_EQ(f.status, 429);
  EXPECT_EQ(f.rate, 1.0);
  EXPECT_EQ(f.remaining, -1);
  f = parseFault("any:hang:x2");
  EXPECT_EQ(f.kind, FaultKind::Hang);
  EXPECT_EQ(f.remaining, 2);
  f = parseFault("poll:badjson:0.25");
  EXPECT_EQ(f.kind, FaultKind::BrokenJson);
  EXPECT_DOUBLE_EQ(f.rate, 0.25);
  f = parseFault("upload:slow1500");
  EXPECT_EQ(f.kind, FaultKind::Slow);
  EXPECT_EQ(f.delayMs, 1500);
  EXPECT_EQ(parseFault("report:reset").kind, FaultKind::Reset);
  for (const char* bad : {"lookup", "nothing:500", "lookup:200", "lookup:boom", "lookup:500:2",
                          "lookup:500:x0", "lookup:500:0", "lookup:500:abc", "a:b:c:d"}) {
    EXPECT_THROW(parseFault(bad), std::invalid_argument) << bad;
  }
}

TEST(VxcubeEmulatorFault, CountedFaultsRunOutAndRatesHoldRoughly) {
  FaultTable table;
  table.add(parseFault("lookup:500:x2"));
  EXPECT_TRUE(table.pick("lookup"));
  EXPECT_FALSE(table.pick("upload"));
  EXPECT_TRUE(table.pick("lookup"));
  EXPECT_FALSE(table.pick("lookup"));
  EXPECT_TRUE(table.list().empty());
  table.add(parseFault("any:503:0.5"));
  int hits = 0;
  for (int i = 0; i < 400; ++i) hits += table.pick("poll").has_value();
  EXPECT_GT(hits, 120);
  EXPECT_LT(hits, 280);
}

TEST(VxcubeEmulatorLists, DigestListsAreCheckedLineByLine) {
  TempDir dir;
  auto path = dir / "list.txt";
  std::ofstream(path) << "# dangerous\n\n" << std::string(64, 'a') << " comment\n";
  EXPECT_EQ(readSha256List(path), std::vector<std::string>{std::string(64, 'a')});
  std::ofstream(path) << std::string(63, 'a') << "\n";
  try {
    readSha256List(path);
    ADD_FAILURE() << "accepted a short digest";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":1:"), std::string::npos) << e.what();
  }
}

TEST(VxcubeEmulatorControl, FaultsLatencyAndStatsAtRuntime) {
  Emulator emu(options());
  auto client = clientFor(emu);
  Poco::Dynamic::Var answer;
  auto [status, body] =
      raw(emu, "POST", "/_emulator/faults", R"({"add": ["license:500:x1"], "latency_ms": 150})");
  EXPECT_EQ(status, 200) << body;
  EXPECT_EQ(body, R"(["license:500:x1"])");
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.call("GET", "license", "", answer).httpStatus, 500);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_TRUE(client.call("GET", "license", "", answer).ok());
  EXPECT_EQ(raw(emu, "POST", "/_emulator/faults", R"({"add": ["nope:500"]})").first, 400);
  EXPECT_EQ(raw(emu, "POST", "/_emulator/faults", R"({"add": ["any:500"], "clear": true})").first,
            200);
  EXPECT_EQ(client.call("GET", "formats", "", answer).httpStatus, 500);
  EXPECT_EQ(raw(emu, "DELETE", "/_emulator/faults").second, "[]");
  EXPECT_TRUE(client.call("GET", "formats", "", answer).ok());
  EXPECT_EQ(stat(emu, "faults"), 2);
  EXPECT_EQ(stat(emu, "requests"), 4);
}

TEST(VxcubeEmulatorApi, LoginKeysAndUnknownCalls) {
  Emulator emu(options());
  auto client = clientFor(emu, "whatever");
  Poco::Dynamic::Var answer;
  ASSERT_TRUE(
      client.call("POST", "login", R"({"login": "emulator", "password": "emulator"})", answer)
          .ok());
  EXPECT_EQ(answer.extract<Poco::JSON::Object::Ptr>()->getValue<std::string>("api_key"), kKey);
  EXPECT_EQ(client.call("POST", "login", R"({"login": "x", "password": "y"})", answer).outcome,
            CallOutcome::ConfigError);
  EXPECT_EQ(client.call("GET", "license", "", answer).httpStatus, 401);
  auto right = clientFor(emu);
  auto r = right.call("GET", "nothing/here", "", answer);
  EXPECT_EQ(r.httpStatus, 404);
  EXPECT_EQ(r.outcome, CallOutcome::Failed);
  ASSERT_TRUE(right.call("GET", "license", "", answer).ok());
  EXPECT_EQ(answer.extract<Poco::JSON::Object::Ptr>()->getValue<int>("max_run_time"), 600);
  EXPECT_EQ(raw(emu, "GET", "/api-2.0/platforms").first, 401);  // no Authorization at all
  EXPECT_EQ(stat(emu, "refused"), 2);
}
