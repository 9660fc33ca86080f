// Report groups (BccReportGroupWindow, issue 18 #12) on both engines: a campaign of one
// file to many users is one report listing every message and recipient, then a follow-up
// naming it; different files are different reports; window 0 is a mail per message; the
// groups live in the queue's rows, so a new Reporter (a restart) goes on with them. The
// clock is the test's (ReporterSettings::clock): the windows pass without sleeping.

#include <Poco/Base64Decoder.h>
#include <Poco/Exception.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "base/Clock.h"
#include "db/FileRepository.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "db/ReportQueue.h"
#include "report/Reporter.h"
#include "report/spoof/MessageHeaders.h"
#include "test/TempDir.h"
#include "test/db/Engines.h"
#include "test/db/SampleRecord.h"

using namespace bccsink;
using namespace bccsink::report;

namespace {

// The EICAR test file's SHA-256, and another file's.
const std::string kEicar = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";
const std::string kOther = std::string(64, 'b');

struct Inbox {
  std::vector<std::string> mails;
  bool down = false;  // a temporary failure
  Deliver deliver() {
    return [this](const std::string& mail) {
      DeliveryResult r;
      if (down) {
        r.outcome = Outcome::TempFail;
        r.reason = "421 4.3.2 try later";
        return r;
      }
      mails.push_back(mail);
      r.receipt = "250 2.0.0 queued";
      return r;
    };
  }
};

// The text part of a report mail, decoded (its first base64 part).
std::string textOf(const std::string& mail) {
  auto start = mail.find("Content-Type: text/plain");
  start = mail.find("\r\n\r\n", start) + 4;
  auto end = mail.find("--", start);
  std::istringstream in(mail.substr(start, end - start));
  Poco::Base64Decoder dec(in);
  return std::string(std::istreambuf_iterator<char>(dec), {});
}

std::string header(const std::string& mail, const std::string& name) {
  return MessageHeaders::parse(mail).decoded(name);
}

std::string idOf(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "01G%05d", i);
  return buf;
}

}  // namespace

class ReporterGroupsTest : public test::EngineTest {
 protected:
  // The spool beside the SQLite file; a TempDir of its own only on PostgreSQL (a second
  // TempDir in one test is the same folder, which it would empty).
  ReporterGroupsTest() {
    if (postgres()) {
      dir.emplace();
      spool = *dir / "spool";
    } else {
      spool = std::filesystem::path(store_.url().substr(std::string("sqlite:").size()))
                  .replace_filename("spool")
                  .string();
    }
    std::filesystem::create_directories(spool);
  }

  // Messages `first`..`first+count-1`, each to its own user, each carrying `files`
  // (dangerous), checked; as the workers leave them for the reporter.
  void add(int first, int count, const std::vector<std::string>& files,
           const std::string& subject = "Invoice", const std::string& sink = "sink-a") {
    db::MessageQueue queue(database());
    std::vector<db::MessageRecord> rows;
    std::vector<db::ExtractedFiles> extracted;
    std::vector<db::FileRow> known;
    for (const auto& sha : files)
      known.push_back(
          {sha, std::string(32, 'c'), 68, "text/plain", "ASCII text", "text", "", "", 0});
    db::FileRepository(database()).recordSeen(known, isoNow());
    for (int i = first; i < first + count; ++i) {
      const auto id = idOf(i);
      const auto user = "user" + std::to_string(i);
      std::ofstream(spool + "/" + id + ".eml")
          << "Received: from mta.example.com (unknown [127.0.0.1])\r\n\tby sink.test; Mon, 30 "
             "Nov 2026 02:00:00 +0000\r\n"
          << "From: billing@example.org\r\nTo: " << user << "@example.com\r\nSubject: " << subject
          << "\r\n\r\nbody\r\n";
      auto r = test::sampleRecord(id, "2026-11-30T02:00:00.000Z", sink);
      r.recipients = {{"watch+" + user + "=example.com@bcc.test", "", "", user + "@example.com"}};
      rows.push_back(r);
      db::ExtractedFiles e{id, {}, ""};
      int position = 0;
      for (const auto& sha : files) {
        db::MessageFile f;
        f.position = position++;
        f.sha256 = sha;
        f.name = sha == kEicar ? "eicar.com" : "other.exe";
        f.path = f.name;
        f.extension = "com";
        f.size = 68;
        f.selected = true;
        f.verdict = "dangerous";
        e.files.push_back(f);
      }
      extracted.push_back(e);
    }
    queue.insertPending(rows);
    db::MessageFiles(database()).save(extracted, isoNow());
    std::vector<std::pair<std::string, std::string>> verdicts;
    for (int i = 0; i < count; ++i) {
      auto m = queue.claimNext(sink, nowMs() + 60000, nowMs() + 60000, isoNow());
      ASSERT_TRUE(m);
      verdicts.push_back({m->id, "dangerous"});
    }
    ASSERT_EQ(queue.markChecked(verdicts, sink, isoNow()).size(), verdicts.size());
  }

  ReporterSettings settings(int windowSeconds = 120, const std::string& sink = "sink-a") {
    ReporterSettings s;
    s.databaseUrl = store_.url();
    s.spoolDir = spool;
    s.owner = sink;
    s.spoof.internalDomains = {"example.com"};
    s.spoof.skipTopReceived = 1;
    s.mail = {"bccsink@example.com", {"admin@example.com"}, "sink.test"};
    s.groupWindow = std::chrono::seconds(windowSeconds);
    s.batch = 500;
    s.clock = [this] { return clock.load(); };
    return s;
  }

  // A round until nothing is left to judge (the batch is 500).
  std::size_t round(Reporter& reporter) {
    try {
      return reporter.runOnce();
    } catch (const Poco::Exception& e) {
      ADD_FAILURE() << e.displayText();
      return 0;
    }
  }

  std::optional<test::TempDir> dir;
  std::string spool;
  std::atomic<std::int64_t> clock{1'800'000'000'000};
};

TEST_P(ReporterGroupsTest, ACampaignOfOneFileIsOneReportListingEveryMessageAndRecipient) {
  add(0, 300, {kEicar});
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(round(reporter), 0u);  // judged; the group waits for its window
  clock += 119'000;
  EXPECT_EQ(round(reporter), 0u);
  EXPECT_TRUE(inbox.mails.empty());
  clock += 1'000;  // the window of the first message is over
  EXPECT_EQ(round(reporter), 300u);
  ASSERT_EQ(inbox.mails.size(), 1u);
  const auto& mail = inbox.mails[0];
  EXPECT_EQ(header(mail, "Subject"), "[bccsink] dangerous: 300 messages with eicar.com");
  EXPECT_EQ(header(mail, "X-Bccsink-Group"), idOf(0));
  EXPECT_EQ(header(mail, "X-Bccsink-Group-Count"), "300");
  const auto text = textOf(mail);
  EXPECT_NE(text.find("300 message(s) carrying the same file(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("eicar.com (" + kEicar + ")"), std::string::npos);
  for (int i = 0; i < 300; ++i) {
    const auto user = "user" + std::to_string(i) + "@example.com";
    EXPECT_NE(text.find(idOf(i)), std::string::npos) << i;
    EXPECT_NE(text.find("Original recipients: " + user + "\n"), std::string::npos) << user;
    EXPECT_NE(text.find("-> watch+user" + std::to_string(i) + "=example.com@bcc.test\n"),
              std::string::npos);
  }
  db::MessageQueue queue(database());
  EXPECT_EQ(queue.find(idOf(299))->state, "reported");
  EXPECT_EQ(reporter.counts().sent, 300u);
  EXPECT_EQ(round(reporter), 0u);  // sent once
  EXPECT_EQ(inbox.mails.size(), 1u);
}

TEST_P(ReporterGroupsTest, MoreOfTheSameFileAfterTheReportMakeOneFollowUpThatNamesIt) {
  add(0, 3, {kEicar});
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  round(reporter);
  clock += 120'000;
  EXPECT_EQ(round(reporter), 3u);
  add(3, 2, {kEicar});
  EXPECT_EQ(round(reporter), 0u);  // a new window from the first of them
  clock += 60'000;
  add(5, 1, {kEicar});
  EXPECT_EQ(round(reporter), 0u);
  clock += 60'000;  // the window of message 3 is over: 3, 4 and 5 go together
  EXPECT_EQ(round(reporter), 3u);
  ASSERT_EQ(inbox.mails.size(), 2u);
  const auto& follow = inbox.mails[1];
  EXPECT_EQ(header(follow, "Subject"),
            "[bccsink] dangerous: 3 more messages with eicar.com, follows " + idOf(0));
  EXPECT_EQ(header(follow, "X-Bccsink-Follows"), idOf(0));
  EXPECT_EQ(header(follow, "X-Bccsink-Group"), idOf(3));
  const auto text = textOf(follow);
  EXPECT_NE(text.find("This follows report " + idOf(0)), std::string::npos) << text;
  EXPECT_NE(text.find("3 message(s) with these files were reported before"), std::string::npos);
  EXPECT_EQ(text.find(idOf(0) + "\n"), std::string::npos);  // only the new ones are listed
  EXPECT_NE(text.find(idOf(5)), std::string::npos);
}

TEST_P(ReporterGroupsTest, TwoDifferentFilesMakeTwoReports) {
  add(0, 4, {kEicar});
  add(4, 3, {kOther});
  add(7, 2, {kEicar, kOther});  // both files: a group of its own
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  round(reporter);
  clock += 120'000;
  EXPECT_EQ(round(reporter), 9u);
  ASSERT_EQ(inbox.mails.size(), 3u);
  std::multiset<std::string> counts;
  for (const auto& m : inbox.mails) counts.insert(header(m, "X-Bccsink-Group-Count"));
  EXPECT_EQ(counts, (std::multiset<std::string>{"4", "3", "2"}));
  for (const auto& m : inbox.mails) {
    if (header(m, "X-Bccsink-Group-Count") == "2")
      EXPECT_EQ(header(m, "Subject"), "[bccsink] dangerous: 2 messages with eicar.com and 1 more");
  }
}

TEST_P(ReporterGroupsTest, WindowZeroIsAMailPerMessageAtOnce) {
  add(0, 5, {kEicar});
  Inbox inbox;
  Reporter reporter(settings(0), Templates::builtIn(), inbox.deliver());
  EXPECT_EQ(round(reporter), 5u);
  ASSERT_EQ(inbox.mails.size(), 5u);
  EXPECT_EQ(header(inbox.mails[0], "Subject"), "[bccsink] dangerous: Invoice");
  EXPECT_TRUE(header(inbox.mails[0], "X-Bccsink-Group").empty());
}

TEST_P(ReporterGroupsTest, DigestModeWinsOverGroups) {
  add(0, 3, {kEicar});
  Inbox inbox;
  auto s = settings();
  s.digestInterval = std::chrono::seconds(1);
  {
    Reporter reporter(s, Templates::builtIn(), inbox.deliver());
    round(reporter);  // judged, not grouped: the digest batches
  }
  db::ReportQueue reports(database());
  EXPECT_TRUE(reports.groupsOf({idOf(0), idOf(1), idOf(2)}).empty());
  EXPECT_EQ(reports.due("sink-a", clock.load(), 10).size(), 3u);  // not held for a window
}

TEST_P(ReporterGroupsTest, ALoneMessageInItsWindowGetsTheUsualReport) {
  add(0, 1, {kEicar});
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  round(reporter);
  clock += 120'000;
  EXPECT_EQ(round(reporter), 1u);
  ASSERT_EQ(inbox.mails.size(), 1u);
  EXPECT_EQ(header(inbox.mails[0], "Subject"), "[bccsink] dangerous: Invoice");
  EXPECT_EQ(header(inbox.mails[0], "X-Bccsink-Queue-Id"), idOf(0));
}

TEST_P(ReporterGroupsTest, ARestartKeepsTheGroupsAndTheReportAFollowUpFollows) {
  Inbox inbox;
  add(0, 10, {kEicar});
  {
    Reporter before(settings(), Templates::builtIn(), inbox.deliver());
    round(before);  // judged and held; then the daemon stops
  }
  add(10, 5, {kEicar});
  clock += 120'000;
  {
    Reporter after(settings(), Templates::builtIn(), inbox.deliver());
    EXPECT_EQ(round(after), 15u);  // the held ten and the five judged now: one report
  }
  ASSERT_EQ(inbox.mails.size(), 1u);
  EXPECT_EQ(header(inbox.mails[0], "X-Bccsink-Group-Count"), "15");
  add(15, 2, {kEicar});
  {
    Reporter third(settings(), Templates::builtIn(), inbox.deliver());
    round(third);
    clock += 120'000;
    EXPECT_EQ(round(third), 2u);
  }
  ASSERT_EQ(inbox.mails.size(), 2u);
  EXPECT_EQ(header(inbox.mails[1], "X-Bccsink-Follows"), idOf(0));
}

TEST_P(ReporterGroupsTest, AGroupTheReceiverDeferredGoesOutWholeOnceItIsBack) {
  add(0, 4, {kEicar});
  Inbox inbox;
  auto s = settings();
  s.retryBase = std::chrono::seconds(30);
  Reporter reporter(s, Templates::builtIn(), inbox.deliver());
  round(reporter);
  clock += 120'000;
  inbox.down = true;
  EXPECT_EQ(round(reporter), 0u);
  inbox.down = false;
  EXPECT_EQ(round(reporter), 0u);  // the back-off
  clock += 30'000;
  EXPECT_EQ(round(reporter), 4u);
  ASSERT_EQ(inbox.mails.size(), 1u);
  EXPECT_EQ(header(inbox.mails[0], "X-Bccsink-Group-Count"), "4");
  EXPECT_TRUE(header(inbox.mails[0], "X-Bccsink-Follows").empty());
}

TEST_P(ReporterGroupsTest, AResentMessageIsReportedAlone) {
  add(0, 3, {kEicar});
  Inbox inbox;
  Reporter reporter(settings(), Templates::builtIn(), inbox.deliver());
  round(reporter);
  clock += 120'000;
  EXPECT_EQ(round(reporter), 3u);
  db::ReportQueue reports(database());
  ASSERT_TRUE(reports.requeue(idOf(1)));
  EXPECT_EQ(round(reporter), 1u);
  ASSERT_EQ(inbox.mails.size(), 2u);
  EXPECT_EQ(header(inbox.mails[1], "X-Bccsink-Queue-Id"), idOf(1));
}

TEST_P(ReporterGroupsTest, TwoSinksOnOneDatabaseEachReportTheirOwnMessagesOfAGroupOnce) {
  // Each sink's reporter takes only its own rows (ReportQueue::due and groupDue by sink):
  // a campaign that reached both is one report per sink, each message in exactly one.
  add(0, 6, {kEicar}, "Invoice", "sink-a");
  add(6, 4, {kEicar}, "Invoice", "sink-b");
  Inbox a, b;
  Reporter ra(settings(120, "sink-a"), Templates::builtIn(), a.deliver());
  Reporter rb(settings(120, "sink-b"), Templates::builtIn(), b.deliver());
  round(ra);
  round(rb);
  clock += 120'000;
  std::size_t sentA = 0, sentB = 0;
  std::thread ta([&] { sentA = round(ra); });
  std::thread tb([&] { sentB = round(rb); });
  ta.join();
  tb.join();
  EXPECT_EQ(sentA, 6u);
  EXPECT_EQ(sentB, 4u);
  ASSERT_EQ(a.mails.size(), 1u);
  ASSERT_EQ(b.mails.size(), 1u);
  EXPECT_EQ(header(a.mails[0], "X-Bccsink-Group-Count"), "6");
  EXPECT_EQ(header(b.mails[0], "X-Bccsink-Group-Count"), "4");
  EXPECT_EQ(header(b.mails[0], "X-Bccsink-Group"), idOf(6));
  EXPECT_TRUE(header(b.mails[0], "X-Bccsink-Follows").empty());  // not sink-a's report
}

BCCSINK_ON_BOTH_ENGINES(ReporterGroupsTest);
