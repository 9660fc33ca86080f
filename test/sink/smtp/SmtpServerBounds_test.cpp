// The bounds of issue 18 over real sockets on 127.0.0.1 and 127.0.0.2: the per-address
// cap (421 4.7.0 for the connection past it, the others unaffected; an MTA reconnecting as
// it closes is not caught by it), refused clients that
// hold no slot (each 554 closed at once, the allowed client still served), and a client
// that reads none of its replies closed after BccSendTimeout. The rate and session
// deadlines are driven on an injected clock in SmtpConnectionBounds_test.cpp and end to
// end in test/integration/t-18-slowloris.

#include <errno.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "sink/smtp/SmtpServer.h"
#include "test/sink/smtp/ServerTestKit.h"

namespace bccsink {
namespace {

using namespace std::chrono_literals;
using test::Client;
using Clock = std::chrono::steady_clock;

class SmtpServerBoundsTest : public ::testing::Test {
 protected:
  SmtpServerBoundsTest() {
    settings.socket = "127.0.0.1:0";
    settings.maxConnections = 100;
    settings.session.hostname = "sink.test";
    settings.session.domains = {"bcc.test"};
    settings.session.counters = &counters;
  }
  void start() {
    server = std::make_unique<SmtpServer>(settings, *store);
    server->start();
    address = server->boundAddress();
  }
  static std::string deliver(Client& c) {
    if (c.reply().rfind("220 ", 0) != 0) return "no 220";
    c.send("EHLO c\r\nMAIL FROM:<s@client.test>\r\nRCPT TO:<watch@bcc.test>\r\nDATA\r\n");
    for (int i = 0; i < 3; ++i) c.reply();
    if (c.reply().rfind("354 ", 0) != 0) return "no 354";
    c.send("Subject: hi\r\n\r\nbody\r\n.\r\n");
    return c.reply();
  }

  ServerSettings settings;
  SmtpCounters counters;
  std::unique_ptr<test::DelayedStore> store = std::make_unique<test::DelayedStore>(5ms);
  std::unique_ptr<SmtpServer> server;
  std::string address;
};

TEST_F(SmtpServerBoundsTest, TheTwentyFirstConnectionFromOneAddressIsTold421AndOthersGetIn) {
  settings.maxConnectionsPerIp = 20;
  start();
  std::vector<std::unique_ptr<Client>> attacker;
  for (int i = 0; i < 20; ++i) {
    attacker.push_back(std::make_unique<Client>(address, 10s, "127.0.0.2"));
    ASSERT_EQ(attacker.back()->line(), "220 sink.test ESMTP bccsink\r\n") << "connection " << i;
  }
  Client over(address, 10s, "127.0.0.2");
  EXPECT_EQ(over.line(), "421 4.7.0 sink.test Too many connections from 127.0.0.2\r\n");
  EXPECT_TRUE(over.closedByServer());
  EXPECT_EQ(counters.refusedFor(Refusal::PerIp), 1u);

  Client legit(address, 10s, "127.0.0.1");
  EXPECT_EQ(deliver(legit).rfind("250 2.0.0 Ok: queued as", 0), 0u);

  attacker.pop_back();
  std::string greeting;  // the slot comes back once the server sees the close
  for (int i = 0; i < 50 && greeting.rfind("220", 0) != 0; ++i) {
    Client again(address, 10s, "127.0.0.2");
    greeting = again.line();
    if (greeting.rfind("220", 0) != 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(greeting, "220 sink.test ESMTP bccsink\r\n");
}

TEST_F(SmtpServerBoundsTest, AnMtaThatOpensItsNextConnectionAsItClosesTheLastIsNotRefused) {
  // Postfix sends QUIT and closes without waiting for the 221 (smtp_skip_quit_response),
  // then may connect again at once, at its full concurrency: the new connection may reach
  // one loop before the other loop has seen the close.
  settings.maxConnectionsPerIp = 1;
  start();
  for (int i = 0; i < 200; ++i) {
    Client c(address, 10s, "127.0.0.2");
    ASSERT_EQ(c.line(), "220 sink.test ESMTP bccsink\r\n") << "connection " << i;
    c.send("QUIT\r\n");
  }
  EXPECT_EQ(counters.refusedFor(Refusal::PerIp), 0u);
}

TEST_F(SmtpServerBoundsTest, RefusedClientsHoldNoSlotSoTheAllowedOneIsServed) {
  settings.maxConnections = 3;
  settings.reservedConnections = 1;
  settings.allowedClients = {Cidr::parse("127.0.0.2/32")};
  start();
  // Ten outsiders that never say QUIT and never close: before issue 18 the first three
  // held every slot, and the allowed MTA got 421 4.3.2.
  std::vector<std::unique_ptr<Client>> outsiders;
  for (int i = 0; i < 10; ++i) {
    outsiders.push_back(std::make_unique<Client>(address, 10s, "127.0.0.1"));
    ASSERT_EQ(outsiders.back()->line(), "554 5.7.1 sink.test Access denied for 127.0.0.1\r\n");
    ASSERT_TRUE(outsiders.back()->closedByServer()) << "outsider " << i << " kept its slot";
  }
  Client mta(address, 10s, "127.0.0.2");
  EXPECT_EQ(deliver(mta).rfind("250 2.0.0 Ok: queued as", 0), 0u);
  EXPECT_EQ(counters.refusedFor(Refusal::Client) + counters.refusedFor(Refusal::Reserved), 10u);
}

TEST_F(SmtpServerBoundsTest, AClientThatReadsNoRepliesIsClosedAfterTheSendTimeout) {
  settings.sendTimeout = 1s;
  start();
  Client c(address, 10s, "127.0.0.3");
  int small = 4096;  // its receive buffer fills with a few hundred replies
  ::setsockopt(c.fd(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  ASSERT_EQ(c.line(), "220 sink.test ESMTP bccsink\r\n");
  std::string batch;
  for (int i = 0; i < 2000; ++i) batch += "HELP\r\n";
  auto started = Clock::now();
  bool closed = false;
  while (!closed && Clock::now() - started < 15s) {
    ssize_t n = ::send(c.fd(), batch.data(), batch.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) closed = true;  // EPIPE, ECONNRESET
    if (n < 0) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(closed) << "a client that reads nothing kept its connection";
  EXPECT_LT(Clock::now() - started, 10s);
  EXPECT_EQ(counters.refusedFor(Refusal::SendTimeout), 1u);
}

}  // namespace
}  // namespace bccsink
