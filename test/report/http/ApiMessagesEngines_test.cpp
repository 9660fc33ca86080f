// /api/messages on both engines (ApiHandlers without sockets): every sink's messages with
// their sink, and ?sink= for one. The rows are written with plain SQL so that only the
// list's own statement is under test.

#include <Poco/Data/Statement.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "report/http/ApiHandlers.h"
#include "test/db/Engines.h"

using namespace bccsink;

namespace {

class ApiMessagesEngines : public test::EngineTest {
 protected:
  void SetUp() override {
    insert("01JA0000000000000000000001", "sink-a", "2026-11-30T04:00:00.000Z");
    insert("01JB0000000000000000000002", "sink-b", "2026-11-30T04:01:00.000Z");
    insert("01JA0000000000000000000003", "sink-a", "2026-11-30T04:02:00.000Z");
  }

  void insert(std::string id, std::string sink, std::string at) {
    using namespace Poco::Data::Keywords;
    auto& d = database();
    Poco::Data::Statement stmt(d.session());
    stmt << d.sql(
        "INSERT INTO messages (id, sink, state, received_at, updated_at, sender,"
        " client_ip, helo, tls, size, sha256, spool_file)"
        " VALUES (?, ?, 'pending', ?, ?, 'x@example.org', '', '', 0, 0, '', ?)"),
        use(id), use(sink), use(at), use(at), use(id);
    stmt.execute();
  }

  // "id sink" of each listed message, newest first.
  std::vector<std::string> list(const std::string& query) {
    report::ApiContext context;
    context.sinkName = "sink-a";
    context.spoolDir = "/nonexistent";
    report::ApiHandlers api(context);
    auto a =
        api.handle("GET", "/api/messages", query, [this]() -> db::Database& { return database(); });
    EXPECT_EQ(a.status, 200) << a.body;
    auto o = Poco::JSON::Parser().parse(a.body).extract<Poco::JSON::Object::Ptr>();
    std::vector<std::string> out;
    auto messages = o->getArray("messages");
    for (std::size_t i = 0; i < messages->size(); ++i) {
      auto m = messages->getObject(static_cast<unsigned>(i));
      out.push_back(m->getValue<std::string>("id").substr(0, 4) + " " +
                    m->getValue<std::string>("sink"));
    }
    return out;
  }
};

using Lines = std::vector<std::string>;

}  // namespace

TEST_P(ApiMessagesEngines, ListEverySinksMessagesOrOneSinks) {
  EXPECT_EQ(list(""), (Lines{"01JA sink-a", "01JB sink-b", "01JA sink-a"}));
  EXPECT_EQ(list("sink=sink-b"), (Lines{"01JB sink-b"}));
  EXPECT_EQ(list("sink=sink-a&sender=EXAMPLE&limit=1"), (Lines{"01JA sink-a"}));
  EXPECT_EQ(list("sink=sink-c"), Lines{});
  // Placeholders after the sender's LIKE ... ESCAPE '\' (a quoted backslash) are numbered too.
  EXPECT_EQ(list("sender=example&sink=sink-a&since=2026-11-30T04:01:00Z"), (Lines{"01JA sink-a"}));
}

BCCSINK_ON_BOTH_ENGINES(ApiMessagesEngines);
