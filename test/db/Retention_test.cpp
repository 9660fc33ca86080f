#include "db/Retention.h"

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/Clock.h"
#include "db/Database.h"
#include "db/MessageQueue.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;
using namespace std::chrono_literals;

namespace {

// "Now" in these tests: 2026-12-10T00:00:00.000Z.
const std::int64_t kNow = msOfIso("2026-12-10T00:00:00.000Z");

std::string daysAgo(int days) {
  return db::isoOfMs(kNow - std::int64_t{days} * 86400 * 1000);
}

std::vector<std::string> ids(const std::vector<db::ExpiringCopy>& copies) {
  std::vector<std::string> out;
  for (const auto& c : copies) out.push_back(c.id);
  return out;
}

}  // namespace

class RetentionTest : public test::EngineTest {
 protected:
  // A copy of `sink` received `days` ago, in this state, with this verdict and report.
  void copy(const std::string& id, int days, const std::string& state, const std::string& verdict,
            const std::string& reportStatus, int spoofed = 0, const std::string& sink = "sink-a") {
    db::MessageQueue(database()).insertPending({test::sampleRecord(id, daysAgo(days), sink)});
    std::string s = state, v = verdict, r = reportStatus, key = id;
    int sp = spoofed;
    database().session() << database().sql(
        "UPDATE messages SET state = ?, verdict = ?, report_status = ?,"
        " spoofed = ? WHERE id = ?"),
        use(s), use(v), use(r), use(sp), use(key), now;
    if (v.empty()) exec("UPDATE messages SET verdict = NULL WHERE id = '" + id + "'");
    if (r.empty()) exec("UPDATE messages SET report_status = NULL WHERE id = '" + id + "'");
  }
  void exec(const std::string& sql) { database().session() << sql, now; }
  void hold(const std::string& id, const std::string& state) {
    exec("INSERT INTO held (msg_id, sink, state, smtputf8, held_ms) VALUES ('" + id +
         "', 'sink-a', '" + state + "', 0, 0)");
  }
  void file(const std::string& id, int position, const std::string& sha, const std::string& seen) {
    exec(
        "INSERT INTO files (sha256, md5, size, true_type, description, family, first_seen,"
        " last_seen, seen_count) SELECT '" +
        sha + "', '', 1, 't', 'd', 'f', '" + seen + "', '" + seen +
        "', 1 WHERE NOT EXISTS (SELECT 1 FROM files WHERE sha256 = '" + sha + "')");
    exec(
        "INSERT INTO message_files (msg_id, position, sha256, name, path, extension,"
        " extension_mismatch, size, selected) VALUES ('" +
        id + "', " + std::to_string(position) + ", '" + sha + "', 'a', 'a', '', 0, 1, 1)");
  }
  std::int64_t count(const std::string& sql) {
    std::int64_t n = 0;
    database().session() << sql, into(n), now;
    return n;
  }

  db::RetentionRules rules{"sink-a", 7 * 24h, 90 * 24h, 365 * 24h};
};

TEST_P(RetentionTest, CleanCopiesExpireAfterKeepCleanOldestFirst) {
  copy("01C", 8, "checked", "clean", "none");
  copy("01A", 10, "reported", "clean", "sent");
  copy("01B", 9, "checked", "unscanned", "undeliverable");
  copy("01D", 6, "checked", "clean", "none");  // younger than 7 days
  db::Retention r(database());
  EXPECT_EQ(ids(r.contentDue(rules, kNow, 10)), (std::vector<std::string>{"01A", "01B", "01C"}));
  EXPECT_EQ(ids(r.contentDue(rules, kNow, 2)), (std::vector<std::string>{"01A", "01B"}));
}

TEST_P(RetentionTest, FlaggedCopiesAreKeptForKeepFlagged) {
  copy("01A", 30, "reported", "dangerous", "sent");
  copy("01B", 30, "reported", "suspicious", "sent");
  copy("01C", 30, "reported", "clean", "sent", /*spoofed=*/1);
  copy("01D", 30, "failed", "", "sent");
  copy("01E", 91, "reported", "dangerous", "sent");
  copy("01F", 95, "failed", "unscanned", "none");
  db::Retention r(database());
  auto due = r.contentDue(rules, kNow, 10);
  EXPECT_EQ(ids(due), (std::vector<std::string>{"01F", "01E"}));
  EXPECT_TRUE(due[0].flagged);
}

TEST_P(RetentionTest, NothingUnfinishedUnjudgedOrHeldExpires) {
  copy("01A", 30, "pending", "", "");
  copy("01B", 30, "analyzing", "", "");
  copy("01C", 30, "checked", "clean", "");         // not judged by the reporter
  copy("01D", 30, "checked", "clean", "due");      // its report not sent yet
  copy("01E", 30, "checked", "clean", "held");     // SMTP mode, no action yet
  copy("01F", 30, "checked", "unscanned", "due");  // unscanned, report outstanding
  copy("01G", 30, "checked", "clean", "none");     // held, quarantined
  copy("01H", 30, "checked", "clean", "none");     // held, delivered: may go
  copy("01I", 30, "checked", "clean", "none");     // held, discarded: releasable
  copy("01J", 30, "checked", "clean", "none");     // held, refused by the relay: releasable
  copy("01K", 30, "checked", "clean", "none");     // held, deleted from quarantine: may go
  hold("01G", "quarantined");
  hold("01H", "delivered");
  hold("01I", "discarded");
  hold("01J", "rejected");
  hold("01K", "deleted");
  db::Retention r(database());
  EXPECT_EQ(ids(r.contentDue(rules, kNow, 10)), (std::vector<std::string>{"01H", "01K"}));
  EXPECT_EQ(ids(r.oldestClean("sink-a", 10)), (std::vector<std::string>{"01H", "01K"}));
}

TEST_P(RetentionTest, ZeroKeepsForeverAndKeepRowsCapsContent) {
  copy("01A", 400, "reported", "dangerous", "sent");
  copy("01B", 100, "checked", "clean", "none");
  db::Retention r(database());
  db::RetentionRules forever{"sink-a", 0s, 0s, 0s};
  EXPECT_TRUE(r.contentDue(forever, kNow, 10).empty());
  EXPECT_TRUE(r.rowsDue(forever, kNow, 10).empty());
  // Clean kept forever, but no longer than its row: 01A's row is past 365 days.
  db::RetentionRules capped{"sink-a", 0s, 0s, 365 * 24h};
  EXPECT_EQ(ids(r.contentDue(capped, kNow, 10)), (std::vector<std::string>{"01A"}));
  db::RetentionRules shortRows{"sink-a", 0s, 0s, 50 * 24h};
  EXPECT_EQ(ids(r.contentDue(shortRows, kNow, 10)), (std::vector<std::string>{"01A", "01B"}));
}

TEST_P(RetentionTest, OnlyThisSinksCopies) {
  copy("01A", 30, "checked", "clean", "none", 0, "sink-b");
  copy("01B", 30, "checked", "clean", "none");
  db::Retention r(database());
  EXPECT_EQ(ids(r.contentDue(rules, kNow, 10)), (std::vector<std::string>{"01B"}));
  EXPECT_EQ(ids(r.oldestClean("sink-a", 10)), (std::vector<std::string>{"01B"}));
  auto b = rules;
  b.sink = "sink-b";
  EXPECT_EQ(ids(r.contentDue(b, kNow, 10)), (std::vector<std::string>{"01A"}));
}

TEST_P(RetentionTest, MarkedExpiredCopiesLeaveTheWalkAndKeepTheirRows) {
  copy("01A", 30, "checked", "clean", "none");
  copy("01B", 29, "checked", "clean", "none");
  db::Retention r(database());
  EXPECT_EQ(r.markContentExpired({"01A"}, "2026-12-10T00:00:00.000Z"), 1u);
  EXPECT_EQ(r.markContentExpired({"01A"}, "2026-12-11T00:00:00.000Z"), 0u);  // already
  EXPECT_EQ(ids(r.contentDue(rules, kNow, 10)), (std::vector<std::string>{"01B"}));
  auto m = db::MessageQueue(database()).find("01A");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->contentExpiredAt, "2026-12-10T00:00:00.000Z");
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 2);
}

TEST_P(RetentionTest, OldestCleanUnderPressureIgnoresAgeButNotFlagged) {
  copy("01A", 0, "checked", "clean", "none");
  copy("01B", 1, "reported", "dangerous", "sent");
  copy("01C", 2, "checked", "clean", "none");
  db::Retention r(database());
  EXPECT_TRUE(r.contentDue(rules, kNow, 10).empty());
  EXPECT_EQ(ids(r.oldestClean("sink-a", 10)), (std::vector<std::string>{"01C", "01A"}));
  EXPECT_EQ(ids(r.oldestClean("sink-a", 1)), (std::vector<std::string>{"01C"}));
}

TEST_P(RetentionTest, RowsPastKeepRowsAreDeletedWithWhatHangsOnThem) {
  copy("01A", 400, "reported", "dangerous", "sent");
  copy("01B", 300, "checked", "clean", "none");
  copy("01C", 400, "pending", "", "");  // never settled: left alone
  copy("01D", 400, "checked", "clean", "none", 0, "sink-b");
  file("01A", 0, std::string(64, '1'), daysAgo(400));
  hold("01A", "delivered");
  exec(
      "INSERT INTO retro_alerts (id, sink, sha256, analyzer, verdict, threats, cause,"
      " created_at, created_ms, report_status) VALUES ('R1', 'sink-a', 'x', 'yara',"
      " 'dangerous', '', 'hash-list', '" +
      daysAgo(399) + "', " + std::to_string(kNow - 399ll * 86400000) + ", 'sent')");
  exec(
      "INSERT INTO retro_alerts (id, sink, sha256, analyzer, verdict, threats, cause,"
      " created_at, created_ms, report_status) VALUES ('R2', 'sink-a', 'x', 'yara',"
      " 'dangerous', '', 'hash-list', '" +
      daysAgo(1) + "', " + std::to_string(kNow - 86400000) + ", 'sent')");
  exec(
      "INSERT INTO retro_messages (alert_id, msg_id, earlier_verdict, earlier_checked_at,"
      " verdict, file_path) VALUES ('R1', '01A', 'clean', 'x', 'dangerous', 'a')");
  exec(
      "INSERT INTO stats_intervals (sink, start_ms, end_ms, computed_at, counters) VALUES"
      " ('sink-a', 0, 1, 'x', '{}')");
  db::Retention r(database());
  auto due = r.rowsDue(rules, kNow, 10);
  EXPECT_EQ(ids(due), (std::vector<std::string>{"01A"}));
  EXPECT_FALSE(due[0].contentExpired);
  EXPECT_EQ(r.deleteRows(ids(due), kNow - 365ll * 86400000), 1u);
  EXPECT_EQ(count("SELECT COUNT(*) FROM messages"), 3);
  EXPECT_EQ(count("SELECT COUNT(*) FROM message_files"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM message_recipients WHERE msg_id = '01A'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM held"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM retro_messages"), 0);
  // R1 is older than BccKeepRows with no message left; R2 is recent.
  EXPECT_EQ(count("SELECT COUNT(*) FROM retro_alerts"), 1);
  EXPECT_EQ(count("SELECT COUNT(*) FROM stats_intervals"), 1);
}

TEST_P(RetentionTest, AFileGoesOnlyWhenNoKeptCopyOfThisSinkRefersToIt) {
  const std::string shared(64, '1'), alone(64, '2'), other(64, '3'), fresh(64, '4');
  copy("01A", 30, "checked", "clean", "none");
  copy("01B", 3, "checked", "clean", "none");
  copy("01C", 3, "checked", "clean", "none", 0, "sink-b");
  file("01A", 0, shared, daysAgo(30));
  file("01A", 1, alone, daysAgo(30));
  file("01A", 2, other, daysAgo(30));
  file("01A", 3, fresh, daysAgo(0));
  file("01B", 0, shared, daysAgo(30));
  file("01C", 0, other, daysAgo(30));  // another sink's copy: its own files/ folder
  db::Retention r(database());
  auto files = r.filesOf({"01A"});
  EXPECT_EQ(files, (std::vector<std::string>{shared, alone, other, fresh}));
  r.markContentExpired({"01A"}, "2026-12-10T00:00:00.000Z");
  auto kept = r.stillReferenced("sink-a", files, daysAgo(1));
  EXPECT_EQ(kept, (std::set<std::string>{shared, fresh}));
}

BCCSINK_ON_BOTH_ENGINES(RetentionTest);

TEST_P(RetentionTest, StillReferencedTakesMoreFilesThanOneStatementMayBind) {
  // SQLite binds at most 32,766 values in one statement.
  std::vector<std::string> many;
  for (int i = 0; i < 40000; ++i) {
    char hex[65];
    std::snprintf(hex, sizeof hex, "%064x", i);
    many.push_back(hex);
  }
  db::Retention r(database());
  EXPECT_TRUE(r.stillReferenced("sink-a", many, "2026-01-01T00:00:00.000Z").empty());
}
