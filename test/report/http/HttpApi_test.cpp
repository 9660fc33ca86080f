// The JSON API over a real HTTP server and a real SQLite queue: every endpoint, its
// filters, and what bad input gets (4xx with a message, never 5xx).

#include <Poco/JSON/Array.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/Text.h"
#include "test/report/http/HttpTestServer.h"

using namespace bccsink;
using namespace bccsink::test;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace {

std::vector<std::string> ids(const HttpAnswer& a) {
  std::vector<std::string> out;
  auto list = a.json()->getArray("messages");
  for (std::size_t i = 0; i < list->size(); ++i)
    out.push_back(list->getObject(static_cast<unsigned>(i))->getValue<std::string>("id"));
  return out;
}

std::string errorOf(const HttpAnswer& a) {
  return a.json()->getValue<std::string>("error");
}

using Ids = std::vector<std::string>;

}  // namespace

TEST(HttpApi, NeedsTheBearerTokenAndSaysSo) {
  HttpTestServer t;
  t.start();
  auto none = t.get("/api/overview", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.header("WWW-Authenticate").rfind("Bearer", 0), 0u);
  EXPECT_NE(errorOf(none).find("Authorization: Bearer"), std::string::npos);
  auto wrong = t.get("/api/overview", "s3cret-tokem");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(errorOf(wrong), "wrong token");
  EXPECT_EQ(t.get("/api/overview", kToken + "x").status, 401);
  EXPECT_EQ(t.get("/api/overview").status, 200);
  // Unknown endpoints are behind the token too: nothing is learnt without it.
  EXPECT_EQ(t.get("/api/nope", "").status, 401);
  EXPECT_EQ(t.get("/api/nope").status, 404);
}

TEST(HttpApi, IsOffWithoutAToken) {
  HttpTestServer t("");
  t.start();
  for (const char* uri : {"/api/overview", "/api/messages", "/api/nope"}) {
    auto a = t.get(uri, "anything");
    EXPECT_EQ(a.status, 404) << uri;
    EXPECT_EQ(errorOf(a), "the JSON API is off: set HttpToken");
  }
  EXPECT_EQ(t.get("/metrics", "").status, 404);  // no metrics callback in this test
}

TEST(HttpApi, OverviewCountsTheQueueReportsAndAnalyzers) {
  HttpTestServer t;
  report::ApiContext api;
  api.analyzers = [] {
    sandbox::AnalyzerStats a;
    a.name = "yara";
    a.submitted = 5;
    a.answered = {3, 0, 1, 1};
    a.errors = 2;
    a.inFlight = 1;
    a.latency[2] = 5;  // all within (0.01 s, 0.05 s]
    a.healthy = false;
    a.lastError = "timed out after 60s";
    return std::vector<sandbox::AnalyzerStats>{a};
  };
  t.start(api);
  auto o = t.get("/api/overview").json();
  auto q = o->getObject("queue");
  EXPECT_EQ(q->getValue<int>("pending"), 1);
  EXPECT_EQ(q->getValue<int>("analyzing"), 0);
  EXPECT_EQ(q->getValue<int>("checked"), 2);
  EXPECT_EQ(q->getValue<int>("reported"), 1);
  EXPECT_EQ(q->getValue<int>("failed"), 0);
  auto r = o->getObject("reports");
  EXPECT_EQ(r->getValue<int>("due"), 0);
  EXPECT_EQ(r->getValue<int>("sent"), 1);
  EXPECT_EQ(r->getValue<int>("undeliverable"), 0);
  auto a = o->getArray("analyzers")->getObject(0);
  EXPECT_EQ(a->getValue<std::string>("name"), "yara");
  EXPECT_EQ(a->getValue<int>("submitted"), 5);
  EXPECT_EQ(a->getValue<int>("answered"), 5);
  EXPECT_EQ(a->getValue<int>("errors"), 2);
  EXPECT_EQ(a->getValue<int>("in_flight"), 1);
  EXPECT_EQ(a->getValue<int>("latency_ms_p50"), 30);  // the middle of (10 ms, 50 ms]
  EXPECT_FALSE(a->getValue<bool>("healthy"));
  EXPECT_EQ(a->getValue<std::string>("last_error"), "timed out after 60s");
  EXPECT_GT(o->getValue<std::int64_t>("spool_free_bytes"), 0);
  EXPECT_EQ(o->getValue<std::string>("version"), report::bccsinkVersion());
  EXPECT_EQ(o->getValue<std::string>("now").size(), 24u);
  EXPECT_EQ(t.get("/api/overview?x=1").status, 400);
}

TEST(HttpApi, MessagesNewestFirstWithTheirFields) {
  HttpTestServer t;
  t.start();
  auto a = t.get("/api/messages");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(ids(a), (Ids{kUnjudged, kPending, kClean, kDangerous}));
  EXPECT_EQ(a.json()->getValue<int>("count"), 4);
  auto list = a.json()->getArray("messages");
  auto d = list->getObject(3);
  EXPECT_EQ(d->getValue<std::string>("state"), "reported");
  EXPECT_EQ(d->getValue<std::string>("verdict"), "dangerous");
  EXPECT_FALSE(d->getValue<bool>("spoofed"));
  EXPECT_EQ(d->getValue<std::string>("report"), "sent");
  EXPECT_EQ(d->getValue<std::string>("sender"), "alice@example.org");
  EXPECT_EQ(d->getValue<std::string>("subject"), "EICAR inside");
  EXPECT_EQ(d->getValue<std::string>("message_id"), "<" + kDangerous + "@example.org>");
  EXPECT_EQ(d->getValue<std::string>("received_at"), "2026-11-30T01:00:00.000Z");
  EXPECT_EQ(d->getValue<std::string>("checked_at"), "2026-11-30T05:00:00.000Z");
  EXPECT_EQ(d->getValue<int>("size"), 100);
  EXPECT_EQ(d->getValue<int>("files"), 1);
  EXPECT_EQ(list->getObject(2)->getValue<std::string>("subject"), "quarterly notes");  // RFC 2047
  auto p = list->getObject(1);  // pending: no verdict, not judged, not checked
  EXPECT_TRUE(p->isNull("verdict"));
  EXPECT_TRUE(p->isNull("spoofed"));
  EXPECT_TRUE(p->isNull("report"));
  EXPECT_TRUE(p->isNull("checked_at"));
  EXPECT_EQ(p->getValue<int>("files"), 0);
}

TEST(HttpApi, ASenderThatIsNotUtf8IsSentAsValidUtf8) {
  HttpTestServer t;
  const std::string id = "01M8LATIN1000000000000000X";
  t.add(id, "\xe9@x", "2026-11-30T06:00:00.000Z", "caf\xe9");  // raw Latin-1 bytes
  t.start();
  auto a = t.get("/api/messages");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_TRUE(isValidUtf8(a.body)) << asciiEscaped(a.body);
  auto first = a.json()->getArray("messages")->getObject(0);
  EXPECT_EQ(first->getValue<std::string>("id"), id);
  EXPECT_EQ(first->getValue<std::string>("sender"), "\xef\xbf\xbd@x");  // U+FFFD
}

TEST(HttpApi, MessagesFilterByVerdictStateSenderAndTime) {
  HttpTestServer t;
  t.start();
  EXPECT_EQ(ids(t.get("/api/messages?verdict=dangerous")), (Ids{kDangerous}));
  EXPECT_EQ(ids(t.get("/api/messages?state=pending")), (Ids{kPending}));
  EXPECT_EQ(ids(t.get("/api/messages?state=checked&verdict=clean")), (Ids{kClean}));
  EXPECT_EQ(ids(t.get("/api/messages?sender=EXAMPLE.net")), (Ids{kClean}));
  // LIKE's wildcards are literal here.
  EXPECT_EQ(ids(t.get("/api/messages?sender=_x%25")), (Ids{kPending}));
  EXPECT_EQ(ids(t.get("/api/messages?sender=%25")), (Ids{kPending}));
  EXPECT_EQ(ids(t.get("/api/messages?since=2026-11-30T02:00:00Z&until=2026-11-30T04:00:00Z")),
            (Ids{kPending, kClean}));
  // Another zone, fractions, a bare date, a space for T ('+' in a query).
  EXPECT_EQ(ids(t.get("/api/messages?since=2026-11-30T04:29:59.5%2B01:30")),
            (Ids{kUnjudged, kPending}));
  EXPECT_EQ(ids(t.get("/api/messages?until=2026-11-30")), Ids{});
  EXPECT_EQ(ids(t.get("/api/messages?until=2026-11-30+01:00:00.001")), (Ids{kDangerous}));
  EXPECT_EQ(ids(t.get("/api/messages?limit=2")), (Ids{kUnjudged, kPending}));
  EXPECT_EQ(ids(t.get("/api/messages?limit=1000&verdict=unscanned")), Ids{});
}

TEST(HttpApi, BadParametersAre400WithAMessage) {
  HttpTestServer t;
  t.start();
  struct Case {
    const char* uri;
    const char* says;
  } cases[] = {
      {"/api/messages?verdict=evil", "verdict must be one of"},
      {"/api/messages?state=lost", "state must be one of"},
      {"/api/messages?since=yesterday", "since must be an ISO 8601 time"},
      {"/api/messages?since=2026-02-30T00:00:00Z", "since must be an ISO 8601 time"},
      {"/api/messages?until=2026-11-30T25:00:00Z", "until must be an ISO 8601 time"},
      {"/api/messages?since=2026-11-30T00:00:00%2B24:00", "since must be"},
      {"/api/messages?since=2026-11-30T02:00:00Z&until=2026-11-30T01:00:00Z", "until is before"},
      {"/api/messages?limit=0", "limit must be from 1 to 1000"},
      {"/api/messages?limit=1001", "limit must be from 1 to 1000"},
      {"/api/messages?limit=-1", "limit must be a whole number"},
      {"/api/messages?limit=ten", "limit must be a whole number"},
      {"/api/messages?limit=99999999999999999999", "limit must be a whole number"},
      {"/api/messages?limit=1&limit=2", "given twice"},
      {"/api/messages?verdicts=clean", "unknown parameter 'verdicts'"},
      {"/api/messages?sender=%zz", "percent-encoding"},
      {"/api/stats?since=now", "since must be an ISO 8601 time"},
      {"/api/files/abc", "64 hexadecimal digits"},
      {"/api/files/"
       "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
       "64 hex"},
  };
  for (const auto& c : cases) {
    auto a = t.get(c.uri);
    EXPECT_EQ(a.status, 400) << c.uri << ": " << a.body;
    EXPECT_NE(a.body.find(c.says), std::string::npos) << c.uri << ": " << a.body;
    EXPECT_EQ(a.header("Content-Type"), "application/json; charset=utf-8");
  }
  std::string longSender(400, 'a');
  EXPECT_EQ(t.get("/api/messages?sender=" + longSender).status, 400);
}

TEST(HttpApi, OneMessageIsItsReportWithTheReportStatus) {
  HttpTestServer t;
  t.start();
  auto a = t.get("/api/messages/" + kDangerous);
  ASSERT_EQ(a.status, 200) << a.body;
  auto o = a.json();
  EXPECT_EQ(o->getValue<std::string>("id"), kDangerous);
  EXPECT_EQ(o->getValue<std::string>("verdict"), "dangerous");
  EXPECT_EQ(o->getObject("message")->getValue<std::string>("subject"), "EICAR inside");
  auto originals = o->getObject("message")->getArray("original_recipients");
  ASSERT_EQ(originals->size(), 1u);
  EXPECT_EQ(originals->getElement<std::string>(0), "staff@example.com");
  auto file = o->getArray("files")->getObject(0);
  EXPECT_EQ(file->getValue<std::string>("sha256"), kEicarSha);
  EXPECT_EQ(file->getValue<std::string>("verdict"), "dangerous");
  // The cached answer says when it was decided, as /api/files and `queue show` do.
  auto answer = file->getArray("analyzers")->getObject(0);
  EXPECT_EQ(answer->getValue<std::string>("analyzer"), "yara");
  EXPECT_EQ(answer->getValue<std::string>("decided_at"), "2026-11-30T01:00:01.000Z");
  EXPECT_EQ(o->getValue<std::string>("report_status"), "sent");
  EXPECT_EQ(o->getValue<int>("report_attempts"), 1);  // one try, taken
  EXPECT_TRUE(o->isNull("report_error"));

  auto pending = t.get("/api/messages/" + kPending);
  EXPECT_EQ(pending.status, 404);
  EXPECT_EQ(pending.json()->getValue<std::string>("state"), "pending");
  EXPECT_NE(errorOf(pending).find("once it is checked"), std::string::npos);
  EXPECT_EQ(t.get("/api/messages/01NOSUCHMESSAGE0000000000X").status, 404);
  EXPECT_EQ(t.get("/api/messages/..%2F..%2Fetc%2Fpasswd").status, 404);
  EXPECT_EQ(t.get("/api/messages/" + std::string(500, 'A')).status, 404);
}

TEST(HttpApi, ResendMakesTheReportDueAgainAndWakesTheReporter) {
  HttpTestServer t;
  std::atomic<int> woken{0};
  report::ApiContext api;
  api.resend = [&woken](db::Database& d, const std::string& id) {
    if (!db::ReportQueue(d).requeue(id)) return false;
    ++woken;
    return true;
  };
  t.start(api);
  auto a = t.request("POST", "/api/messages/" + kDangerous + "/resend");
  ASSERT_EQ(a.status, 202) << a.body;
  EXPECT_EQ(a.json()->getValue<std::string>("id"), kDangerous);
  EXPECT_EQ(a.json()->getValue<std::string>("report"), "due");
  EXPECT_EQ(woken.load(), 1);
  auto row = db::MessageQueue(t.database).find(kDangerous);
  EXPECT_EQ(row->reportStatus, "due");
  auto due = db::ReportQueue(t.database).due("sink-a", nowMs(), 10);
  EXPECT_EQ(due, (std::vector<std::string>{kDangerous}));

  auto unjudged = t.request("POST", "/api/messages/" + kUnjudged + "/resend");
  EXPECT_EQ(unjudged.status, 409);
  EXPECT_EQ(unjudged.json()->getValue<std::string>("state"), "checked");
  EXPECT_EQ(t.request("POST", "/api/messages/" + kPending + "/resend").status, 409);
  EXPECT_EQ(t.request("POST", "/api/messages/01NOSUCH/resend").status, 404);
  EXPECT_EQ(t.request("POST", "/api/messages/" + kDangerous + "/resend", "").status, 401);
  auto get = t.get("/api/messages/" + kDangerous + "/resend");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("Allow"), "POST");
  EXPECT_EQ(woken.load(), 1);
}

TEST(HttpApi, ResendWithoutACallbackStillRequeues) {
  HttpTestServer t;
  t.start();
  EXPECT_EQ(t.request("POST", "/api/messages/" + kClean + "/resend").status, 202);
  EXPECT_EQ(db::MessageQueue(t.database).find(kClean)->reportStatus, "due");
}

TEST(HttpApi, AFileWithItsVerdictsAndTheMessagesItCameIn) {
  HttpTestServer t;
  t.start();
  auto a = t.get("/api/files/" + kEicarSha);
  ASSERT_EQ(a.status, 200) << a.body;
  auto f = a.json()->getObject("file");
  EXPECT_EQ(f->getValue<std::string>("sha256"), kEicarSha);
  EXPECT_EQ(f->getValue<std::string>("md5"), std::string(32, '4'));
  EXPECT_EQ(f->getValue<int>("size"), 68);
  EXPECT_EQ(f->getValue<std::string>("true_type"), "text/plain");
  EXPECT_EQ(f->getValue<std::string>("family"), "script");
  EXPECT_EQ(f->getValue<std::string>("first_seen"), "2026-11-30T01:00:00.000Z");
  EXPECT_EQ(f->getValue<int>("seen_count"), 1);
  auto v = f->getArray("verdicts")->getObject(0);
  EXPECT_EQ(v->getValue<std::string>("analyzer"), "yara");
  EXPECT_EQ(v->getValue<std::string>("verdict"), "dangerous");
  EXPECT_EQ(v->getArray("threats")->getElement<std::string>(0), "EICAR_Test_File");
  EXPECT_EQ(v->getValue<std::string>("decided_at"), "2026-11-30T01:00:01.000Z");
  // No report URL and no reason: left out, as in every other answer (report.json too).
  EXPECT_FALSE(v->has("report_url"));
  EXPECT_FALSE(v->has("reason"));
  auto messages = a.json()->getArray("messages");
  ASSERT_EQ(messages->size(), 1u);
  auto m = messages->getObject(0);
  EXPECT_EQ(m->getValue<std::string>("id"), kDangerous);
  EXPECT_EQ(m->getValue<std::string>("verdict"), "dangerous");
  EXPECT_EQ(m->getValue<std::string>("name"), "eicar.com");
  EXPECT_EQ(m->getValue<std::string>("path"), "eicar.com");
  EXPECT_EQ(m->getValue<std::string>("received_at"), "2026-11-30T01:00:00.000Z");

  std::string upper = kEicarSha;
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(t.get("/api/files/" + upper).status, 200);
  EXPECT_EQ(t.get("/api/files/" + std::string(64, 'f')).status, 404);
}

TEST(HttpApi, StatsAnswer503UntilWiredThenPassTheNormalisedSince) {
  HttpTestServer t;
  t.start();
  auto off = t.get("/api/stats");
  EXPECT_EQ(off.status, 503);
  EXPECT_EQ(errorOf(off), "statistics not available");

  HttpTestServer u;
  report::ApiContext api;
  api.stats = [](db::Database&, const std::string& since, const std::string& sink) {
    return "{\"since\":\"" + since + "\",\"sink\":\"" + sink + "\"}";
  };
  u.start(api);
  EXPECT_EQ(
      u.get("/api/stats?since=2026-11-30T03:00:00%2B01:00").json()->getValue<std::string>("since"),
      "2026-11-30T02:00:00.000Z");
  auto dflt = u.get("/api/stats").json()->getValue<std::string>("since");
  EXPECT_EQ(dflt.size(), 24u);
  EXPECT_LT(dflt, isoNow());
  EXPECT_EQ(u.get("/api/stats?since=x").status, 400);
  // Every sink's by default; ?sink= one sink's.
  EXPECT_EQ(u.get("/api/stats").json()->getValue<std::string>("sink"), "");
  EXPECT_EQ(u.get("/api/stats?sink=sink-b").json()->getValue<std::string>("sink"), "sink-b");
  EXPECT_EQ(u.get("/api/stats?sink=" + std::string(256, 'a')).status, 400);
}

TEST(HttpApi, HeadAnswersWithoutABody) {
  HttpTestServer t;
  t.start();
  auto a = t.request("HEAD", "/api/messages");
  EXPECT_EQ(a.status, 200);
  EXPECT_TRUE(a.body.empty());
  EXPECT_GT(std::stoi(a.header("Content-Length")), 10);
}

TEST(HttpApi, ManyClientsAtOnceEachGetTheirAnswer) {
  HttpTestServer t;
  t.start();
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&t, &ok] {
      for (int i = 0; i < 15; ++i) {
        auto a = t.get(i % 2 ? "/api/messages?verdict=dangerous" : "/api/overview");
        if (a.status == 200) ++ok;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(ok.load(), 90);
}
