// The HTTP port's transport: the dashboard's files, /metrics, the headers every answer
// carries, methods, body limits, malformed requests, and stopping.

#include "report/http/HttpServer.h"

#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "db/DatabasePool.h"
#include "db/Health.h"
#include "report/Reporter.h"
#include "report/http/Dashboard.h"
#include "report/http/StaticFiles.h"
#include "sink/Metrics.h"
#include "test/report/http/HttpTestServer.h"

using namespace bccsink;
using namespace bccsink::test;

namespace {

void expectCommonHeaders(const HttpAnswer& a, const std::string& what) {
  EXPECT_EQ(a.header("Cache-Control"), "no-cache") << what;
  EXPECT_EQ(a.header("X-Content-Type-Options"), "nosniff") << what;
  EXPECT_EQ(a.header("Content-Security-Policy"), "default-src 'self'; frame-ancestors 'none'")
      << what;
  EXPECT_EQ(a.header("X-Frame-Options"), "DENY") << what;
}

std::string shipped(const std::string& name) {
  for (const auto& [n, text] : report::shippedDashboard()) {
    if (n == name) return text;
  }
  ADD_FAILURE() << name << " is not shipped";
  return "";
}

// Sends raw bytes and returns everything the server answers until it closes.
std::string raw(Poco::UInt16 port, const std::string& bytes) {
  Poco::Net::StreamSocket s(Poco::Net::SocketAddress("127.0.0.1", port));
  s.setReceiveTimeout(Poco::Timespan(10, 0));
  s.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
  std::string out;
  char buf[4096];
  int n;
  while ((n = s.receiveBytes(buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

}  // namespace

TEST(HttpServer, ServesTheDashboardFilesWithTheirTypes) {
  HttpTestServer t;
  t.start();
  struct Case {
    const char* uri;
    const char* name;
    const char* type;
  } cases[] = {
      {"/", "index.html", "text/html; charset=utf-8"},
      {"/index.html", "index.html", "text/html; charset=utf-8"},
      {"/app.js", "app.js", "text/javascript; charset=utf-8"},
      {"/style.css", "style.css", "text/css; charset=utf-8"},
  };
  for (const auto& c : cases) {
    auto a = t.get(c.uri, "");
    EXPECT_EQ(a.status, 200) << c.uri;
    EXPECT_EQ(a.header("Content-Type"), c.type) << c.uri;
    EXPECT_EQ(a.body, shipped(c.name)) << c.uri;
    EXPECT_FALSE(a.body.empty()) << c.uri;
    expectCommonHeaders(a, c.uri);
  }
  auto head = t.request("HEAD", "/app.js", "");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.header("Content-Length"), std::to_string(shipped("app.js").size()));
  auto missing = t.get("/../etc/passwd", "");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.header("Content-Type"), "application/json; charset=utf-8");
  expectCommonHeaders(missing, "404");
  EXPECT_EQ(t.get("/index.htm", "").status, 404);
  // Each status with its own reason phrase, not "404 OK".
  auto line = raw(t.port, "GET /nothing HTTP/1.0\r\n\r\n");
  EXPECT_EQ(line.substr(0, line.find('\r')), "HTTP/1.0 404 Not Found");
  auto slash = raw(t.port, "DELETE / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(slash.substr(0, slash.find('\r')), "HTTP/1.0 405 Method Not Allowed");
  auto healthz = t.get("/healthz", "");
  EXPECT_EQ(healthz.status, 200);
  EXPECT_EQ(healthz.body, "ok\n");
  expectCommonHeaders(healthz, "/healthz");
  // A corrupt database is no health: 503 with its state, back to 200 once cleared.
  db::Health::process().setCorrupt("database disk image is malformed");
  auto corrupt = t.get("/healthz", "");
  db::Health::process().resetForTest();
  EXPECT_EQ(corrupt.status, 503);
  EXPECT_EQ(corrupt.body, "database_corrupt\n");
  EXPECT_EQ(t.get("/healthz", "").status, 200);
  EXPECT_EQ(report::contentTypeFor("x.svg"), "image/svg+xml");
  EXPECT_EQ(report::contentTypeFor("x"), "application/octet-stream");
}

TEST(HttpServer, AnswersOnlyTheMethodsItKnows) {
  HttpTestServer t;
  report::ApiContext api;
  api.metrics = [](db::Database&) { return std::string("m 1\n"); };
  t.start(api);
  for (const char* method : {"PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"}) {
    auto a = t.request(method, "/api/overview");
    EXPECT_EQ(a.status, 405) << method;
    EXPECT_EQ(a.header("Allow"), "GET, HEAD, POST") << method;
    expectCommonHeaders(a, method);
  }
  auto post = t.request("POST", "/", "");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("Allow"), "GET, HEAD");
  EXPECT_EQ(t.request("POST", "/metrics", "").status, 405);
  EXPECT_EQ(t.request("POST", "/api/overview").status, 405);
  EXPECT_EQ(t.request("POST", "/api/messages").status, 405);
}

TEST(HttpServer, RefusesBodiesOverTheCap) {
  HttpTestServer t;
  t.start();
  auto big = t.request("POST", "/api/messages/" + kDangerous + "/resend", kToken,
                       std::string(64 * 1024 + 1, 'x'));
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("65536"), std::string::npos);
  EXPECT_EQ(db::MessageQueue(t.database).find(kDangerous)->reportStatus, "sent");
  // A body within the cap is read and ignored.
  EXPECT_EQ(t.request("POST", "/api/messages/" + kDangerous + "/resend", kToken, "{}").status, 202);
  // Chunked: counted as it comes.
  std::string chunk(20000, 'y');
  std::ostringstream req;
  req << "POST /api/messages/" << kClean << "/resend HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
      << kToken << "\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 4; ++i) req << std::hex << chunk.size() << "\r\n" << chunk << "\r\n";
  req << "0\r\n\r\n";
  auto answer = raw(t.port, req.str());
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer.substr(0, 100);
  EXPECT_EQ(db::MessageQueue(t.database).find(kClean)->reportStatus, "none");
}

TEST(HttpServer, MalformedRequestsGet4xxNot5xx) {
  HttpTestServer t;
  t.start();
  auto badUri =
      raw(t.port, "GET /api/messages/%zz HTTP/1.0\r\nAuthorization: Bearer " + kToken + "\r\n\r\n");
  EXPECT_EQ(badUri.rfind("HTTP/1.0 400", 0), 0u) << badUri.substr(0, 100);
  EXPECT_NE(badUri.find("malformed request URI"), std::string::npos);
  auto garbage = raw(t.port, "\x16\x03\x01 not http at all\r\n\r\n");
  EXPECT_EQ(garbage.find(" 500 "), std::string::npos) << garbage.substr(0, 100);
  EXPECT_EQ(t.get("/api/overview").status, 200);  // still serving
}

TEST(HttpServer, MetricsAreValidPrometheusText) {
  HttpTestServer t;
  SmtpCounters counters;
  counters.received = 7;
  counters.refuse(Refusal::Relay);
  counters.refuse(Refusal::Relay);
  counters.refuse(Refusal::Size);
  report::ReporterSettings rs;
  rs.databaseUrl = t.url;
  rs.spoolDir = t.spool;
  rs.owner = "sink-a";
  rs.mail = {"bccsink@example.com", {"admin@example.com"}, "sink.test"};
  report::Reporter reporter(rs, report::Templates::builtIn(),
                            [](const std::string&) { return report::DeliveryResult{}; });
  MetricsSources sources{&counters, nullptr, &reporter, t.spool};
  report::ApiContext api;
  api.metrics = [sources](db::Database& d) { return formatMetrics(collectMetrics(sources, d)); };
  t.start(api);
  auto a = t.get("/metrics", "");
  ASSERT_EQ(a.status, 200);
  EXPECT_EQ(a.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  expectCommonHeaders(a, "/metrics");
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? -?[0-9.e+Inf]+$)");
  std::map<std::string, std::string> values;
  std::set<std::string> helped, typed;
  std::istringstream in(a.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      helped.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      typed.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    ASSERT_TRUE(std::regex_match(line, sample)) << line;
    auto space = line.rfind(' ');
    values[line.substr(0, space)] = line.substr(space + 1);
    auto name = line.substr(0, line.find_first_of("{ "));
    EXPECT_TRUE(typed.count(name) ||
                typed.count(std::regex_replace(name, std::regex("_(bucket|sum|count)$"), "")))
        << "no TYPE before " << name;
  }
  EXPECT_EQ(helped, typed);
  EXPECT_EQ(values["bccsink_messages_received_total"], "7");
  EXPECT_EQ(values["bccsink_messages_refused_total{reason=\"relay\"}"], "2");
  EXPECT_EQ(values["bccsink_messages_refused_total{reason=\"size\"}"], "1");
  EXPECT_EQ(values["bccsink_messages_refused_total{reason=\"disk\"}"], "0");
  EXPECT_EQ(values["bccsink_queue_messages{state=\"pending\"}"], "1");
  EXPECT_EQ(values["bccsink_queue_messages{state=\"checked\"}"], "2");
  EXPECT_EQ(values["bccsink_queue_messages{state=\"reported\"}"], "1");
  EXPECT_EQ(values["bccsink_report_queue_messages{status=\"sent\"}"], "1");
  EXPECT_EQ(values["bccsink_reports_sent_total"], "0");
  EXPECT_EQ(values["bccsink_reports_failed_total{outcome=\"deferred\"}"], "0");
  EXPECT_EQ(values["bccsink_cache_hit_ratio"], "0");
  EXPECT_GT(std::stoull(values["bccsink_spool_free_bytes"]), 0u);
  EXPECT_EQ(values["bccsink_build_info{version=\"" + std::string(report::bccsinkVersion()) + "\"}"],
            "1");
}

TEST(HttpServer, KeepsAtMostOneIdleSessionPerThread) {
  HttpTestServer t;
  db::DatabasePool pool(t.url, 2);
  {
    auto a = pool.acquire();
    auto b = pool.acquire();
    auto c = pool.acquire();
    EXPECT_NE(&*a, &*b);
    EXPECT_EQ(pool.idle(), 0u);
  }
  EXPECT_EQ(pool.idle(), 2u);
  db::Database* first = nullptr;
  {
    auto a = pool.acquire();
    first = &*a;
  }
  auto again = pool.acquire();
  EXPECT_EQ(&*again, first);  // reused, not opened again
  db::DatabasePool broken("sqlite:/nonexistent-dir/x/q.db", 1);
  EXPECT_THROW(broken.acquire(), std::runtime_error);
}

TEST(HttpServer, ADatabaseThatCannotOpenIsA500WithJson) {
  HttpTestServer t;
  report::HttpSettings s;
  t.start({}, s);
  t.server->stop();
  report::HttpSettings bad;
  bad.socket = "127.0.0.1:0";
  bad.token = kToken;
  bad.databaseUrl = "sqlite:/nonexistent-dir/x/q.db";
  t.server = std::make_unique<report::HttpServer>(bad, report::ApiContext{});
  t.server->start();
  t.port = static_cast<Poco::UInt16>(std::stoi(t.server->boundAddress().substr(10)));
  auto a = t.get("/api/overview");
  EXPECT_EQ(a.status, 500);
  EXPECT_NE(a.body.find("internal error"), std::string::npos) << a.body;
  // The detail stays in the log: no path or driver text for a client.
  EXPECT_EQ(a.body.find("nonexistent-dir"), std::string::npos) << a.body;
  EXPECT_EQ(a.body.find("cannot open database"), std::string::npos) << a.body;
  expectCommonHeaders(a, "500");
  EXPECT_EQ(t.get("/", "").status, 200);  // what needs no database still works
}

TEST(HttpServer, BindErrorsNameTheOptionAndStopIsIdempotent) {
  HttpTestServer t;
  t.start();
  report::HttpSettings clash;
  clash.socket = t.server->boundAddress();
  clash.databaseUrl = t.url;
  try {
    report::HttpServer second(clash, {});
    FAIL() << "bound twice";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("HttpSocket " + clash.socket), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(t.server->boundAddress().rfind("127.0.0.1:", 0), 0u);
  t.server->stop();
  t.server->stop();
  EXPECT_THROW(t.get("/", ""), Poco::Exception);
}
