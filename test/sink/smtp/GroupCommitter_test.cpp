#include "sink/smtp/GroupCommitter.h"

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "sink/smtp/Intake.h"
#include "sink/smtp/Spool.h"
#include "test/TempDir.h"

using namespace bccsink;
using namespace Poco::Data::Keywords;

// The intake's promise, without sockets: once commit() says Ok from many threads at
// once, each message has its row and a spool file with the digest of its bytes.
TEST(GroupCommitter, ConcurrentCommitsAllLandWithTheirFiles) {
  test::TempDir dir;
  {
    db::Database database("sqlite:" + (dir / "q.db"));
    database.migrate();
  }
  Spool spool(dir / "spool");
  GroupCommitter committer("sqlite:" + (dir / "q.db"), spool);
  Intake intake(spool, committer, {0, 0, "sink-a"});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        StoreResult r;
        auto w = intake.open(r);
        ASSERT_TRUE(w);
        w->write("Subject: " + std::to_string(t) + "/" + std::to_string(i) + "\r\n\r\nx\r\n");
        Envelope env;
        env.sender = "a@example.org";
        env.recipients = {{"watch@bcc.test", "", ""}};
        env.clientIp = "127.0.0.1";
        env.helo = "h";
        if (commitAndWait(*w, env, "<id>").outcome == Outcome::Ok) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  committer.stop();
  EXPECT_EQ(ok.load(), 400);
  db::Database database("sqlite:" + (dir / "q.db"));
  db::MessageQueue q(database);
  auto rows = q.list({});
  ASSERT_EQ(rows.size(), 400u);
  for (const auto& m : rows) {
    EXPECT_TRUE(std::filesystem::exists(dir / ("spool/" + m.spoolFile))) << m.id;
    EXPECT_EQ(m.headerMessageId, "<id>");
  }
  EXPECT_EQ(spool.files().size(), 400u);
}

TEST(GroupCommitter, DatabaseFailureIsTemporaryAndLeavesNoOrphanFile) {
  test::TempDir dir;
  {
    db::Database database("sqlite:" + (dir / "q.db"));
    database.migrate();
    // Make every insert fail as a broken database would.
    database.session() << "DROP TABLE message_recipients", now;
  }
  Spool spool(dir / "spool");
  GroupCommitter committer("sqlite:" + (dir / "q.db"), spool);
  Intake intake(spool, committer, {0, 0, "sink-a"});
  StoreResult r;
  auto w = intake.open(r);
  w->write("x\r\n");
  Envelope env;
  env.recipients = {{"watch@bcc.test", "", ""}};
  auto result = commitAndWait(*w, env, "");
  EXPECT_EQ(result.outcome, Outcome::TempFail);
  EXPECT_TRUE(spool.files().empty());
}
