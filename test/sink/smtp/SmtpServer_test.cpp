// The event-driven listener over real sockets on 127.0.0.1 (port 0) and a unix socket,
// with an in-memory store whose commits complete on another thread after a delay, as the
// group committer's do: many clients at once, pipelining, a client that does not read its
// replies, timeouts, the connection limit, the allow-list, shutdown, and a thousand idle
// connections that cost neither threads nor the other clients' time. STARTTLS is in
// SmtpServerTls_test.cpp.

#include "sink/smtp/SmtpServer.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test/TempDir.h"
#include "test/sink/smtp/ServerTestKit.h"

namespace bccsink {
namespace {

using namespace std::chrono_literals;
using test::Client;
using test::DelayedStore;
using Clock = std::chrono::steady_clock;

const std::string kMailRcptData =
    "MAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\nDATA\r\n";
const std::string kBody = "Subject: hello\r\n\r\nbody\r\n";
const std::string kGoAhead = "354 End data with <CR><LF>.<CR><LF>\r\n";

bool isQueued(const std::string& reply) {
  return reply.rfind("250 2.0.0 Ok: queued as M", 0) == 0;
}

long vmRssKb() {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == "VmRSS:") {
      status >> value;
      return value;
    }
    status.ignore(1 << 10, '\n');
  }
  return 0;
}

class SmtpServerTest : public ::testing::Test {
 protected:
  SmtpServerTest() {
    settings.socket = "127.0.0.1:0";
    settings.maxConnections = 50;
    settings.commandTimeout = 30s;
    settings.dataTimeout = 30s;
    settings.session.hostname = "sink.test";
    settings.session.domains = {"bcc.test"};
    settings.session.counters = &counters;
  }
  void start() {
    server = std::make_unique<SmtpServer>(settings, *store);
    server->start();
    address = server->boundAddress();
  }
  // EHLO after the greeting; false when either is not what a client expects.
  static bool greet(Client& c) {
    if (c.reply().rfind("220 sink.test", 0) != 0) return false;
    return c.send("EHLO client.test\r\n") && c.reply().rfind("250-sink.test", 0) == 0;
  }
  // One transaction in lock-step; the reply to the final dot.
  static std::string deliver(Client& c, const std::string& body = kBody) {
    for (const char* command : {"MAIL FROM:<s@client.test>\r\n", "RCPT TO:<watch@bcc.test>\r\n"}) {
      c.send(command);
      if (c.reply().rfind("250 ", 0) != 0) return "refused";
    }
    c.send("DATA\r\n");
    if (c.reply() != kGoAhead) return "no 354";
    c.send(body + ".\r\n");
    return c.reply();
  }

  ServerSettings settings;
  SmtpCounters counters;
  std::unique_ptr<DelayedStore> store = std::make_unique<DelayedStore>(20ms);
  std::unique_ptr<SmtpServer> server;  // last: stopped before the store goes
  std::string address;
};

TEST_F(SmtpServerTest, ManyClientsAtOnceAreAllAnswered) {
  start();
  constexpr int kClients = 40, kEach = 5;
  std::atomic<int> queued{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      Client c(address);
      if (!greet(c)) return;
      for (int m = 0; m < kEach; ++m) {
        if (isQueued(deliver(c, "Subject: " + std::to_string(i) + "\r\n\r\nx\r\n"))) ++queued;
      }
      c.send("QUIT\r\n");
      c.reply();
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(queued.load(), kClients * kEach);
  EXPECT_EQ(store->committed().size(), static_cast<std::size_t>(kClients * kEach));
  EXPECT_EQ(counters.received.load(), static_cast<std::uint64_t>(kClients * kEach));
}

TEST_F(SmtpServerTest, PipelinedTransactionsAreAnsweredInOrder) {
  start();
  Client c(address);
  ASSERT_EQ(c.reply(), "220 sink.test ESMTP bccsink\r\n");
  std::string all = "EHLO client.test\r\n";
  for (int i = 0; i < 3; ++i) all += kMailRcptData + "Subject: " + std::to_string(i) + "\r\n.\r\n";
  ASSERT_TRUE(c.send(all + "NOOP\r\nQUIT\r\n"));
  EXPECT_EQ(c.reply().rfind("250-sink.test", 0), 0u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(c.reply(), "250 2.1.0 Ok\r\n");
    EXPECT_EQ(c.reply(), "250 2.1.5 Ok\r\n");
    EXPECT_EQ(c.reply(), kGoAhead);
    EXPECT_TRUE(isQueued(c.reply()));
  }
  EXPECT_EQ(c.reply(), "250 2.0.0 Ok\r\n");
  EXPECT_EQ(c.reply(), "221 2.0.0 Bye\r\n");
  EXPECT_TRUE(c.closedByServer());
  auto stored = store->committed();
  ASSERT_EQ(stored.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_NE(stored[i].find("\r\nSubject: " + std::to_string(i) + "\r\n"), std::string::npos);
  }
}

TEST_F(SmtpServerTest, AClientThatDoesNotReadItsRepliesHoldsUpNoOne) {
  settings.loops = 1;  // the flooding client and the other one share the one loop
  start();
  Client flood(address);
  ASSERT_TRUE(greet(flood));
  // About 1.4 MB of replies it does not read while it sends (that the server then stops
  // reading it is SmtpConnection_test's, where the buffers are small and known).
  constexpr int kNoops = 100000;
  std::thread writer([&] {
    std::string noops;
    for (int i = 0; i < kNoops; ++i) noops += "NOOP\r\n";
    flood.send(noops);
  });
  Client other(address);
  auto started = Clock::now();
  bool delivered = greet(other) && isQueued(deliver(other));
  auto took = Clock::now() - started;
  int answered = 0;
  while (answered < kNoops && flood.line() == "250 2.0.0 Ok\r\n") ++answered;
  writer.join();
  EXPECT_TRUE(delivered);
  EXPECT_LT(took, 2s);
  EXPECT_EQ(answered, kNoops);
}

TEST_F(SmtpServerTest, ALargeMessageIsStoredExactly) {
  start();
  std::string body = "Subject: large\r\n\r\n";
  std::string line(998, 'x');
  while (body.size() < (4u << 20)) body += line + "\r\n";
  Client c(address);
  ASSERT_TRUE(greet(c));
  EXPECT_TRUE(isQueued(deliver(c, body)));
  auto stored = store->committed();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].substr(stored[0].find("Subject: large")), body);
}

TEST_F(SmtpServerTest, ASilentClientIsTold421AfterTheCommandTimeout) {
  settings.commandTimeout = 1s;
  start();
  Client c(address);
  ASSERT_EQ(c.reply(), "220 sink.test ESMTP bccsink\r\n");
  auto started = Clock::now();
  EXPECT_EQ(c.line(), "421 4.4.2 sink.test Timeout exceeded, closing connection\r\n");
  EXPECT_GE(Clock::now() - started, 900ms);
  EXPECT_LT(Clock::now() - started, 3s);
  EXPECT_TRUE(c.closedByServer());
  EXPECT_EQ(counters.refusedFor(Refusal::Timeout), 1u);
}

TEST_F(SmtpServerTest, AClientSilentInDataIsTold421AfterTheDataTimeout) {
  settings.dataTimeout = 1s;
  start();
  Client c(address);
  ASSERT_TRUE(greet(c));
  c.send(kMailRcptData + "Subject: half a message\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.reply(), kGoAhead);
  EXPECT_EQ(c.line(), "421 4.4.2 sink.test Timeout exceeded, closing connection\r\n");
  EXPECT_TRUE(c.closedByServer());
  EXPECT_TRUE(store->committed().empty());
}

TEST_F(SmtpServerTest, AConnectionOverTheLimitIsTold421AndTheSlotComesBack) {
  settings.maxConnections = 2;
  start();
  auto first = std::make_unique<Client>(address);
  Client second(address);
  ASSERT_EQ(first->reply(), "220 sink.test ESMTP bccsink\r\n");
  ASSERT_EQ(second.reply(), "220 sink.test ESMTP bccsink\r\n");
  Client third(address);
  EXPECT_EQ(third.line(), "421 4.3.2 sink.test Too many connections, try again later\r\n");
  EXPECT_TRUE(third.closedByServer());
  EXPECT_EQ(counters.refusedFor(Refusal::Connections), 1u);
  first.reset();
  // The server frees the slot when it sees the close; retry until it has.
  std::string greeting;
  for (int i = 0; i < 50 && greeting.rfind("220", 0) != 0; ++i) {
    Client again(address);
    greeting = again.line();
    if (greeting.rfind("220", 0) != 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(greeting, "220 sink.test ESMTP bccsink\r\n");
}

TEST_F(SmtpServerTest, AClientOutsideTheAllowListIsTold554AndClosedAtOnce) {
  settings.allowedClients = {Cidr::parse("192.0.2.0/24")};
  start();
  Client c(address);
  EXPECT_EQ(c.reply(), "554 5.7.1 sink.test Access denied for 127.0.0.1\r\n");
  EXPECT_TRUE(c.closedByServer()) << "it waited for a QUIT";
  EXPECT_EQ(counters.refusedFor(Refusal::Client), 1u);
}

TEST_F(SmtpServerTest, StopTellsEveryClient421AndClosesAtOnce) {
  start();
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<Client>(address));
    ASSERT_TRUE(greet(*clients.back()));
  }
  clients[0]->send(kMailRcptData + "Subject: unfinished\r\n");  // one in DATA
  for (int i = 0; i < 3; ++i) clients[0]->reply();
  auto started = Clock::now();
  server->stop();
  EXPECT_LT(Clock::now() - started, 1s);
  for (auto& c : clients) {
    EXPECT_EQ(c->line(), "421 4.3.2 sink.test Service shutting down\r\n");
    EXPECT_TRUE(c->closedByServer());
  }
  EXPECT_TRUE(store->committed().empty());
  EXPECT_FALSE(Client(address).connected()) << "the listening socket is closed";
}

TEST_F(SmtpServerTest, StopAnswersACommitInFlightBeforeThe421) {
  store = std::make_unique<DelayedStore>(500ms);
  start();
  Client c(address);
  ASSERT_TRUE(greet(c));
  c.send(kMailRcptData + kBody + ".\r\n");
  ASSERT_TRUE(store->waitForCommits(1));
  server->stop();
  EXPECT_EQ(c.reply(), "250 2.1.0 Ok\r\n");
  EXPECT_EQ(c.reply(), "250 2.1.5 Ok\r\n");
  EXPECT_EQ(c.reply(), kGoAhead);
  EXPECT_TRUE(isQueued(c.reply()));
  EXPECT_EQ(c.line(), "421 4.3.2 sink.test Service shutting down\r\n");
  EXPECT_TRUE(c.closedByServer());
}

TEST_F(SmtpServerTest, AClientThatLeavesWhileItsCopyIsCommittedHarmsNothing) {
  store = std::make_unique<DelayedStore>(300ms);
  start();
  {
    Client gone(address);
    ASSERT_TRUE(greet(gone));
    gone.send(kMailRcptData + kBody + ".\r\nQUIT\r\n");
    ASSERT_TRUE(store->waitForCommits(1));
    linger reset{1, 0};  // close with a reset, as a crashed client would
    ::setsockopt(gone.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  Client next(address);
  ASSERT_TRUE(greet(next));
  EXPECT_TRUE(isQueued(deliver(next)));
  EXPECT_EQ(store->committed().size(), 2u);  // the first commit completed before the second
}

TEST_F(SmtpServerTest, ClientsThatResetMidDialogueHarmNothing) {
  start();
  for (const char* half : {"EHLO x\r\nMAIL FROM:<a@b>\r\n",
                           "EHLO x\r\nMAIL FROM:<a@b>\r\n"
                           "RCPT TO:<watch@bcc.test>\r\n"
                           "DATA\r\nSubject: x\r\n\r\npart"}) {
    Client c(address);
    c.send(half);
    linger reset{1, 0};
    ::setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  }
  Client c(address);
  ASSERT_TRUE(greet(c));
  EXPECT_TRUE(isQueued(deliver(c)));
  EXPECT_EQ(store->committed().size(), 1u);
}

TEST_F(SmtpServerTest, AUnixSocketTakesMail) {
  test::TempDir dir;
  settings.socket = "unix:" + (dir / "smtp.sock");
  start();
  EXPECT_EQ(address, settings.socket);
  Client c(address);
  ASSERT_TRUE(greet(c));
  EXPECT_TRUE(isQueued(deliver(c)));
  auto stored = store->committed();
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_NE(stored[0].find("(unknown [127.0.0.1])"), std::string::npos);
}

TEST_F(SmtpServerTest, AThousandIdleConnectionsCostNoThreadsAndSlowNoOne) {
  constexpr int kIdle = 1000;
  test::raiseDescriptorLimit(2 * kIdle + 256);
  settings.maxConnections = kIdle + 10;
  int threadsBefore = test::threadCount();  // the test's own and the store's
  start();
  Client first(address);
  ASSERT_TRUE(greet(first));
  auto started = Clock::now();
  ASSERT_TRUE(isQueued(deliver(first)));
  auto alone = Clock::now() - started;

  long rssBefore = vmRssKb();
  std::vector<std::unique_ptr<Client>> idle;
  for (int i = 0; i < kIdle; ++i) {
    idle.push_back(std::make_unique<Client>(address));
    ASSERT_TRUE(idle.back()->connected()) << "connection " << i;
  }
  for (auto& c : idle) ASSERT_EQ(c->line(), "220 sink.test ESMTP bccsink\r\n");
  for (int i = 0; i < kIdle; i += 2) idle[i]->send("EHLO idle.test\r\n");  // half mid-dialogue
  for (int i = 0; i < kIdle; i += 2) ASSERT_EQ(idle[i]->reply().rfind("250-", 0), 0u);
  long grownKb = vmRssKb() - rssBefore;

  EXPECT_LE(test::threadCount(), threadsBefore + static_cast<int>(settings.loops));
  Client other(address);
  started = Clock::now();
  ASSERT_TRUE(greet(other));
  EXPECT_TRUE(isQueued(deliver(other)));
  auto busy = Clock::now() - started;
  EXPECT_LT(busy, alone + 500ms);
  // The clients' side is in this process too; the whole growth is still small.
  EXPECT_LT(grownKb, 50 * 1024);
  std::cout << "1000 idle connections: +" << grownKb << " kB RSS (server and clients), "
            << test::threadCount() << " threads; a delivery took "
            << std::chrono::duration_cast<std::chrono::milliseconds>(busy).count() << " ms (alone "
            << std::chrono::duration_cast<std::chrono::milliseconds>(alone).count() << " ms)\n";
}

}  // namespace
}  // namespace bccsink
