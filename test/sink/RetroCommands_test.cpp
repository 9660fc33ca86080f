// The administrator's commands and retro-alerts: `queue show --json` lists the alerts that
// name a message, `report show|resend ALERT-ID` shows or delivers the retro report (from
// any sink sharing the database: it needs no spool).

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "db/RetroReports.h"
#include "sink/Commands.h"
#include "test/TempDir.h"
#include "test/db/RetroRows.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;

namespace {

const std::string kMessage = "01JMSG00000000000000000000";
const std::string kAlert = "01JRETRO000000000000000000";

struct Ran {
  int code = 0;
  std::string out, err;
};

class RetroCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(data + "/spool");
    db::Database database("sqlite:" + data + "/bccsink.db");
    database.migrate();
    db::MessageQueue(database).insertPending(
        {test::sampleRecord(kMessage, "2026-11-30T04:01:00.000Z", "sink-b")});
    test::RetroAlertRow a;
    a.id = kAlert;
    a.sink = "sink-b";  // another sink found it: the commands still show and send it
    a.messages = {{kMessage}};
    test::insertRetroAlert(database, a);
  }

  Ran run(int (*command)(const std::vector<std::string>&), std::vector<std::string> args) {
    for (const std::string& a : {std::string("--DataDir"), data, std::string("--SinkName"),
                                 std::string("sink-a"), std::string("--BccReportMaildir"), outbox})
      args.push_back(a);
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

  test::TempDir dir;
  std::string data = dir / "data";
  std::string outbox = dir / "outbox";
};

}  // namespace

TEST_F(RetroCommands, QueueShowJsonListsTheAlertsThatNameTheMessage) {
  auto r = run(runQueue, {"show", kMessage, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto o = Poco::JSON::Parser().parse(r.out).extract<Poco::JSON::Object::Ptr>();
  ASSERT_TRUE(o->isArray("retro")) << r.out;
  auto retro = o->getArray("retro");
  ASSERT_EQ(retro->size(), 1u);
  auto x = retro->getObject(0);
  EXPECT_EQ(x->getValue<std::string>("alert"), kAlert);
  EXPECT_TRUE(x->getValue<bool>("retro"));
  EXPECT_EQ(x->getValue<std::string>("earlier_verdict"), "clean");
  EXPECT_EQ(x->getValue<std::string>("verdict"), "dangerous");
  EXPECT_EQ(x->getValue<std::string>("analyzer"), "yara");
  EXPECT_EQ(x->getArray("threats")->size(), 2u);
}

TEST_F(RetroCommands, ReportShowAndResendTakeAnAlertId) {
  auto text = run(runReport, {"show", kAlert});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("bccsink retro-alert: invoice.exe is now dangerous"), std::string::npos)
      << text.out;
  auto json = run(runReport, {"show", kAlert, "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  EXPECT_NE(json.out.find("\"cause_text\": \"new YARA rules\""), std::string::npos) << json.out;
  auto mail = run(runReport, {"show", kAlert, "--mail"});
  EXPECT_NE(mail.out.find("X-Bccsink-Retro: yes\r\n"), std::string::npos);

  auto sent = run(runReport, {"resend", kAlert});
  ASSERT_EQ(sent.code, 0) << sent.err;
  EXPECT_NE(sent.out.find("retro report " + kAlert + " delivered"), std::string::npos) << sent.out;
  std::size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(outbox + "/new"))
    files += e.is_regular_file();
  EXPECT_EQ(files, 1u);
  db::Database database("sqlite:" + data + "/bccsink.db");
  EXPECT_EQ(db::RetroReports(database).find(kAlert)->reportStatus, "sent");

  auto unknown = run(runReport, {"show", "01JNOSUCH"});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_NE(unknown.err.find("no message 01JNOSUCH"), std::string::npos);
}
