// SmtpSession with a store whose commit completes later (MessageStore.h: `done` may run
// after commit() returns, on another thread): the session waits in a Committing state,
// keeps what the client pipelined behind the final dot and answers it after the 250, in
// order. Kept apart from SmtpSession_test.cpp, whose store completes inline.

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sink/smtp/MessageStore.h"
#include "sink/smtp/SmtpSession.h"

namespace bccsink {
namespace {

// A store that keeps each commit's `done` for the test to call when it likes.
class LaterStore : public MessageStore {
 public:
  struct Pending {
    std::string id;
    std::string bytes;
    MessageWriter::Done done;
  };
  std::vector<Pending> pending;
  int writersAlive = 0;
  bool throwOnCommit = false;

  StoreResult admit(std::uint64_t) override { return {}; }
  std::unique_ptr<MessageWriter> open(StoreResult&) override;

  // Completes the oldest commit still waiting.
  void complete(StoreResult result = {}) {
    ASSERT_FALSE(pending.empty());
    auto p = std::move(pending.front());
    pending.erase(pending.begin());
    p.done(std::move(result));
  }
};

class LaterWriter : public MessageWriter {
 public:
  LaterWriter(LaterStore& store, std::string id) : store_(store), id_(std::move(id)) {
    ++store_.writersAlive;
  }
  ~LaterWriter() override { --store_.writersAlive; }
  const std::string& id() const override { return id_; }
  bool write(std::string_view bytes) override {
    bytes_.append(bytes);
    return true;
  }
  void commit(const Envelope&, const std::string&, Done done) override {
    if (store_.throwOnCommit) throw std::runtime_error("queue is broken");
    store_.pending.push_back({id_, bytes_, std::move(done)});
  }

 private:
  LaterStore& store_;
  std::string id_;
  std::string bytes_;
};

std::unique_ptr<MessageWriter> LaterStore::open(StoreResult&) {
  static int n = 0;
  return std::make_unique<LaterWriter>(*this, "MSG" + std::to_string(++n));
}

const std::string kTransaction =
    "EHLO client.test\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\nDATA\r\n";
const std::string kBody = "Subject: hi\r\n\r\nbody\r\n.\r\n";
const std::string kAccepted =
    "250-sink.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250-8BITMIME\r\n"
    "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250 SMTPUTF8\r\n"
    "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n";

class SmtpSessionCommitTest : public ::testing::Test {
 protected:
  SmtpSessionCommitTest() {
    settings.hostname = "sink.test";
    settings.domains = {"bcc.test"};
    settings.maxMessageSize = 1000;
    settings.counters = &counters;
  }
  SmtpSession& session() {
    if (!session_) session_ = std::make_unique<SmtpSession>(settings, store, "192.0.2.1", true);
    return *session_;
  }
  std::string send(std::string_view bytes) {
    session().feed(bytes);
    return taken();
  }
  std::string taken() {
    std::string out = session().output();
    session().output().clear();
    return out;
  }
  static std::string queued(const std::string& id) {
    return "250 2.0.0 Ok: queued as " + id + "\r\n";
  }

  SmtpCounters counters;
  SessionSettings settings;
  LaterStore store;
  std::unique_ptr<SmtpSession> session_;
};

TEST_F(SmtpSessionCommitTest, The250ComesOnlyWhenTheCommitCompletes) {
  EXPECT_EQ(send(kTransaction + kBody), kAccepted);
  ASSERT_EQ(store.pending.size(), 1u);
  EXPECT_TRUE(session().committing());
  EXPECT_FALSE(session().inData());
  EXPECT_EQ(counters.received.load(), 0u);
  EXPECT_EQ(store.writersAlive, 0) << "the writer goes once commit() has returned";
  auto id = store.pending[0].id;
  store.complete();
  EXPECT_FALSE(session().committing());
  EXPECT_EQ(taken(), queued(id));
  EXPECT_EQ(counters.received.load(), 1u);
}

TEST_F(SmtpSessionCommitTest, CommandsPipelinedAfterTheDotWaitForThe250) {
  EXPECT_EQ(send(kTransaction + kBody + "NOOP\r\nRSET\r\n"), kAccepted);
  EXPECT_EQ(send("NOOP\r\nQUIT\r\n"), "") << "nothing is read while the commit is in flight";
  EXPECT_FALSE(session().closing());
  auto id = store.pending[0].id;
  store.complete();
  EXPECT_EQ(taken(),
            queued(id) + "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n" + "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(session().closing());
}

TEST_F(SmtpSessionCommitTest, ASecondPipelinedMessageWaitsForTheFirstCommit) {
  std::string second = "MAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\nDATA\r\n" + kBody;
  EXPECT_EQ(send(kTransaction + kBody + second), kAccepted);
  ASSERT_EQ(store.pending.size(), 1u);
  auto first = store.pending[0].id;
  store.complete();
  EXPECT_EQ(taken(), queued(first) + "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" +
                         "354 End data with <CR><LF>.<CR><LF>\r\n");
  ASSERT_EQ(store.pending.size(), 1u);
  EXPECT_EQ(store.pending[0].bytes.substr(store.pending[0].bytes.find("\r\n\r\n")),
            "\r\n\r\nbody\r\n");
  auto next = store.pending[0].id;
  store.complete();
  EXPECT_EQ(taken(), queued(next));
}

TEST_F(SmtpSessionCommitTest, AFailedCommitIs451AndTheSessionGoesOn) {
  send(kTransaction + kBody + "NOOP\r\n");
  store.complete({Outcome::TempFail, "database is locked"});
  EXPECT_EQ(taken(),
            "451 4.3.0 Local error in processing: database is locked\r\n"
            "250 2.0.0 Ok\r\n");
  EXPECT_EQ(counters.refusedFor(Refusal::Local), 1u);
  EXPECT_EQ(counters.received.load(), 0u);
}

TEST_F(SmtpSessionCommitTest, APermanentFailureIs554) {
  send(kTransaction + kBody);
  store.complete({Outcome::PermFail, "refused"});
  EXPECT_EQ(taken(), "554 5.3.0 Transaction failed: refused\r\n");
}

TEST_F(SmtpSessionCommitTest, AResultArrivingAfterTheSessionEndedIsDropped) {
  send(kTransaction + kBody + "QUIT\r\n");
  ASSERT_EQ(store.pending.size(), 1u);
  session_.reset();  // the client went away while its copy was being committed
  store.complete();  // must not touch the destroyed session
  EXPECT_EQ(counters.received.load(), 0u);
}

TEST_F(SmtpSessionCommitTest, WithAHookTheResultGoesToTheHookNotTheSession) {
  std::vector<StoreResult> posted;
  session().setCommitHook([&posted](StoreResult r) { posted.push_back(std::move(r)); });
  send(kTransaction + kBody + "NOOP\r\n");
  auto id = store.pending[0].id;
  store.complete();
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_TRUE(session().committing()) << "the shell delivers it on the session's own thread";
  EXPECT_EQ(taken(), "");
  session().committed(posted[0]);
  EXPECT_EQ(taken(), queued(id) + "250 2.0.0 Ok\r\n");
}

TEST_F(SmtpSessionCommitTest, AHookMayOutliveTheSession) {
  std::vector<StoreResult> posted;
  session().setCommitHook([&posted](StoreResult r) { posted.push_back(std::move(r)); });
  send(kTransaction + kBody);
  session_.reset();
  store.complete();
  EXPECT_EQ(posted.size(), 1u);
}

TEST_F(SmtpSessionCommitTest, AResultWithoutACommitInFlightIsIgnored) {
  EXPECT_EQ(send("EHLO client.test\r\n").substr(0, 4), "250-");
  session().committed({});
  EXPECT_EQ(taken(), "");
  EXPECT_EQ(counters.received.load(), 0u);
}

TEST_F(SmtpSessionCommitTest, AStoreThatThrowsAtCommitGives451AndEndsTheSession) {
  store.throwOnCommit = true;
  EXPECT_EQ(send(kTransaction + kBody + "NOOP\r\n"),
            kAccepted + "451 4.3.0 Local error in processing: queue is broken\r\n");
  EXPECT_TRUE(session().closing());
  EXPECT_FALSE(session().committing());
}

TEST_F(SmtpSessionCommitTest, TheDotArrivingAloneStartsTheCommit) {
  EXPECT_EQ(send(kTransaction + "Subject: hi\r\n\r\nbody\r\n"), kAccepted);
  EXPECT_TRUE(session().inData());
  EXPECT_EQ(send(".\r"), "");
  EXPECT_FALSE(session().committing());
  EXPECT_EQ(send("\nQUIT\r\n"), "");
  EXPECT_TRUE(session().committing());
  auto id = store.pending[0].id;
  store.complete();
  EXPECT_EQ(taken(), queued(id) + "221 2.0.0 Bye\r\n");
}

}  // namespace
}  // namespace bccsink
