// The analysis stage while its database fails: every thread's failing rounds are one log
// line, they pause instead of spinning, and the stage works again by itself once the
// database does (the messages table renamed away and back stands for a server that goes
// and comes back).

#include <Poco/Data/Statement.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "db/Database.h"
#include "db/MessageQueue.h"
#include "sandbox/Pipeline.h"
#include "sandbox/extract/Digest.h"
#include "sandbox/extract/FileType.h"
#include "sandbox/extract/Selection.h"
#include "test/LogCapture.h"
#include "test/TempDir.h"

using namespace bccsink;
using namespace bccsink::sandbox;
using namespace std::chrono_literals;
using namespace Poco::Data::Keywords;

TEST(PipelineFaults, ItsThreadsLogTheOutageOnceAndTheStageWorksAgainWithoutARestart) {
  test::TempDir dir;
  const std::string url = "sqlite:" + (dir / "q.db");
  const std::string spool = dir / "spool";
  std::filesystem::create_directories(spool);
  db::Database database(url);
  database.migrate();
  db::MessageQueue queue(database);
  FileTyper typer;
  SelectionRules rules = parseSelection(defaultFileTypes(), 100 << 20);
  Extractor extractor{typer, rules, ExtractLimits{}};
  ContentStore store{dir / "files"};
  test::LogCapture log("bccsink.analysis");

  PipelineSettings s;
  s.databaseUrl = url;
  s.spoolDir = spool;
  s.owner = "sink-a";
  s.workers = 2;
  s.idlePoll = 20ms;  // without the pause, dozens of failed rounds a second
  s.sweepInterval = 50ms;
  Pipeline pipeline(s, extractor, store, {});
  pipeline.start();

  database.session() << "ALTER TABLE messages RENAME TO away", now;
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(log.count("analysis: the database failed"), 1) << log.all();
  EXPECT_EQ(log.count("works again"), 0) << log.all();
  database.session() << "ALTER TABLE away RENAME TO messages", now;

  const std::string bytes = "From: a@example.org\r\nSubject: t\r\n\r\nplain text\r\n";
  std::ofstream(spool + "/01F.eml", std::ios::binary) << bytes;
  db::MessageRecord r;
  r.id = "01F";
  r.sink = "sink-a";
  r.receivedAt = "2026-12-06T04:00:00.000Z";
  r.sender = "a@example.org";
  r.recipients = {{"w@bcc.test", "", ""}};
  r.size = static_cast<std::int64_t>(bytes.size());
  r.sha256 = digest(bytes).sha256;
  r.spoolFile = "01F.eml";
  queue.insertPending({r});
  pipeline.wake();
  const auto until = std::chrono::steady_clock::now() + 15s;
  while (queue.find("01F")->state != "checked" && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(queue.find("01F")->state, "checked");
  // Every thread that failed has had a round work by now (a pause is at most 2 s here).
  std::this_thread::sleep_for(2500ms);
  pipeline.stop();
  EXPECT_EQ(log.count("analysis: the database works again after"), 1) << log.all();
  EXPECT_EQ(log.count("analysis: the database failed"), 1) << log.all();
}
