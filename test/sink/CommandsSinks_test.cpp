// The administrator's commands on a database shared by two sinks (issue 15), run as
// `bccsink` runs them: a message's bytes and report come only from the sink that received
// it (another says which sink that is, even when a spool file of the same name is here);
// statistics are every sink's summed, or one sink's with --sink.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/Clock.h"
#include "base/JsonText.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "db/StatsRepository.h"
#include "report/stats/StatsCounters.h"
#include "sink/Commands.h"
#include "test/TempDir.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

namespace {

const std::string kOwn = "01JOWN0000000000000000000A";    // sink-a's, spooled here
const std::string kOther = "01JOTHER00000000000000000B";  // sink-b's, spooled there
const std::string kOwnBytes = "Subject: mine\r\nFrom: a@example.org\r\n\r\nhello\r\n";

// What a command printed, and its exit code.
struct Ran {
  int code = 0;
  std::string out, err;
};

class CommandsSinks : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(data + "/spool");
    db::Database database("sqlite:" + data + "/bccsink.db");
    database.migrate();
    db::MessageQueue queue(database);
    for (const auto& [id, sink] : {std::pair{kOwn, "sink-a"}, std::pair{kOther, "sink-b"}}) {
      queue.insertPending({test::sampleRecord(id, "2026-11-30T04:01:00.000Z", sink)});
      auto m = queue.claimNext(sink, nowMs() + 60000, nowMs() + 60000, isoNow());
      ASSERT_TRUE(m && m->id == id);
      ASSERT_TRUE(queue.markChecked(id, sink, "clean", "2026-11-30T04:02:00.000Z"));
      db::ReportQueue(database).judge(id, false, "", false);
    }
    std::ofstream(data + "/spool/" + kOwn + ".eml") << kOwnBytes;
    // A file of the other message's name here is not that message.
    std::ofstream(data + "/spool/" + kOther + ".eml") << "Subject: not sink-b's\r\n\r\nx\r\n";
    store(database, "sink-a", 2);
    store(database, "sink-b", 3);
  }

  static void store(db::Database& database, const std::string& sink, std::int64_t messages) {
    report::IntervalStats s;
    s.startMs = report::msFromIso("2026-11-30T04:00:00Z");
    s.endMs = s.startMs + 5 * 60 * 1000;
    s.messages = messages;
    db::StatsRow row;
    row.sink = sink;
    row.startMs = s.startMs;
    row.endMs = s.endMs;
    row.computedAt = "2026-11-30T04:05:10.000Z";
    row.counters = jsonText(report::toJson(s));
    ASSERT_TRUE(db::StatsRepository(database).save(row));
  }

  // `bccsink ARGS --DataDir DATA --SinkName sink-a`.
  Ran run(int (*command)(const std::vector<std::string>&), std::vector<std::string> args) {
    for (const char* a : {"--DataDir", "", "--SinkName", "sink-a"}) args.emplace_back(a);
    args[args.size() - 3] = data;
    std::ostringstream out, err;
    auto* oldOut = std::cout.rdbuf(out.rdbuf());
    auto* oldErr = std::cerr.rdbuf(err.rdbuf());
    Ran r;
    r.code = command(args);
    std::cout.rdbuf(oldOut);
    std::cerr.rdbuf(oldErr);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  static Poco::JSON::Object::Ptr json(const std::string& text) {
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
  }

  test::TempDir dir;
  std::string data = dir / "data";
};

}  // namespace

TEST_F(CommandsSinks, QueueShowRawGivesOnlyThisSinksMessages) {
  auto own = run(runQueue, {"show", kOwn, "--raw"});
  EXPECT_EQ(own.code, 0) << own.err;
  EXPECT_EQ(own.out, kOwnBytes);

  auto other = run(runQueue, {"show", kOther, "--raw"});
  EXPECT_EQ(other.code, 1);
  EXPECT_TRUE(other.out.empty()) << other.out;
  EXPECT_NE(other.err.find("message " + kOther + " is held by sink sink-b"), std::string::npos)
      << other.err;
}

TEST_F(CommandsSinks, QueueShowGivesEverySinksRowAndSaysWhereTheSpoolFileIs) {
  auto other = run(runQueue, {"show", kOther});
  EXPECT_EQ(other.code, 0) << other.err;
  EXPECT_NE(other.out.find("\"sink\": \"sink-b\""), std::string::npos) << other.out;
  EXPECT_NE(other.out.find("spool: " + kOther + ".eml on sink sink-b (not this one)"),
            std::string::npos)
      << other.out;
  auto own = run(runQueue, {"show", kOwn});
  EXPECT_NE(own.out.find("spool: " + data + "/spool/" + kOwn + ".eml"), std::string::npos)
      << own.out;
}

TEST_F(CommandsSinks, ReportShowIsBuiltOnTheSinkThatHoldsTheMessage) {
  auto own = run(runReport, {"show", kOwn, "--json"});
  EXPECT_EQ(own.code, 0) << own.err;
  EXPECT_EQ(json(own.out)->getObject("message")->getValue<std::string>("subject"), "mine");

  for (const char* action : {"show", "resend"}) {
    auto other = run(runReport, {action, kOther});
    EXPECT_EQ(other.code, 1) << action;
    EXPECT_TRUE(other.out.empty()) << action << ": " << other.out;
    EXPECT_NE(other.err.find("is held by sink sink-b"), std::string::npos) << other.err;
  }
}

TEST_F(CommandsSinks, StatsSumEverySinkOrShowOne) {
  const std::string since = "2026-11-30T03:50:00Z";
  auto all = run(runStats, {"--json", "--since", since});
  ASSERT_EQ(all.code, 0) << all.err;
  auto j = json(all.out);
  EXPECT_TRUE(j->isNull("sink"));
  EXPECT_EQ(j->getObject("totals")->getValue<int>("messages"), 5);
  auto sinks = j->getArray("sinks");
  ASSERT_EQ(sinks->size(), 2u);
  EXPECT_EQ(sinks->getObject(0)->getValue<std::string>("sink"), "sink-a");
  EXPECT_EQ(sinks->getObject(0)->getObject("totals")->getValue<int>("messages"), 2);
  EXPECT_EQ(sinks->getObject(1)->getValue<std::string>("sink"), "sink-b");
  EXPECT_EQ(sinks->getObject(1)->getObject("totals")->getValue<int>("messages"), 3);

  auto b = run(runStats, {"--json", "--since", since, "--sink", "sink-b"});
  ASSERT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(json(b.out)->getValue<std::string>("sink"), "sink-b");
  EXPECT_EQ(json(b.out)->getObject("totals")->getValue<int>("messages"), 3);

  auto table = run(runStats, {"--since", since});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_EQ(table.out.rfind("statistics of every sink (sink-a, sink-b) from ", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("messages by sink:  sink-a 2  sink-b 3\n"), std::string::npos)
      << table.out;
  auto one = run(runStats, {"--since", since, "--sink", "sink-a"});
  EXPECT_EQ(one.out.rfind("statistics of sink-a from ", 0), 0u) << one.out;
  EXPECT_EQ(one.out.find("messages by sink"), std::string::npos);
}
