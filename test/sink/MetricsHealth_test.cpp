// /metrics while the database is corrupt (issue 18): the health gauge says so, the queue
// gauges are 0 with bccsink_database_readable 0, and the text is made all the same (no
// exception, so the HTTP port answers 200).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <vector>

#include "db/Database.h"
#include "db/Health.h"
#include "sink/Metrics.h"
#include "test/TempDir.h"

using namespace bccsink;

TEST(MetricsHealth, ASoundDatabaseIsOkAndReadable) {
  db::Health::process().resetForTest();
  test::TempDir dir;
  db::Database database("sqlite:" + (dir / "q.db"));
  database.migrate();
  const auto text = formatMetrics(collectMetrics({}, database));
  EXPECT_NE(text.find("bccsink_health{state=\"ok\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bccsink_health{state=\"database_corrupt\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("bccsink_database_readable 1\n"), std::string::npos);
}

TEST(MetricsHealth, ACorruptDatabaseStillGivesTheTextWithTheHealthGauge) {
  db::Health::process().resetForTest();
  test::TempDir dir;
  std::vector<int> roots;
  {
    db::Database made("sqlite:" + (dir / "q.db"));
    made.migrate();
    made.session() << "PRAGMA wal_checkpoint(TRUNCATE)", Poco::Data::Keywords::now;
    made.session()
        << "SELECT rootpage FROM sqlite_master WHERE tbl_name = 'messages' AND rootpage > 1",
        Poco::Data::Keywords::into(roots), Poco::Data::Keywords::now;
  }
  ASSERT_FALSE(roots.empty());
  {
    // Garbage over the root pages of the queue table and its indexes: the database opens,
    // its counts fail.
    std::fstream f(dir / "q.db", std::ios::in | std::ios::out | std::ios::binary);
    for (int root : roots) {
      f.seekp(static_cast<std::streamoff>(root - 1) * 4096);
      f << std::string(4096, 'g');
    }
  }
  db::Database database("sqlite:" + (dir / "q.db"));
  MetricsSnapshot s;
  ASSERT_NO_THROW(s = collectMetrics({}, database));
  EXPECT_FALSE(s.databaseReadable);
  const auto text = formatMetrics(s);
  EXPECT_NE(text.find("bccsink_health{state=\"database_corrupt\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("bccsink_database_readable 0\n"), std::string::npos);
  EXPECT_NE(text.find("bccsink_queue_messages{state=\"pending\"} 0\n"), std::string::npos);
  db::Health::process().resetForTest();
}
