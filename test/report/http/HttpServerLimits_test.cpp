// The HTTP port under slow and many clients, over real sockets on 127.0.0.1: a request must
// arrive whole within its deadline (408), slow clients do not starve /metrics and /healthz,
// and past the connection limit a new client gets 503, not an empty reply.

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "report/http/HttpServer.h"
#include "test/report/http/HttpTestServer.h"

using namespace bccsink;
using namespace bccsink::test;

namespace {

using std::chrono::milliseconds;

// A client that has sent part of a request and keeps the connection.
Poco::Net::StreamSocket slowClient(Poco::UInt16 port, const std::string& start) {
  Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
  s.sendBytes(start.data(), static_cast<int>(start.size()));
  return s;
}

// Sends one byte of `rest` each `pace` until the server answers (or `rest` runs out);
// returns what it answered and how many bytes went before.
struct Trickled {
  std::string answer;
  std::size_t sent = 0;
};
Trickled trickle(Poco::Net::StreamSocket& s, const std::string& rest, milliseconds pace) {
  Trickled t;
  for (; t.sent < rest.size(); ++t.sent) {
    // Pacing the slow client, not waiting for the server: poll() returns when it answers.
    if (s.poll(Poco::Timespan(pace.count() * 1000), Poco::Net::Socket::SELECT_READ)) break;
    try {
      s.sendBytes(&rest[t.sent], 1);
    } catch (const Poco::Exception&) {
      break;  // reset after its answer
    }
  }
  s.setReceiveTimeout(Poco::Timespan(10, 0));
  char buf[4096];
  int n;
  try {
    while ((n = s.receiveBytes(buf, sizeof buf)) > 0)
      t.answer.append(buf, static_cast<std::size_t>(n));
  } catch (const Poco::Exception&) {
  }
  return t;
}

std::string statusLine(const std::string& answer) {
  return answer.substr(0, answer.find('\r'));
}

}  // namespace

TEST(HttpServerLimits, ARequestTrickledInIsCutOffAtItsDeadline) {
  HttpTestServer t;
  report::HttpSettings s;
  s.requestTimeout = milliseconds(800);  // each read alone may take 10 s
  t.start({}, s);
  const auto started = std::chrono::steady_clock::now();
  // Headers: one byte every 200 ms, each read well within its own timeout.
  auto headers = slowClient(t.port, "GET /healthz HTTP/1.1\r\n");
  auto cut = trickle(headers, "X-Slow: " + std::string(100, 'a') + "\r\n\r\n", milliseconds(200));
  EXPECT_EQ(statusLine(cut.answer), "HTTP/1.1 408 Request Time-out") << cut.answer;
  EXPECT_NE(cut.answer.find("within 800 ms"), std::string::npos) << cut.answer;
  EXPECT_NE(cut.answer.find("X-Frame-Options: DENY"), std::string::npos) << cut.answer;
  EXPECT_LT(cut.sent, 20u);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  // Body: the headers come at once, the body by the byte; the POST is not acted on.
  auto body = slowClient(t.port, "POST /api/messages/" + kClean +
                                     "/resend HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                     kToken + "\r\nContent-Length: 100\r\n\r\n");
  auto cutBody = trickle(body, std::string(100, 'b'), milliseconds(200));
  EXPECT_EQ(statusLine(cutBody.answer), "HTTP/1.1 408 Request Time-out") << cutBody.answer;
  EXPECT_EQ(db::MessageQueue(t.database).find(kClean)->reportStatus, "none");
  // A client that sends nothing at all is closed at the deadline too.
  auto silent = slowClient(t.port, "");
  EXPECT_TRUE(silent.poll(Poco::Timespan(5, 0), Poco::Net::Socket::SELECT_READ));
  EXPECT_EQ(t.get("/healthz", "").status, 200);  // still serving
}

TEST(HttpServerLimits, SlowClientsDoNotStarveMetrics) {
  HttpTestServer t;
  report::ApiContext api;
  api.metrics = [](db::Database&) { return std::string("bccsink_up 1\n"); };
  t.start(api);  // the default settings
  std::vector<Poco::Net::StreamSocket> slow;
  for (int i = 0; i < 16; ++i) slow.push_back(slowClient(t.port, "GET /metrics HTTP/1.1\r\nX-"));
  for (int i = 0; i < 500 && t.server->loadForTest().active < 16; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  ASSERT_EQ(t.server->loadForTest().active, 16);
  // With 16 requests stuck in their headers, cheap ones are still answered at once.
  for (const char* uri : {"/metrics", "/healthz", "/"}) {
    Poco::Net::HTTPClientSession session("127.0.0.1", t.port);
    session.setTimeout(Poco::Timespan(2, 0));
    Poco::Net::HTTPRequest req("GET", uri, Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(req);
    Poco::Net::HTTPResponse resp;
    session.receiveResponse(resp);
    EXPECT_EQ(resp.getStatus(), 200) << uri;
  }
}

TEST(HttpServerLimits, PastTheConnectionLimitANewClientGets503) {
  HttpTestServer t;
  report::HttpSettings s;
  s.threads = 2;
  s.maxQueued = 2;
  s.requestTimeout = milliseconds(30000);
  t.start({}, s);
  // Two clients take the two threads, then two wait: one at a time, so that a thread
  // starting late does not make the queue look full early.
  std::vector<Poco::Net::StreamSocket> held;
  auto settle = [&](int active, int queued) {
    for (int i = 0; i < 500; ++i) {
      auto load = t.server->loadForTest();
      if (load.active == active && load.queued == queued) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  };
  for (int i = 1; i <= 4; ++i) {
    held.push_back(slowClient(t.port, "GET / HTTP/1.1\r\n"));
    ASSERT_TRUE(settle(std::min(i, 2), std::max(0, i - 2))) << i;
  }
  Poco::Net::HTTPClientSession session("127.0.0.1", t.port);
  session.setTimeout(Poco::Timespan(5, 0));
  Poco::Net::HTTPRequest req("GET", "/healthz", Poco::Net::HTTPMessage::HTTP_1_1);
  session.sendRequest(req);
  Poco::Net::HTTPResponse resp;
  auto& in = session.receiveResponse(resp);
  std::string body;
  Poco::StreamCopier::copyToString(in, body);
  EXPECT_EQ(resp.getStatus(), 503);
  EXPECT_EQ(resp.getReason(), "Service Unavailable");
  EXPECT_EQ(resp.get("Retry-After", ""), "1");
  EXPECT_EQ(resp.get("X-Frame-Options", ""), "DENY");
  EXPECT_NE(body.find("too many connections"), std::string::npos) << body;
  held.clear();  // closed: the server's threads are free again
  for (int i = 0; i < 500 && t.server->loadForTest().active > 0; ++i) {
    std::this_thread::sleep_for(milliseconds(10));
  }
  EXPECT_EQ(t.get("/healthz", "").status, 200);
}
