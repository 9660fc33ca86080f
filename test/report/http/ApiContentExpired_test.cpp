// The API of a copy whose content retention deleted (issue 17): its message JSON comes from
// the row and says so; its raw content is refused for good (410) with the date.

#include <gtest/gtest.h>

#include <filesystem>

#include "db/Retention.h"
#include "test/report/http/HttpTestServer.h"

using namespace bccsink;
using namespace bccsink::test;

TEST(ApiContentExpired, AnExpiredCopyIsShownFromItsRowAndItsRawContentIsGone) {
  HttpTestServer t;
  t.start();
  db::Retention(t.database).markContentExpired({kClean}, "2026-12-07T04:00:00.000Z");
  std::filesystem::remove(t.spool + "/" + kClean + ".eml");
  const std::string said =
      "the content of " + kClean + " expired on 2026-12-07T04:00:00.000Z (BccKeepClean)";

  auto m = t.get("/api/messages/" + kClean);
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_TRUE(m.json()->getValue<bool>("content_expired"));
  EXPECT_EQ(m.json()->getValue<std::string>("content_expired_at"), "2026-12-07T04:00:00.000Z");
  EXPECT_EQ(m.json()->getValue<std::string>("verdict"), "clean");
  auto errors = m.json()->getArray("errors");
  ASSERT_EQ(errors->size(), 1u) << m.body;
  EXPECT_EQ(errors->getElement<std::string>(0), said);  // not a spool read error

  auto raw = t.get("/api/messages/" + kClean + "/raw");
  EXPECT_EQ(raw.status, 410);
  EXPECT_EQ(raw.json()->getValue<std::string>("error"), said);

  auto kept = t.get("/api/messages/" + kDangerous);
  ASSERT_EQ(kept.status, 200) << kept.body;
  EXPECT_FALSE(kept.json()->getValue<bool>("content_expired"));
  EXPECT_EQ(t.get("/api/messages/" + kDangerous + "/raw").status, 200);
}
