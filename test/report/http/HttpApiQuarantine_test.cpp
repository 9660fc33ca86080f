// /api/quarantine: the list (what needs attention by default, ?sink=, ?state=, ?limit=), one
// held message, release and delete with "api:" and the client's address, 404 for an
// unknown message and 409 for one in another state. Over a real HTTP server (the token, the
// methods, the client address) on SQLite, and through ApiHandlers on both engines.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "db/HoldQueue.h"
#include "report/http/ApiHandlers.h"
#include "test/db/Engines.h"
#include "test/report/http/HttpTestServer.h"
#include "test/report/http/QuarantineTesting.h"

using namespace bccsink;
using namespace bccsink::test;
using Poco::JSON::Object;

namespace {

const std::string kQuar = "01JQUAR000000000000000000A";  // sink-q, quarantined (04:03)
const std::string kDisc = "01JDISC000000000000000000B";  // sink-r, discarded   (04:02)
const std::string kRej = "01JREJ0000000000000000000C";   // sink-q, rejected    (04:01)
const std::string kDone = "01JDONE000000000000000000D";  // sink-q, delivered   (04:04)
const std::string kHold = "01JHOLD000000000000000000E";  // sink-q, holding

// Another sink name than HttpTestServer's messages' (sink-a), whose pending one would be
// claimed first.
void addHeldMessages(db::Database& d) {
  addHeld(d, kQuar, "sink-q", db::hold_state::kQuarantined, "dangerous", 3);
  addHeld(d, kRej, "sink-q", db::hold_state::kRejected, "clean", 1);
  addHeld(d, kDone, "sink-q", db::hold_state::kDelivered, "clean", 4);
  addHeld(d, kHold, "sink-q", db::hold_state::kHolding, "", 0);
  addHeld(d, kDisc, "sink-r", db::hold_state::kDiscarded, "suspicious", 2);
}

using Ids = std::vector<std::string>;

Ids ids(const Object::Ptr& o) {
  Ids out;
  auto list = o->getArray("messages");
  for (std::size_t i = 0; i < list->size(); ++i)
    out.push_back(list->getObject(static_cast<unsigned>(i))->getValue<std::string>("id"));
  return out;
}

Object::Ptr parse(const std::string& body) {
  return Poco::JSON::Parser().parse(body).extract<Object::Ptr>();
}

}  // namespace

TEST(HttpApiQuarantine, ListsWhatNeedsAttentionAndFilters) {
  HttpTestServer t;
  addHeldMessages(t.database);
  t.start();
  auto a = t.get("/api/quarantine");
  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(ids(a.json()), (Ids{kQuar, kDisc, kRej}));
  EXPECT_EQ(a.json()->getValue<int>("count"), 3);
  auto q = a.json()->getArray("messages")->getObject(0);
  EXPECT_EQ(q->getValue<std::string>("sink"), "sink-q");
  EXPECT_EQ(q->getValue<std::string>("state"), "quarantined");
  EXPECT_EQ(q->getValue<std::string>("action"), "quarantine");
  EXPECT_EQ(q->getValue<std::string>("message_id"), "<" + kQuar + "@example.org>");
  EXPECT_EQ(q->getValue<std::string>("sender"), "alice@example.org");
  EXPECT_EQ(q->getArray("recipients")->size(), 2u);
  EXPECT_EQ(q->getValue<std::string>("verdict"), "dangerous");
  EXPECT_EQ(q->getValue<std::string>("why"), "dangerous: EICAR");
  EXPECT_EQ(q->getValue<std::string>("since"), "2026-11-30T04:03:00.000Z");

  EXPECT_EQ(ids(t.get("/api/quarantine?sink=sink-r").json()), (Ids{kDisc}));
  EXPECT_EQ(ids(t.get("/api/quarantine?state=holding").json()), (Ids{kHold}));
  EXPECT_EQ(ids(t.get("/api/quarantine?state=delivered&sink=sink-q").json()), (Ids{kDone}));
  EXPECT_EQ(ids(t.get("/api/quarantine?limit=1").json()), (Ids{kQuar}));
  for (const char* bad :
       {"/api/quarantine?state=lost", "/api/quarantine?limit=0", "/api/quarantine?verdict=clean",
        "/api/quarantine/"
        "01JQUAR000000000000000000A?x=1"}) {
    EXPECT_EQ(t.get(bad).status, 400) << bad;
  }
  EXPECT_EQ(t.get("/api/quarantine", "").status, 401);
}

TEST(HttpApiQuarantine, ShowsOneHeldMessageWithItsEnvelope) {
  HttpTestServer t;
  addHeldMessages(t.database);
  t.start();
  auto a = t.get("/api/quarantine/" + kRej);
  ASSERT_EQ(a.status, 200) << a.body;
  auto o = a.json();
  EXPECT_EQ(o->getValue<std::string>("state"), "rejected");
  EXPECT_EQ(o->getValue<int>("tries"), 1);
  EXPECT_EQ(o->getValue<std::string>("last_error"), "550 5.7.1 relay refused");
  EXPECT_TRUE(o->isNull("released_by"));
  EXPECT_EQ(o->getObject("message")->getArray("dsn")->getObject(0)->getValue<std::string>("notify"),
            "FAILURE");
  auto none = t.get("/api/quarantine/01JNOPE000000000000000000Z");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(none.json()->getValue<std::string>("error"),
            "no such message in the hold queue: 01JNOPE000000000000000000Z");
  // A message that was never held (BCC mode) is not in the hold queue either.
  EXPECT_EQ(t.get("/api/quarantine/" + kDangerous).status, 404);
  EXPECT_EQ(t.get("/api/quarantine/not-an-id!").status, 404);
}

TEST(HttpApiQuarantine, ReleaseAndDeleteNeedPostAndTheTokenAndRecordTheClient) {
  HttpTestServer t;
  addHeldMessages(t.database);
  t.start();
  EXPECT_EQ(t.request("POST", "/api/quarantine/" + kQuar + "/release", "").status, 401);
  auto get = t.get("/api/quarantine/" + kQuar + "/release");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("Allow"), "POST");
  EXPECT_EQ(db::HoldQueue(t.database).find(kQuar)->state, db::hold_state::kQuarantined);

  auto a = t.request("POST", "/api/quarantine/" + kQuar + "/release");
  ASSERT_EQ(a.status, 200) << a.body;
  auto o = a.json();
  EXPECT_EQ(o->getValue<std::string>("id"), kQuar);
  EXPECT_EQ(o->getValue<std::string>("state"), "deliver");
  EXPECT_EQ(o->getValue<std::string>("released_by"), "api:127.0.0.1");
  EXPECT_EQ(o->getValue<std::string>("released_at").size(), 24u);
  EXPECT_EQ(o->getValue<std::string>("delivered_by"), "sink-q");
  auto h = db::HoldQueue(t.database).find(kQuar);
  EXPECT_EQ(h->state, db::hold_state::kDeliver);
  EXPECT_EQ(h->releasedBy, "api:127.0.0.1");

  auto again = t.request("POST", "/api/quarantine/" + kQuar + "/release");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.json()->getValue<std::string>("state"), "deliver");
  EXPECT_NE(
      again.json()->getValue<std::string>("error").find("is in state deliver: only a quarantined"),
      std::string::npos);

  auto del = t.request("POST", "/api/quarantine/" + kDisc + "/delete");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_EQ(del.json()->getValue<std::string>("state"), "deleted");
  EXPECT_FALSE(del.json()->has("delivered_by"));
  EXPECT_EQ(db::HoldQueue(t.database).find(kDisc)->releasedBy, "api:127.0.0.1");
  EXPECT_EQ(t.request("POST", "/api/quarantine/" + kDisc + "/delete").status, 409);
  EXPECT_EQ(t.request("POST", "/api/quarantine/" + kHold + "/delete").status, 409);
  EXPECT_EQ(t.request("POST", "/api/quarantine/01JNOPE000000000000000000Z/release").status, 404);
  EXPECT_EQ(t.request("POST", "/api/quarantine/" + kRej + "/purge").status, 404);
  EXPECT_EQ(ids(t.get("/api/quarantine").json()), (Ids{kRej}));
}

namespace {

class ApiQuarantineEngines : public EngineTest {
 protected:
  void SetUp() override { addHeldMessages(database()); }

  report::ApiResponse call(const std::string& method, const std::string& path,
                           const std::string& query = "") {
    report::ApiContext context;
    context.sinkName = "sink-a";
    context.spoolDir = "/nonexistent";
    return report::ApiHandlers(context).handle(
        method, path, query, [this]() -> db::Database& { return database(); }, "127.0.0.2");
  }
};

}  // namespace

TEST_P(ApiQuarantineEngines, ListReleaseAndDelete) {
  auto list = call("GET", "/api/quarantine");
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(ids(parse(list.body)), (Ids{kQuar, kDisc, kRej}));
  EXPECT_EQ(ids(parse(call("GET", "/api/quarantine", "state=discarded&sink=sink-r&limit=5").body)),
            (Ids{kDisc}));
  EXPECT_EQ(call("GET", "/api/quarantine/" + kDone).status, 200);

  EXPECT_EQ(call("POST", "/api/quarantine/" + kDisc + "/release").status, 200);
  EXPECT_EQ(call("POST", "/api/quarantine/" + kRej + "/delete").status, 200);
  EXPECT_EQ(call("POST", "/api/quarantine/" + kRej + "/release").status, 409);
  EXPECT_EQ(call("POST", "/api/quarantine/01JNOPE000000000000000000Z/delete").status, 404);
  auto disc = db::HoldQueue(database()).find(kDisc);
  EXPECT_EQ(disc->state, db::hold_state::kDeliver);
  EXPECT_EQ(disc->releasedBy, "api:127.0.0.2");
  EXPECT_EQ(db::HoldQueue(database()).find(kRej)->state, db::hold_state::kDeleted);
  EXPECT_EQ(ids(parse(call("GET", "/api/quarantine").body)), (Ids{kQuar}));
}

BCCSINK_ON_BOTH_ENGINES(ApiQuarantineEngines);
