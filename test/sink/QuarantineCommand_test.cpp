// `bccsink quarantine list|show|release|delete` run as `bccsink` runs them, on both engines
// (--DatabaseUrl), over a database shared by two sinks: what is listed by default, the
// filters, what show gives, and release and delete with who and when, or the reason they
// are refused and exit 1.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "base/Clock.h"
#include "db/HoldQueue.h"
#include "sink/Commands.h"
#include "test/db/Engines.h"
#include "test/report/http/QuarantineTesting.h"

using namespace bccsink;

namespace {

const std::string kQuar = "01JQUAR000000000000000000A";  // sink-a, quarantined (04:03)
const std::string kDisc = "01JDISC000000000000000000B";  // sink-b, discarded   (04:02)
const std::string kRej = "01JREJ0000000000000000000C";   // sink-a, rejected    (04:01)
const std::string kDone = "01JDONE000000000000000000D";  // sink-a, delivered   (04:04)
const std::string kHold = "01JHOLD000000000000000000E";  // sink-a, holding, no verdict yet

struct Ran {
  int code = 0;
  std::string out, err;
};

class QuarantineCommand : public test::EngineTest {
 protected:
  void SetUp() override {
    test::addHeld(database(), kQuar, "sink-a", db::hold_state::kQuarantined, "dangerous", 3);
    test::addHeld(database(), kRej, "sink-a", db::hold_state::kRejected, "clean", 1);
    test::addHeld(database(), kDone, "sink-a", db::hold_state::kDelivered, "clean", 4);
    test::addHeld(database(), kHold, "sink-a", db::hold_state::kHolding, "", 0);
    test::addHeld(database(), kDisc, "sink-b", db::hold_state::kDiscarded, "suspicious", 2);
  }

  // `bccsink quarantine ARGS --DataDir DATA --DatabaseUrl URL --SinkName sink-a`.
  Ran run(std::vector<std::string> args) {
    for (const auto& a :
         {std::string("--DataDir"), data.path.string(), std::string("--DatabaseUrl"), store_.url(),
          std::string("--SinkName"), std::string("sink-a")}) {
      args.push_back(a);
    }
    std::ostringstream out, err;
    auto* oldOut = std::cout.rdbuf(out.rdbuf());
    auto* oldErr = std::cerr.rdbuf(err.rdbuf());
    Ran r;
    r.code = runQuarantine(args);
    std::cout.rdbuf(oldOut);
    std::cerr.rdbuf(oldErr);
    r.out = out.str();
    r.err = err.str();
    return r;
  }

  // The ids of `quarantine list --json ARGS`, one JSON object a line.
  std::vector<std::string> listed(std::vector<std::string> args) {
    args.insert(args.begin(), {"list", "--json"});
    auto r = run(args);
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<std::string> ids;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);)
      ids.push_back(json(line)->getValue<std::string>("id"));
    return ids;
  }

  static Poco::JSON::Object::Ptr json(const std::string& text) {
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
  }

  static std::string user() {
    const passwd* pw = ::getpwuid(::getuid());
    return pw != nullptr ? pw->pw_name : "uid " + std::to_string(::getuid());
  }

  db::HeldMessage held(const std::string& id) {
    auto h = db::HoldQueue(database()).find(id);
    EXPECT_TRUE(h.has_value()) << id;
    return h.value_or(db::HeldMessage{});
  }

  // The DataDir: not a test::TempDir, whose folder (named after the test) is the SQLite
  // store's already.
  struct DataDir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("bccsink-quarantine-data-" + std::to_string(::getpid()));
    DataDir() { std::filesystem::create_directories(path); }
    ~DataDir() { std::filesystem::remove_all(path); }
  } data;
};

using Ids = std::vector<std::string>;

}  // namespace

TEST_P(QuarantineCommand, ListsWhatNeedsAttentionNewestDecisionFirst) {
  EXPECT_EQ(listed({}), (Ids{kQuar, kDisc, kRej}));
  EXPECT_EQ(listed({"--sink", "sink-b"}), (Ids{kDisc}));
  EXPECT_EQ(listed({"--state", "holding"}), (Ids{kHold}));
  EXPECT_EQ(listed({"--state", "delivered"}), (Ids{kDone}));
  EXPECT_EQ(listed({"--limit", "2"}), (Ids{kQuar, kDisc}));
  EXPECT_EQ(listed({"--state", "quarantined", "--sink", "sink-b"}), Ids{});

  auto r = run({"list", "--json", "--limit", "1"});
  auto o = json(r.out);
  EXPECT_EQ(o->getValue<std::string>("sink"), "sink-a");
  EXPECT_EQ(o->getValue<std::string>("state"), "quarantined");
  EXPECT_EQ(o->getValue<std::string>("action"), "quarantine");
  EXPECT_EQ(o->getValue<std::string>("message_id"), "<" + kQuar + "@example.org>");
  EXPECT_EQ(o->getValue<std::string>("sender"), "alice@example.org");
  auto rcpts = o->getArray("recipients");
  ASSERT_EQ(rcpts->size(), 2u);
  EXPECT_EQ(rcpts->getElement<std::string>(1), "ben@example.com");
  EXPECT_EQ(o->getValue<std::string>("verdict"), "dangerous");
  EXPECT_EQ(o->getValue<std::string>("why"), "dangerous: EICAR");
  EXPECT_EQ(o->getValue<std::string>("since"), "2026-11-30T04:03:00.000Z");

  auto text = run({"list"});
  EXPECT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find(kQuar +
                          "  sink-a     quarantined dangerous  2026-11-30T04:03:00.000Z"
                          " <alice@example.org> -> ann@example.com +1  <" +
                          kQuar + "@example.org>\n    why: dangerous: EICAR\n"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("    last error (1 tries): 550 5.7.1 relay refused\n"), std::string::npos)
      << text.out;
  EXPECT_EQ(run({"list", "--sink", "sink-c"}).out,
            "nothing quarantined, discarded or rejected on sink sink-c\n");

  auto bad = run({"list", "--state", "lost"});
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("--state lost: not a hold state"), std::string::npos) << bad.err;
}

TEST_P(QuarantineCommand, ShowGivesTheHeldRowAndTheEnvelope) {
  auto r = run({"show", kRej, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto o = json(r.out);
  EXPECT_EQ(o->getValue<std::string>("state"), "rejected");
  EXPECT_EQ(o->getValue<std::string>("why"), "clean: EICAR_Test_File in eicar.com");
  EXPECT_EQ(o->getValue<int>("tries"), 1);
  EXPECT_EQ(o->getValue<std::string>("last_error"), "550 5.7.1 relay refused");
  EXPECT_EQ(o->getValue<std::string>("held_at").size(), 24u);  // when the 250 went out
  EXPECT_EQ(o->getValue<std::string>("decided_at"), "2026-11-30T04:01:00.000Z");
  EXPECT_TRUE(o->isNull("released_by"));
  EXPECT_TRUE(o->isNull("released_at"));
  auto m = o->getObject("message");
  EXPECT_EQ(m->getValue<std::string>("client_ip"), "127.0.0.1");
  auto dsn = m->getArray("dsn")->getObject(0);
  EXPECT_EQ(dsn->getValue<std::string>("orcpt"), "rfc822;ann@example.com");
  EXPECT_EQ(dsn->getValue<std::string>("notify"), "FAILURE");

  auto pretty = run({"show", kDone});
  EXPECT_EQ(pretty.code, 0);
  EXPECT_NE(pretty.out.find("\"relay_reply\": \"250 2.0.0 Ok: queued as 4Xyz\""), std::string::npos)
      << pretty.out;

  auto none = run({"show", "01JNOPE000000000000000000Z"});
  EXPECT_EQ(none.code, 1);
  EXPECT_EQ(none.err, "bccsink: no such message in the hold queue: 01JNOPE000000000000000000Z\n");
}

TEST_P(QuarantineCommand, ReleaseRecordsWhoAndWhenAndNamesTheSinkThatDelivers) {
  const auto before = nowMs();
  auto own = run({"release", kQuar});
  ASSERT_EQ(own.code, 0) << own.err;
  EXPECT_NE(own.out.find("message " + kQuar + " released by cli:" + user() + " at "),
            std::string::npos)
      << own.out;
  EXPECT_NE(own.out.find(": sink sink-a (this one) delivers it through SmtpSenderRelay\n"),
            std::string::npos)
      << own.out;
  auto h = held(kQuar);
  EXPECT_EQ(h.state, db::hold_state::kDeliver);
  EXPECT_EQ(h.releasedBy, "cli:" + user());
  EXPECT_GE(h.releasedMs, before);
  EXPECT_LE(h.releasedMs, nowMs());

  // Through sudo, both users; another sink's message: a row change, that sink sends it.
  ::setenv("SUDO_USER", "alice", 1);
  auto other = run({"release", kDisc});
  ::unsetenv("SUDO_USER");
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_NE(other.out.find(": sink sink-b (not this one) delivers it"), std::string::npos)
      << other.out;
  EXPECT_EQ(held(kDisc).releasedBy, "cli:" + user() + " (sudo alice)");

  // A rejected message may be tried again.
  EXPECT_EQ(run({"release", kRej}).code, 0);
  EXPECT_EQ(held(kRej).state, db::hold_state::kDeliver);

  auto again = run({"release", kQuar});
  EXPECT_EQ(again.code, 1);
  EXPECT_EQ(again.err,
            "bccsink: message " + kQuar +
                " is in state deliver: only a quarantined, discarded or rejected message can be "
                "released\n");
  auto holding = run({"release", kHold});
  EXPECT_EQ(holding.code, 1);
  EXPECT_NE(holding.err.find("is in state holding"), std::string::npos) << holding.err;
  EXPECT_EQ(held(kHold).state, db::hold_state::kHolding);
  auto none = run({"release", "01JNOPE000000000000000000Z"});
  EXPECT_EQ(none.code, 1);
  EXPECT_NE(none.err.find("no such message in the hold queue"), std::string::npos);
}

TEST_P(QuarantineCommand, DeleteKeepsTheRowAsDeletedAndIsNotUndone) {
  auto r = run({"delete", kQuar});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("message " + kQuar + " deleted by cli:" + user()), std::string::npos)
      << r.out;
  auto h = held(kQuar);
  EXPECT_EQ(h.state, db::hold_state::kDeleted);
  EXPECT_EQ(h.releasedBy, "cli:" + user());
  EXPECT_EQ(listed({}), (Ids{kDisc, kRej}));
  EXPECT_EQ(listed({"--state", "deleted"}), (Ids{kQuar}));

  for (const char* action : {"delete", "release"}) {
    auto again = run({action, kQuar});
    EXPECT_EQ(again.code, 1) << action;
    EXPECT_NE(again.err.find("message " + kQuar + " is in state deleted: only"), std::string::npos)
        << again.err;
  }
  auto delivered = run({"delete", kDone});
  EXPECT_EQ(delivered.code, 1);
  EXPECT_NE(delivered.err.find("is in state delivered"), std::string::npos) << delivered.err;
  EXPECT_EQ(run({"delete", "01JNOPE000000000000000000Z"}).code, 1);
}

TEST_P(QuarantineCommand, WrongUsageShowsTheHelp) {
  for (auto args :
       std::vector<std::vector<std::string>>{{}, {"show"}, {"release"}, {"purge", kQuar}}) {
    auto r = run(args);
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("usage: bccsink quarantine list"), std::string::npos) << r.err;
  }
  auto help = run({"--help"});
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("rejected"), std::string::npos);
}

BCCSINK_ON_BOTH_ENGINES(QuarantineCommand);
