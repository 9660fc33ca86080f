// /api/retro and /api/retro/ID (report/retro's JSON through ApiHandlers, over a real
// HttpServer), and the "retro" list of a message's JSON.

#include <Poco/JSON/Array.h>
#include <gtest/gtest.h>

#include "db/RetroReports.h"
#include "test/db/RetroRows.h"
#include "test/report/http/HttpTestServer.h"

using namespace bccsink;

namespace {

class HttpApiRetro : public ::testing::Test {
 protected:
  void SetUp() override {
    test::RetroAlertRow late;
    late.id = "01JRETRO00000000000000000A";
    late.analyzer = "vxcube";
    late.cause = "late-answer";
    late.threats = "Trojan.Generic";
    late.createdAt = "2026-12-01T08:00:00.000Z";
    late.createdMs = 1764576000000;
    late.reportStatus = "sent";
    late.messages = {
        {test::kDangerous, "suspicious", "2026-11-30T01:00:01.000Z", "dangerous", "eicar.com"}};
    test::insertRetroAlert(server.database, late);
    test::RetroAlertRow rules;
    rules.id = "01JRETRO00000000000000000B";
    rules.messages = {
        {test::kDangerous, "clean", "2026-11-30T01:00:01.000Z", "dangerous", "eicar.com"},
        {test::kUnjudged, "clean", "2026-11-30T04:00:01.000Z", "dangerous", "a.zip > eicar.com"}};
    test::insertRetroAlert(server.database, rules);
    server.start();
  }

  std::vector<std::string> ids(const test::HttpAnswer& a) {
    std::vector<std::string> out;
    auto list = a.json()->getArray("alerts");
    for (std::size_t i = 0; i < list->size(); ++i)
      out.push_back(list->getObject(static_cast<unsigned>(i))->getValue<std::string>("id"));
    return out;
  }

  test::HttpTestServer server;
};

}  // namespace

TEST_F(HttpApiRetro, TheListIsNewestFirstWithFiltersAndLimits) {
  auto a = server.get("/api/retro");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(ids(a),
            (std::vector<std::string>{"01JRETRO00000000000000000B", "01JRETRO00000000000000000A"}));
  EXPECT_EQ(a.json()->getValue<int>("count"), 2);
  auto first = a.json()->getArray("alerts")->getObject(0);
  EXPECT_TRUE(first->getValue<bool>("retro"));
  EXPECT_EQ(first->getValue<std::string>("verdict"), "dangerous");
  EXPECT_EQ(first->getValue<std::string>("cause_text"), "new YARA rules");
  EXPECT_EQ(first->getValue<int>("message_count"), 2);
  EXPECT_EQ(first->getArray("threats")->size(), 2u);
  EXPECT_FALSE(first->has("messages"));  // the list does not carry them
  EXPECT_EQ(ids(server.get("/api/retro?limit=1")),
            (std::vector<std::string>{"01JRETRO00000000000000000B"}));
  EXPECT_EQ(ids(server.get("/api/retro?status=sent")),
            (std::vector<std::string>{"01JRETRO00000000000000000A"}));
  EXPECT_EQ(ids(server.get("/api/retro?until=2026-12-01T08:30:00Z")),
            (std::vector<std::string>{"01JRETRO00000000000000000A"}));
  EXPECT_TRUE(ids(server.get("/api/retro?sink=sink-z")).empty());
  EXPECT_EQ(server.get("/api/retro?status=lost").status, 400);
  EXPECT_EQ(server.get("/api/retro?limit=0").status, 400);
  EXPECT_EQ(server.get("/api/retro?nope=1").status, 400);
  EXPECT_EQ(server.get("/api/retro", "").status, 401);
  EXPECT_EQ(server.request("POST", "/api/retro").status, 405);
}

TEST_F(HttpApiRetro, OneAlertCarriesEveryMessageWithSenderAndRecipients) {
  auto a = server.get("/api/retro/01JRETRO00000000000000000B");
  ASSERT_EQ(a.status, 200) << a.body;
  auto o = a.json();
  EXPECT_EQ(o->getValue<std::string>("report_status"), "due");
  EXPECT_TRUE(o->isNull("reported_at"));
  auto messages = o->getArray("messages");
  ASSERT_EQ(messages->size(), 2u);
  auto m = messages->getObject(0);
  EXPECT_EQ(m->getValue<std::string>("id"), test::kDangerous);
  EXPECT_EQ(m->getValue<std::string>("sender"), "alice@example.org");
  EXPECT_EQ(m->getValue<std::string>("received_at"), "2026-11-30T01:00:00.000Z");
  // HttpTestServer's copies came by recipient_bcc_maps: the original recipient is decoded.
  EXPECT_EQ(m->getArray("recipients")->getElement<std::string>(0),
            "watch+staff=example.com@bcc.test");
  EXPECT_EQ(m->getArray("original_recipients")->getElement<std::string>(0), "staff@example.com");
  EXPECT_EQ(m->getValue<std::string>("earlier_verdict"), "clean");
  EXPECT_EQ(messages->getObject(1)->getValue<std::string>("file_path"), "a.zip > eicar.com");
  EXPECT_EQ(server.get("/api/retro/01JNOSUCHALERT").status, 404);
}

TEST_F(HttpApiRetro, AMessagesJsonListsTheAlertsThatNameIt) {
  auto a = server.get("/api/messages/" + test::kDangerous);
  ASSERT_EQ(a.status, 200) << a.body;
  auto retro = a.json()->getArray("retro");
  ASSERT_EQ(retro->size(), 2u);
  auto first = retro->getObject(0);  // oldest first
  EXPECT_EQ(first->getValue<std::string>("alert"), "01JRETRO00000000000000000A");
  EXPECT_TRUE(first->getValue<bool>("retro"));
  EXPECT_EQ(first->getValue<std::string>("earlier_verdict"), "suspicious");
  EXPECT_EQ(first->getValue<std::string>("verdict"), "dangerous");
  EXPECT_EQ(first->getValue<std::string>("analyzer"), "vxcube");
  EXPECT_EQ(first->getArray("threats")->getElement<std::string>(0), "Trojan.Generic");
  EXPECT_EQ(first->getValue<std::string>("created_at"), "2026-12-01T08:00:00.000Z");
  auto clean = server.get("/api/messages/" + test::kClean);
  ASSERT_EQ(clean.status, 200);
  EXPECT_EQ(clean.json()->getArray("retro")->size(), 0u);  // [] when none
}

TEST_F(HttpApiRetro, ResendMakesTheReportDueOnceAndTheOverviewCountsAlerts) {
  auto o = server.get("/api/overview").json()->getObject("retro_alerts");
  EXPECT_EQ(o->getValue<int>("due"), 1);
  EXPECT_EQ(o->getValue<int>("sent"), 1);
  auto a = server.request("POST", "/api/retro/01JRETRO00000000000000000A/resend");
  EXPECT_EQ(a.status, 202) << a.body;
  EXPECT_EQ(db::RetroReports(server.database).find("01JRETRO00000000000000000A")->reportStatus,
            "due");
  EXPECT_EQ(server.request("POST", "/api/retro/01JRETRO00000000000000000A/resend").status, 409);
  EXPECT_EQ(server.request("POST", "/api/retro/01JNOSUCHALERT/resend").status, 404);
  EXPECT_EQ(server.get("/api/retro/01JRETRO00000000000000000A/resend").status, 405);
}
