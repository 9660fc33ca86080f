// The API of one sink over a database shared with another (issue 15): every sink's
// messages are listed with the sink's name and can be filtered by it; another sink's
// message shows what the database holds and names the sink that has its headers and
// bytes; its raw content is refused with that sink's name (421), never read from a file
// of the same name here.

#include <Poco/Data/Statement.h>
#include <Poco/JSON/Array.h>
#include <gtest/gtest.h>

#include <fstream>

#include "test/report/http/HttpTestServer.h"

using namespace bccsink;
using namespace bccsink::test;

namespace {

// Received by sink-b at 05:00, checked dangerous with the EICAR file. Its spool file name
// exists here too, holding another message: what sink-a must not show as B's.
const std::string kFromB = "01JSINKB000000000000000000E";

class HttpApiSinks : public ::testing::Test {
 protected:
  void SetUp() override {
    db::MessageRecord r;
    r.id = kFromB;
    r.sink = "sink-b";
    r.receivedAt = "2026-11-30T05:00:00.000Z";
    r.sender = "eve@example.org";
    r.recipients = {{"watch@bcc.test", "", ""}};
    r.clientIp = "192.0.2.5";
    r.helo = "mta-b.example.com";
    r.size = 100;
    r.sha256 = std::string(64, '0');
    r.spoolFile = kFromB + ".eml";
    db::MessageQueue queue(t.database);
    queue.insertPending({r});
    std::ofstream(t.spool + "/" + r.spoolFile) << "Subject: not B's message\r\n\r\nx\r\n";
    auto claimed = queue.claimNext("sink-b", nowMs() + 60000, nowMs() + 60000, isoNow());
    ASSERT_TRUE(claimed && claimed->id == kFromB);
    db::MessageFile mf;
    mf.sha256 = kEicarSha;
    mf.name = mf.path = "eicar.com";
    mf.extension = "com";
    mf.size = 68;
    mf.selected = true;
    mf.verdict = "dangerous";
    db::MessageFiles(t.database).save(kFromB, {mf}, "", isoNow());
    ASSERT_TRUE(queue.markChecked(kFromB, "sink-b", "dangerous", "2026-11-30T05:00:05.000Z"));
    report::ApiContext api;
    api.sinkName = "sink-a";
    t.start(api);
  }

  std::vector<std::pair<std::string, std::string>> idsAndSinks(const std::string& uri) {
    auto a = t.get(uri);
    EXPECT_EQ(a.status, 200) << uri << ": " << a.body;
    std::vector<std::pair<std::string, std::string>> out;
    auto list = a.json()->getArray("messages");
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto m = list->getObject(static_cast<unsigned>(i));
      out.emplace_back(m->getValue<std::string>("id"), m->getValue<std::string>("sink"));
    }
    return out;
  }

  HttpTestServer t;
};

using Listed = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_F(HttpApiSinks, EverySinksMessagesAreListedWithTheSinksName) {
  EXPECT_EQ(idsAndSinks("/api/messages"), (Listed{{kFromB, "sink-b"},
                                                  {kUnjudged, "sink-a"},
                                                  {kPending, "sink-a"},
                                                  {kClean, "sink-a"},
                                                  {kDangerous, "sink-a"}}));
  EXPECT_EQ(idsAndSinks("/api/messages?sink=sink-b"), (Listed{{kFromB, "sink-b"}}));
  EXPECT_EQ(idsAndSinks("/api/messages?sink=sink-a&verdict=dangerous"),
            (Listed{{kDangerous, "sink-a"}}));
  EXPECT_EQ(idsAndSinks("/api/messages?verdict=dangerous"),
            (Listed{{kFromB, "sink-b"}, {kDangerous, "sink-a"}}));
  EXPECT_TRUE(idsAndSinks("/api/messages?sink=sink-c").empty());
  EXPECT_EQ(t.get("/api/messages?sink=" + std::string(256, 'b')).status, 400);

  // The Subject is read from the spool file: only this sink's.
  auto list = t.get("/api/messages").json()->getArray("messages");
  EXPECT_TRUE(list->getObject(0)->isNull("subject"));
  EXPECT_EQ(list->getObject(4)->getValue<std::string>("subject"), "EICAR inside");
}

TEST_F(HttpApiSinks, AnotherSinksMessageIsItsDatabaseViewNamingTheSinkThatHoldsIt) {
  auto a = t.get("/api/messages/" + kFromB);
  ASSERT_EQ(a.status, 200) << a.body;
  auto o = a.json();
  EXPECT_EQ(o->getValue<std::string>("id"), kFromB);
  EXPECT_EQ(o->getValue<std::string>("verdict"), "dangerous");
  EXPECT_EQ(o->getValue<std::string>("sink"), "sink-b");
  EXPECT_FALSE(o->getValue<bool>("content_here"));
  auto why = o->getValue<std::string>("content_error");
  EXPECT_NE(why.find("held by sink sink-b"), std::string::npos) << why;
  // Files and verdicts from the shared database; the envelope from its row.
  auto file = o->getArray("files")->getObject(0);
  EXPECT_EQ(file->getValue<std::string>("sha256"), kEicarSha);
  EXPECT_EQ(file->getArray("analyzers")->getObject(0)->getValue<std::string>("analyzer"), "yara");
  auto m = o->getObject("message");
  EXPECT_EQ(m->getValue<std::string>("envelope_sender"), "eve@example.org");
  EXPECT_EQ(m->getValue<std::string>("client_ip"), "192.0.2.5");
  // Nothing from the local file of the same name, and no complaint about reading it.
  EXPECT_EQ(m->getValue<std::string>("subject"), "");
  EXPECT_EQ(a.body.find("not B's"), std::string::npos);
  EXPECT_EQ(o->getArray("errors")->size(), 0u);

  auto own = t.get("/api/messages/" + kDangerous).json();
  EXPECT_EQ(own->getValue<std::string>("sink"), "sink-a");
  EXPECT_TRUE(own->getValue<bool>("content_here"));
  EXPECT_FALSE(own->has("content_error"));
  EXPECT_EQ(own->getObject("message")->getValue<std::string>("subject"), "EICAR inside");
}

TEST_F(HttpApiSinks, RawContentIsServedByTheSinkThatHoldsIt) {
  auto a = t.get("/api/messages/" + kDangerous + "/raw");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.header("Content-Type"), "message/rfc822");
  EXPECT_EQ(a.header("Content-Disposition"), "attachment; filename=\"" + kDangerous + ".eml\"");
  EXPECT_EQ(a.header("X-Content-Type-Options"), "nosniff");
  EXPECT_NE(a.body.find("Subject: EICAR inside\r\n"), std::string::npos) << a.body;

  auto elsewhere = t.get("/api/messages/" + kFromB + "/raw");
  EXPECT_EQ(elsewhere.status, 421);
  EXPECT_EQ(elsewhere.header("Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(elsewhere.json()->getValue<std::string>("sink"), "sink-b");
  auto why = elsewhere.json()->getValue<std::string>("error");
  EXPECT_NE(why.find("held by sink sink-b"), std::string::npos) << why;
  EXPECT_EQ(elsewhere.body.find("not B's"), std::string::npos);

  EXPECT_EQ(t.get("/api/messages/01NOSUCHMESSAGE0000000000X/raw").status, 404);
  EXPECT_EQ(t.get("/api/messages/" + kDangerous + "/raw?x=1").status, 400);
  EXPECT_EQ(t.request("POST", "/api/messages/" + kDangerous + "/raw").status, 405);
  EXPECT_EQ(t.get("/api/messages/" + kDangerous + "/raw", "").status, 401);
  std::filesystem::remove(t.spool + "/" + kClean + ".eml");
  auto gone = t.get("/api/messages/" + kClean + "/raw");
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(gone.body.find("cannot be read"), std::string::npos) << gone.body;
}

TEST_F(HttpApiSinks, ResendIsTheDatabasesAndWorksFromAnySink) {
  ASSERT_EQ(t.request("POST", "/api/messages/" + kFromB + "/resend").status, 409);  // not judged
  db::ReportQueue reports(t.database);
  reports.judge(kFromB, false, "", true);
  reports.markSent({kFromB}, "2026-11-30T05:00:06.000Z");
  EXPECT_EQ(t.request("POST", "/api/messages/" + kFromB + "/resend").status, 202);
}
