// One SmtpConnection over a socketpair whose server end has a tiny send buffer, pumped by
// hand as its loop would: it stops reading while replies are unsent or a commit is in
// flight (the unread bytes stay in the socket, not in memory), picks up where it left off,
// and times out, shuts down and survives a vanished client as the listener promises.

#include "sink/smtp/SmtpConnection.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

namespace bccsink {
namespace {

using namespace std::chrono_literals;
using Clock = SmtpConnection::Clock;
using Next = SmtpConnection::Next;

// A store whose commits wait until the test completes them.
class HeldStore : public MessageStore {
 public:
  std::vector<MessageWriter::Done> held;
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
    return std::make_unique<Writer>(*this);
  }
};

class SmtpConnectionTest : public ::testing::Test {
 protected:
  SmtpConnectionTest() : buffer(64 * 1024) {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    server = fds[0];
    client = fds[1];
    ::fcntl(server, F_SETFL, O_NONBLOCK);
    ::fcntl(client, F_SETFL, O_NONBLOCK);
    int small = 4096;  // a few hundred replies fill it
    ::setsockopt(server, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    session.hostname = "sink.test";
    session.domains = {"bcc.test"};
    context.session = &session;
    context.store = &store;
    context.commandTimeout = 10s;
    context.dataTimeout = 10s;
  }
  ~SmtpConnectionTest() override {
    connection.reset();  // closes `server`
    ::close(client);
  }
  // The connection, made on first use; its results come back through `posted`.
  SmtpConnection& conn() {
    if (!connection) {
      connection = std::make_unique<SmtpConnection>(
          context, server, "192.0.2.1", true,
          [this](StoreResult r) { posted.push_back(std::move(r)); }, now);
    }
    return *connection;
  }
  Next pump() { return conn().pump(now, buffer); }
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
  int unread() {
    int n = 0;
    ::ioctl(server, FIONREAD, &n);
    return n;
  }

  SessionSettings session;
  HeldStore store;
  ConnectionContext context;
  int server = -1, client = -1;
  Clock::time_point now = Clock::now();
  std::vector<char> buffer;
  std::vector<StoreResult> posted;
  std::unique_ptr<SmtpConnection> connection;
};

TEST_F(SmtpConnectionTest, ReadsNothingMoreWhileItsRepliesAreUnsent) {
  std::string noops;
  for (int i = 0; i < 15000; ++i) noops += "NOOP\r\n";  // 90 kB in, 210 kB of replies
  EXPECT_EQ(pump(), Next::Wait);
  EXPECT_EQ(clientReads(), "220 sink.test ESMTP bccsink\r\n");
  clientSends(noops);
  EXPECT_EQ(pump(), Next::Wait);
  int left = unread();
  EXPECT_GT(left, 0) << "it read on although the client took none of its replies";
  EXPECT_EQ(pump(), Next::Wait);
  EXPECT_EQ(unread(), left);

  std::string replies;
  for (int turn = 0; turn < 1000 && replies.size() < 15000u * 14; ++turn) {
    replies += clientReads();
    EXPECT_EQ(pump(), Next::Wait);
  }
  EXPECT_EQ(unread(), 0);
  std::string expected;
  for (int i = 0; i < 15000; ++i) expected += "250 2.0.0 Ok\r\n";
  EXPECT_EQ(replies, expected);
}

TEST_F(SmtpConnectionTest, ReadsNothingWhileACommitIsInFlight) {
  pump();
  clientReads();
  clientSends("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<w@bcc.test>\r\nDATA\r\nhi\r\n.\r\n");
  EXPECT_EQ(pump(), Next::Wait);
  ASSERT_EQ(store.held.size(), 1u);
  clientSends("NOOP\r\nQUIT\r\n");
  EXPECT_EQ(pump(), Next::Wait);
  EXPECT_EQ(unread(), 12) << "the commands after the dot stay in the socket";
  store.held[0]({});  // the store's thread: the hook posts the result
  ASSERT_EQ(posted.size(), 1u);
  conn().committed(posted[0], now);  // the loop's thread
  EXPECT_EQ(pump(), Next::Close);
  auto replies = clientReads();
  EXPECT_NE(replies.find("354 End data"), std::string::npos);
  EXPECT_NE(replies.find("250 2.0.0 Ok: queued as M1\r\n250 2.0.0 Ok\r\n221 2.0.0 Bye\r\n"),
            std::string::npos);
}

TEST_F(SmtpConnectionTest, ShutdownWaitsForTheCommitsReplyThenSays421) {
  pump();
  clientReads();
  clientSends("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<w@bcc.test>\r\nDATA\r\nhi\r\n.\r\n");
  pump();
  clientReads();
  conn().shutdown();
  EXPECT_EQ(pump(), Next::Wait) << "the commit in flight is answered first";
  store.held[0]({});
  conn().committed(posted.at(0), now);
  EXPECT_EQ(pump(), Next::Close);
  EXPECT_EQ(clientReads(),
            "250 2.0.0 Ok: queued as M1\r\n421 4.3.2 sink.test Service shutting down\r\n");
}

TEST_F(SmtpConnectionTest, ExpiresWith421OnlyAfterTheDeadline) {
  pump();
  clientReads();
  EXPECT_FALSE(conn().expire(now + 9s));
  EXPECT_TRUE(conn().expire(now + 11s));
  EXPECT_EQ(pump(), Next::Close);
  EXPECT_EQ(clientReads(), "421 4.4.2 sink.test Timeout exceeded, closing connection\r\n");
}

TEST_F(SmtpConnectionTest, AClientThatTakesNoRepliesIsClosedWithoutA421) {
  std::string noops;
  for (int i = 0; i < 15000; ++i) noops += "NOOP\r\n";
  pump();
  clientReads();
  clientSends(noops);
  EXPECT_EQ(pump(), Next::Wait);
  EXPECT_TRUE(conn().expire(now + 11s));
  EXPECT_EQ(pump(), Next::Close);
}

TEST_F(SmtpConnectionTest, AClientGoneMidDataEndsTheConnectionQuietly) {
  pump();
  clientReads();
  clientSends("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<w@bcc.test>\r\nDATA\r\nhalf");
  EXPECT_EQ(pump(), Next::Wait);
  ::shutdown(client, SHUT_RDWR);
  conn().ready(EPOLLIN | EPOLLRDHUP | EPOLLHUP);
  EXPECT_EQ(pump(), Next::Close);
  EXPECT_TRUE(store.held.empty());
}

}  // namespace
}  // namespace bccsink
