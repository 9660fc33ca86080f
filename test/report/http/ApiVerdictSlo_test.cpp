// /api/overview's verdict_slo (ApiHandlers without sockets): the target, the share, the
// counts and the oldest pending copy's age as ApiContext::slo reads them; absent without.

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>

#include "db/Database.h"
#include "report/http/ApiHandlers.h"
#include "test/TempDir.h"

using namespace bccsink;
using namespace std::chrono_literals;

namespace {

Poco::JSON::Object::Ptr overview(const report::ApiContext& context, db::Database& d) {
  report::ApiHandlers api(context);
  auto a = api.handle("GET", "/api/overview", "", [&d]() -> db::Database& { return d; });
  EXPECT_EQ(a.status, 200) << a.body;
  return Poco::JSON::Parser().parse(a.body).extract<Poco::JSON::Object::Ptr>();
}

TEST(ApiVerdictSlo, TheOverviewSaysTheSloShareTargetAndOldestPendingAge) {
  test::TempDir dir;
  db::Database d("sqlite:" + (dir / "q.db"));
  d.migrate();
  report::ApiContext context;
  context.spoolDir = dir.path();
  EXPECT_FALSE(overview(context, d)->has("verdict_slo"));
  context.slo = [](db::Database&) {
    sandbox::SloReading r;
    r.target = 900s;
    r.within = 97;
    r.late = 2;
    r.overdue = 1;
    r.ratio = 0.97;
    r.oldestWaitingSeconds = 42.5;
    return r;
  };
  auto slo = overview(context, d)->getObject("verdict_slo");
  ASSERT_TRUE(slo);
  EXPECT_EQ(slo->getValue<int>("target_seconds"), 900);
  EXPECT_DOUBLE_EQ(slo->getValue<double>("ratio"), 0.97);
  EXPECT_EQ(slo->getValue<int>("within"), 97);
  EXPECT_EQ(slo->getValue<int>("late"), 2);
  EXPECT_EQ(slo->getValue<int>("overdue"), 1);
  EXPECT_DOUBLE_EQ(slo->getValue<double>("oldest_pending_seconds"), 42.5);
}

}  // namespace
