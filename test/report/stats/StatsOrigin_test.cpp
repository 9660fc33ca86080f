// The connecting IP the statistics count: the reporter records the origin hop (the host
// that connected to the site's MTA, below bccsink's own Received header) when it judges a
// message, and the copy's client when there is none.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <optional>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/StatsRepository.h"
#include "report/Reporter.h"
#include "test/TempDir.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

namespace {}  // namespace

class StatsOriginTest : public test::EngineTest {
 protected:
  // The spool beside the SQLite file; a TempDir of its own only on PostgreSQL (a second
  // TempDir in one test is the same folder, which it would empty).
  StatsOriginTest() {
    if (postgres()) {
      dir.emplace();
      spool = *dir / "spool";
    } else {
      spool = std::filesystem::path(store_.url().substr(std::string("sqlite:").size()))
                  .replace_filename("spool")
                  .string();
    }
    std::filesystem::create_directories(spool);
  }

  // A checked copy from the site's MTA at 192.0.2.10 (bccsink's Received on top).
  void add(const std::string& id, const std::string& headers, bool spoolFile = true) {
    if (spoolFile) {
      std::ofstream(spool + "/" + id + ".eml")
          << "Received: from mta.example.com (mta.example.com [192.0.2.10])\r\n\tby sink.test; "
             "Mon, 30 Nov 2026 02:00:00 +0000\r\n"
          << headers << "From: a@example.org\r\nSubject: s\r\n\r\nbody\r\n";
    }
    auto r = test::sampleRecord(id, "2026-11-30T02:00:00.000Z");
    r.sender = "a@example.org";
    r.clientIp = "192.0.2.10";
    r.helo = "mta.example.com";
    r.size = 0;
    queue.insertPending({r});
    auto m = queue.claimNext("sink-a", nowMs() + 60000, nowMs() + 60000, isoNow());
    ASSERT_TRUE(m);
    ASSERT_TRUE(queue.markChecked(id, "sink-a", "clean", isoNow()));
  }

  std::optional<test::TempDir> dir;
  std::string url = store_.url();
  std::string spool;
  db::Database& database = *db_;
  db::MessageQueue queue{database};
};

TEST_P(StatsOriginTest, TheReporterRecordsTheOriginHopOrTheCopysClient) {
  add("01A",
      "Received: from x.example.net (x.example.net [203.0.113.9]) by mta.example.com "
      "(Postfix) with ESMTP id 1; Mon, 30 Nov 2026 01:59:00 +0000\r\n"
      "Received: from inner (inner [198.51.100.77]) by x.example.net; Mon, 30 Nov 2026 "
      "01:58:00 +0000\r\n");
  add("01B", "");         // sent by the MTA itself: no hop below bccsink's
  add("01C", "", false);  // spool file gone: judged anyway
  add("01D",
      "Received: from localhost by mta.example.com with local; Mon, 30 Nov 2026 "
      "01:59:00 +0000\r\n");  // a hop without an address
  report::ReporterSettings s;
  s.databaseUrl = url;
  s.spoolDir = spool;
  s.owner = "sink-a";
  s.spoof.skipTopReceived = 1;
  s.mail = {"bccsink@example.com", {"admin@example.com"}, "sink.test"};
  report::Reporter reporter(s, report::Templates::builtIn(),
                            [](const std::string&) { return report::DeliveryResult{}; });
  reporter.runOnce();
  auto rows = db::StatsRepository(database).rowsIn("sink-a", "2026-11-30T00:00:00.000Z",
                                                   "2026-12-01T00:00:00.000Z");
  std::map<std::string, std::string> ip;
  for (const auto& m : rows.messages) ip[m.id] = m.ip;
  EXPECT_EQ(ip["01A"], "203.0.113.9");  // the first hop below bccsink's, not an inner one
  EXPECT_EQ(ip["01B"], "192.0.2.10");
  EXPECT_EQ(ip["01C"], "192.0.2.10");
  EXPECT_EQ(ip["01D"], "192.0.2.10");
  EXPECT_EQ(db::StatsRepository(database).unjudgedIn("sink-a", "2026-11-30T00:00:00.000Z",
                                                     "2026-12-01T00:00:00.000Z"),
            0);
}

BCCSINK_ON_BOTH_ENGINES(StatsOriginTest);
