// The bounds on one client (issue 18) through SmtpConnection over a socketpair, on an
// injected clock, as its loop's sweep drives it: a trickled command line is told 421 for
// its rate, the session's end refuses a message in DATA with 451 then 421 (and stores
// nothing) but waits for a commit in flight, a client that reads none of its replies is
// closed after the send timeout, a TLS handshake never finished is closed after the
// rate's grace, and a refused client is closed once its 554 is written.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "sink/smtp/SmtpConnection.h"

namespace bccsink {
namespace {

using namespace std::chrono_literals;
using Clock = SmtpConnection::Clock;
using Next = SmtpConnection::Next;

// A store whose commits wait until the test completes them.
class HeldStore : public MessageStore {
 public:
  std::vector<MessageWriter::Done> held;
  int opened = 0;
  StoreResult admit(std::uint64_t) override { return {}; }
  std::unique_ptr<MessageWriter> open(StoreResult&) override {
    class Writer : public MessageWriter {
     public:
      explicit Writer(HeldStore& s) : store_(s) {}
      const std::string& id() const override { return id_; }
      bool write(std::string_view) override { return true; }
      void commit(const Envelope&, const std::string&, Done done) override {
        store_.held.push_back(std::move(done));
      }

     private:
      HeldStore& store_;
      std::string id_ = "M1";
    };
    ++opened;
    return std::make_unique<Writer>(*this);
  }
};

class SmtpConnectionBoundsTest : public ::testing::Test {
 protected:
  SmtpConnectionBoundsTest() : buffer(64 * 1024) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server = fds[0];
    client = fds[1];
    ::fcntl(server, F_SETFL, O_NONBLOCK);
    ::fcntl(client, F_SETFL, O_NONBLOCK);
    int small = 4096;
    ::setsockopt(server, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    session.hostname = "sink.test";
    session.domains = {"bcc.test"};
    session.counters = &counters;
    context.session = &session;
    context.store = &store;
    context.commandTimeout = 300s;
    context.dataTimeout = 180s;
    context.sessionTimeout = 1800s;
    context.minDataRate = 500;
    context.sendTimeout = 120s;
  }
  ~SmtpConnectionBoundsTest() override {
    connection.reset();  // closes `server`
    ::close(client);
  }
  SmtpConnection& conn(bool allowed = true) {
    if (!connection) {
      connection = std::make_unique<SmtpConnection>(
          context, server, "192.0.2.1", allowed,
          [this](StoreResult r) { posted.push_back(std::move(r)); }, t0);
    }
    return *connection;
  }
  Next pumpAt(Clock::time_point at) { return conn().pump(at, buffer); }
  void clientSends(const std::string& bytes) {
    ASSERT_EQ(::send(client, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(bytes.size()));
    conn().ready(EPOLLIN);
  }
  std::string clientReads() {
    std::string got;
    char chunk[65536];
    ssize_t n;
    while ((n = ::recv(client, chunk, sizeof chunk, 0)) > 0) got.append(chunk, n);
    if (connection) conn().ready(EPOLLOUT);
    return got;
  }
  // Sweeps every 100 ms from `from` to `to`; the first moment expire() said true.
  std::optional<Clock::time_point> sweep(Clock::time_point from, Clock::time_point to) {
    for (auto at = from; at <= to; at += 100ms)
      if (conn().expire(at)) return at;
    return std::nullopt;
  }

  SessionSettings session;
  SmtpCounters counters;
  HeldStore store;
  ConnectionContext context;
  int server = -1, client = -1;
  Clock::time_point t0 = Clock::now();
  std::vector<char> buffer;
  std::vector<StoreResult> posted;
  std::unique_ptr<SmtpConnection> connection;
};

TEST_F(SmtpConnectionBoundsTest, ACommandTrickledAByteEveryThreeSecondsIsToldItsRateAndClosed) {
  pumpAt(t0);
  clientReads();
  const std::string line = "EHLO slowloris.example\r\n";
  std::optional<Clock::time_point> cut;
  for (std::size_t i = 0; i < line.size() && !cut; ++i) {
    auto at = t0 + std::chrono::seconds(3 * i);
    clientSends(line.substr(i, 1));
    ASSERT_EQ(pumpAt(at), Next::Wait);
    cut = sweep(at, at + 2900ms);
  }
  ASSERT_TRUE(cut) << "the trickle kept its session";
  EXPECT_GE(*cut - t0, 10s);
  EXPECT_LE(*cut - t0, 11s);
  EXPECT_EQ(pumpAt(*cut), Next::Close);
  EXPECT_EQ(clientReads(), "421 4.4.2 sink.test Minimum data rate not met, closing connection\r\n");
  EXPECT_EQ(counters.refusedFor(Refusal::Slow), 1u);
}

TEST_F(SmtpConnectionBoundsTest, TheSessionsEndRefusesAMessageInDataWith451Then421) {
  context.sessionTimeout = 30s;
  pumpAt(t0);
  clientReads();
  clientSends("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<w@bcc.test>\r\nDATA\r\n");
  pumpAt(t0);
  clientReads();
  // A busy client: a line of DATA every second, well above the rate.
  std::optional<Clock::time_point> cut;
  for (int s = 1; s <= 40 && !cut; ++s) {
    auto at = t0 + std::chrono::seconds(s);
    clientSends(std::string(998, 'x') + "\r\n");
    ASSERT_EQ(pumpAt(at), Next::Wait);
    cut = sweep(at, at + 900ms);
  }
  ASSERT_TRUE(cut);
  EXPECT_GE(*cut - t0, 30s);
  EXPECT_LT(*cut - t0, 31s);
  EXPECT_EQ(pumpAt(*cut), Next::Close);
  EXPECT_EQ(clientReads(),
            "451 4.4.2 sink.test Session time limit exceeded, message not taken\r\n"
            "421 4.4.2 sink.test Session time limit exceeded, closing connection\r\n");
  EXPECT_TRUE(store.held.empty()) << "a message cut short was committed";
  EXPECT_EQ(counters.refusedFor(Refusal::SessionDeadline), 1u);
}

TEST_F(SmtpConnectionBoundsTest, TheSessionsEndWaitsForTheCommitInFlightThenSays421) {
  context.sessionTimeout = 30s;
  pumpAt(t0);
  clientReads();
  clientSends("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<w@bcc.test>\r\nDATA\r\nhi\r\n.\r\n");
  pumpAt(t0 + 29s);
  clientReads();
  ASSERT_EQ(store.held.size(), 1u);
  EXPECT_FALSE(conn().expire(t0 + 31s)) << "the copy's reply comes first";
  store.held[0]({});
  conn().committed(posted.at(0), t0 + 32s);
  EXPECT_EQ(pumpAt(t0 + 32s), Next::Wait);
  EXPECT_TRUE(conn().expire(t0 + 32s));
  EXPECT_EQ(pumpAt(t0 + 32s), Next::Close);
  EXPECT_EQ(clientReads(),
            "250 2.0.0 Ok: queued as M1\r\n"
            "421 4.4.2 sink.test Session time limit exceeded, closing connection\r\n");
}

TEST_F(SmtpConnectionBoundsTest, AClientThatReadsNoneOfItsRepliesIsClosedAfterTheSendTimeout) {
  context.sendTimeout = 5s;
  std::string noops;
  for (int i = 0; i < 15000; ++i) noops += "NOOP\r\n";  // 210 kB of replies
  pumpAt(t0);
  clientReads();
  clientSends(noops);
  EXPECT_EQ(pumpAt(t0 + 1s), Next::Wait);
  EXPECT_FALSE(conn().expire(t0 + 5900ms));
  EXPECT_TRUE(conn().expire(t0 + 6s));
  EXPECT_EQ(pumpAt(t0 + 6s), Next::Close);
  EXPECT_EQ(counters.refusedFor(Refusal::SendTimeout), 1u);
}

TEST_F(SmtpConnectionBoundsTest, AHandshakeNeverFinishedEndsAfterTheGraceNotTheIdleTimeout) {
  // No certificate is needed: the server waits for a ClientHello that never comes.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> tls(SSL_CTX_new(TLS_server_method()),
                                                        SSL_CTX_free);
  context.tls = tls.get();
  session.tlsAvailable = true;
  pumpAt(t0);
  clientReads();
  clientSends("EHLO c\r\nSTARTTLS\r\n");
  EXPECT_EQ(pumpAt(t0 + 1s), Next::Wait);
  EXPECT_NE(clientReads().find("220 2.0.0 Ready to start TLS"), std::string::npos);
  clientSends("\x16");  // one byte of a ClientHello, then nothing
  EXPECT_EQ(pumpAt(t0 + 2s), Next::Wait);
  auto cut = sweep(t0 + 2s, t0 + 20s);
  ASSERT_TRUE(cut) << "a stalled handshake kept its slot";
  EXPECT_GE(*cut - t0, 11s);
  EXPECT_LE(*cut - t0, 12s);
  EXPECT_EQ(pumpAt(*cut), Next::Close);
  EXPECT_EQ(counters.refusedFor(Refusal::Slow), 1u);
  connection.reset();  // before the TLS context goes
}

TEST_F(SmtpConnectionBoundsTest, ARefusedClientIsClosedOnceIts554IsWritten) {
  conn(false);
  EXPECT_EQ(pumpAt(t0), Next::Close) << "no slot held waiting for a QUIT";
  EXPECT_EQ(clientReads(), "554 5.7.1 sink.test Access denied for 192.0.2.1\r\n");
  EXPECT_EQ(counters.refusedFor(Refusal::Client), 1u);
}

TEST_F(SmtpConnectionBoundsTest, ARefusedClientWhoseSocketTakesNothingIsClosedAtOnce) {
  // The client's receive buffer and the server's send buffer full: the 554 cannot be
  // written, and the connection does not wait for it.
  std::string fill(1 << 20, 'x');
  ssize_t n;
  while ((n = ::send(server, fill.data(), fill.size(), MSG_DONTWAIT)) > 0) {
  }
  conn(false);
  EXPECT_EQ(pumpAt(t0), Next::Close);
}

}  // namespace
}  // namespace bccsink
