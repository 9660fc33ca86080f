// The statistics export against a local collector (Poco's HTTPServer on 127.0.0.1): plain
// HTTP to loopback, HTTPS with a certificate made by openssl and trusted through the CA
// file, refused, failing and hanging collectors; and the collector thread's retries.

#include "report/stats/StatsExporter.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/SSLManager.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "db/StatsRepository.h"
#include "report/stats/StatsCollector.h"
#include "report/stats/StatsCounters.h"
#include "test/TempDir.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"
#include "test/report/stats/StatsTestCollector.h"

using namespace bccsink;
namespace fs = std::filesystem;

namespace {

using std::chrono::milliseconds;

// A port nothing listens on: bound, then closed.
std::uint16_t closedPort() {
  Poco::Net::ServerSocket s(Poco::Net::SocketAddress("127.0.0.1", 0));
  auto port = s.address().port();
  s.close();
  return port;
}

class StatsExporterTls : public ::testing::Test {
 protected:
  // Certificates for the suite: one for localhost and 127.0.0.1, one for another name.
  static void SetUpTestSuite() {
    Poco::Net::initializeSSL();
    auto tmpl = (fs::temp_directory_path() / "bccsink-stats-tls-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    for (auto [name, subject, san] :
         {std::tuple{"good", "/CN=localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1"},
          std::tuple{"other", "/CN=collector.example", "subjectAltName=DNS:collector.example"}}) {
      std::string command =
          std::string("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj ") + subject +
          " -addext " + san + " -keyout " + dir_ + "/" + name + ".key -out " + dir_ + "/" + name +
          ".pem >/dev/null 2>&1";
      ASSERT_EQ(std::system(command.c_str()), 0)
          << "openssl could not make a certificate: run deploy/install-deps.sh";
    }
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  static Poco::Net::Context::Ptr server(const std::string& name) {
    return new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, dir_ + "/" + name + ".key",
                                  dir_ + "/" + name + ".pem", "", Poco::Net::Context::VERIFY_NONE);
  }
  static std::string pem(const std::string& name) { return dir_ + "/" + name + ".pem"; }

  static inline std::string dir_;
};

}  // namespace

TEST(StatsExporter, A2xxAnswerIsExportedAndTheBodyIsTheJsonAsGiven) {
  test::StatsTestCollector collector;
  collector.answer(202);
  report::StatsExporter exporter({collector.url(), ""});
  auto r = exporter.post("[{\"start\":\"2026-11-30T04:00:00Z\"}]");
  EXPECT_TRUE(r.ok) << r.reason;
  auto got = collector.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].uri, "/collect?site=test");
  EXPECT_EQ(got[0].contentType, "application/json");
  EXPECT_EQ(got[0].body, "[{\"start\":\"2026-11-30T04:00:00Z\"}]");
}

TEST(StatsExporter, A500IsNotExportedAndTheReasonNamesTheStatusNotTheAnswer) {
  test::StatsTestCollector collector;
  collector.answer(500);
  report::StatsExporter exporter({collector.url(), ""});
  auto r = exporter.post("[]");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.reason.rfind("HTTP 500", 0), 0u) << r.reason;
  EXPECT_EQ(r.reason.find("collector answer"), std::string::npos) << r.reason;
}

TEST(StatsExporter, ARefusedConnectionIsNotExported) {
  report::StatsExporter exporter({"http://127.0.0.1:" + std::to_string(closedPort()) + "/", ""});
  auto r = exporter.post("[]");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.reason.find("refused"), std::string::npos) << r.reason;
}

TEST(StatsExporter, AHangingCollectorTimesOutAndCancelEndsAWaitAtOnce) {
  test::StatsTestCollector collector;
  collector.hold(milliseconds(5000));
  report::StatsExporter timed({collector.url(), "", milliseconds(300)});
  auto t0 = std::chrono::steady_clock::now();
  auto r = timed.post("[]");
  EXPECT_FALSE(r.ok);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(2000)) << r.reason;

  report::StatsExporter exporter({collector.url(), "", std::chrono::seconds(30)});
  std::thread canceller([&] {
    while (collector.count() < 2) std::this_thread::sleep_for(milliseconds(10));
    exporter.cancel();
  });
  t0 = std::chrono::steady_clock::now();
  r = exporter.post("[]");
  canceller.join();
  EXPECT_FALSE(r.ok);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(2000)) << r.reason;
  EXPECT_EQ(exporter.post("[]").reason, "shutting down");
}

TEST(StatsExporter, AUrlOrCaFileItCannotUseStopsStartUpNamingTheOption) {
  try {
    report::StatsExporter e({"ftp://collector.example/", ""});
    FAIL() << "accepted ftp://";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("StatsExportUrl"), std::string::npos) << e.what();
  }
  try {
    report::StatsExporter e({"https://collector.example/", "/nonexistent/ca.pem"});
    FAIL() << "accepted a missing CA file";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("StatsExportCaFile"), std::string::npos) << e.what();
  }
}

TEST_F(StatsExporterTls, HttpsWithTheCollectorsCertificateAsCaIsExported) {
  test::StatsTestCollector collector(server("good"));
  report::StatsExporter exporter({collector.url("https"), pem("good")});
  auto r = exporter.post("[1]");
  EXPECT_TRUE(r.ok) << r.reason;
  ASSERT_EQ(collector.count(), 1u);
  EXPECT_EQ(collector.requests()[0].body, "[1]");
  report::StatsExporter byName({collector.url("https", "localhost"), pem("good")});
  r = byName.post("[2]");
  EXPECT_TRUE(r.ok) << r.reason;
}

TEST_F(StatsExporterTls, AnUntrustedCertificateIsNotExported) {
  test::StatsTestCollector collector(server("good"));
  report::StatsExporter exporter({collector.url("https"), ""});  // the system's CAs
  auto r = exporter.post("[1]");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(collector.count(), 0u) << "the body went to an unverified server";
}

TEST_F(StatsExporterTls, ACertificateForAnotherNameIsNotExported) {
  test::StatsTestCollector collector(server("other"));
  report::StatsExporter exporter({collector.url("https"), pem("other")});
  auto r = exporter.post("[1]");
  EXPECT_FALSE(r.ok) << "a certificate for collector.example accepted for 127.0.0.1";
  EXPECT_NE(r.reason.find("ertificate"), std::string::npos) << r.reason;
  EXPECT_EQ(collector.count(), 0u);
}

// --- the collector thread's export ----------------------------------------------------

namespace {

const std::int64_t kT0 = report::msFromIso("2026-11-30T04:00:00Z");

}  // namespace

class StatsExportRetry : public test::EngineTest {
 protected:
  void SetUp() override {
    db::MessageQueue(database).insertPending(
        {test::sampleRecord("M1", "2026-11-30T04:00:01.000Z")});
    database.session() << database.sql("UPDATE messages SET state = 'checked', verdict = 'clean'"),
        Poco::Data::Keywords::now;
    db::ReportQueue(database).judge("M1", false, "", false, "203.0.113.9");
  }

  report::StatsSettings settings(const std::string& url) {
    report::StatsSettings s;
    s.databaseUrl = store_.url();
    s.owner = "sink-a";
    s.interval = std::chrono::minutes(5);
    s.settle = milliseconds(1000);
    s.exportTo = report::ExportSettings{url, "", milliseconds(2000)};
    s.now = [this] { return now.load(); };
    return s;
  }

  db::Database& database = *db_;
  std::atomic<std::int64_t> now{kT0 + 60 * 1000};
};

TEST_P(StatsExportRetry, AStoredIntervalIsPostedOnceAsABatchWithTheSinksName) {
  test::StatsTestCollector collector;
  report::StatsCollector c(settings(collector.url()));
  EXPECT_EQ(c.runOnce(), 0u);  // the interval is not over
  EXPECT_EQ(collector.count(), 0u);
  now = kT0 + 5 * 60 * 1000 + 1000;  // over, and settled
  EXPECT_EQ(c.runOnce(), 1u);
  ASSERT_EQ(collector.count(), 1u);
  auto batch =
      Poco::JSON::Parser().parse(collector.requests()[0].body).extract<Poco::JSON::Array::Ptr>();
  ASSERT_EQ(batch->size(), 1u);
  auto interval = batch->getObject(0);
  EXPECT_EQ(interval->getValue<std::string>("sink"), "sink-a");
  EXPECT_EQ(interval->getValue<std::string>("start"), "2026-11-30T04:00:00Z");
  EXPECT_EQ(interval->getValue<std::int64_t>("messages"), 1);
  EXPECT_TRUE(interval->getObject("by_ip")->has("203.0.113.9"));
  EXPECT_EQ(db::StatsRepository(database).unexported("sink-a", 0, 10).size(), 0u);
  c.runOnce();
  EXPECT_EQ(collector.count(), 1u);  // not posted again
}

TEST_P(StatsExportRetry, A500IsRetriedWithBackOffUntilTheCollectorTakesIt) {
  test::StatsTestCollector collector;
  collector.answer(500);
  report::StatsCollector c(settings(collector.url()));
  now = kT0 + 5 * 60 * 1000 + 1000;
  c.runOnce();
  EXPECT_EQ(collector.count(), 1u);
  EXPECT_EQ(c.exportFailures(), 1);
  EXPECT_EQ(c.nextExportMs(), now + 30 * 1000);
  now += 29 * 1000;
  c.runOnce();
  EXPECT_EQ(collector.count(), 1u);  // not before its time
  now += 1000;
  c.runOnce();
  EXPECT_EQ(collector.count(), 2u);
  EXPECT_EQ(c.exportFailures(), 2);
  EXPECT_EQ(c.nextExportMs(), now + 60 * 1000);  // doubled
  EXPECT_EQ(db::StatsRepository(database).unexported("sink-a", 0, 10).size(), 1u);
  collector.answer(200);
  now += 60 * 1000;
  c.runOnce();
  EXPECT_EQ(collector.count(), 3u);
  EXPECT_EQ(c.exportFailures(), 0);
  EXPECT_EQ(db::StatsRepository(database).unexported("sink-a", 0, 10).size(), 0u);
}

TEST_P(StatsExportRetry, ARefusedConnectionIsRetriedAndTheBackOffStopsAtAnHour) {
  report::StatsCollector c(
      settings("http://127.0.0.1:" + std::to_string(closedPort()) + "/collect"));
  now = kT0 + 5 * 60 * 1000 + 1000;
  std::vector<std::int64_t> delays;
  for (int i = 1; i <= 9; ++i) {
    c.runOnce();
    EXPECT_EQ(c.exportFailures(), i);
    delays.push_back((c.nextExportMs() - now) / 1000);
    now = c.nextExportMs();
  }
  EXPECT_EQ(delays, (std::vector<std::int64_t>{30, 60, 120, 240, 480, 960, 1920, 3600, 3600}));
  auto waiting = db::StatsRepository(database).unexported("sink-a", 0, 10);
  ASSERT_FALSE(waiting.empty());
  EXPECT_EQ(waiting[0].startMs, kT0);  // still there, tried again later
}

TEST_P(StatsExportRetry, AHangingCollectorBlocksNeitherTheDatabaseNorStop) {
  test::StatsTestCollector collector;
  collector.hold(milliseconds(20000));
  auto s = settings(collector.url());
  s.exportTo->timeout = std::chrono::seconds(30);
  s.poll = milliseconds(50);
  now = kT0 + 5 * 60 * 1000 + 1000;
  report::StatsCollector c(s);
  c.start();
  for (int i = 0; i < 200 && collector.count() == 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(collector.count(), 1u);
  // The collector thread waits on the network: writers go on (no transaction held).
  db::MessageRecord r;
  r.id = "M2";
  r.sink = "sink-a";
  r.receivedAt = "2026-11-30T04:06:00.000Z";
  r.clientIp = "127.0.0.1";
  r.sha256 = std::string(64, 'b');
  r.spoolFile = "M2.eml";
  auto t0 = std::chrono::steady_clock::now();
  db::MessageQueue(database).insertPending({r});
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(1000));
  t0 = std::chrono::steady_clock::now();
  c.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, milliseconds(2000));
}

BCCSINK_ON_BOTH_ENGINES(StatsExportRetry);
