#include "report/http/HttpServer.h"

#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponseImpl.h>
#include <Poco/Net/HTTPServerSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/SHA2Engine.h>
#include <Poco/String.h>
#include <Poco/Timestamp.h>
#include <Poco/URI.h>
#include <sys/socket.h>

#include <atomic>
#include <optional>
#include <stdexcept>

#include "base/Text.h"
#include "base/tls/TlsProfile.h"
#include "db/DatabasePool.h"
#include "db/Health.h"
#include "report/http/RequestDeadlines.h"
#include "report/http/StaticFiles.h"

namespace bccsink::report {
namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

constexpr const char* kJson = "application/json; charset=utf-8";
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";
// default-src: the dashboard loads only its own files. frame-ancestors and X-Frame-Options
// (for browsers without CSP 2): no page may frame ours (clickjacking of the resend button).
constexpr const char* kPolicy = "default-src 'self'; frame-ancestors 'none'";

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.http");
}

// Compares digests, so the time taken says nothing about the token: not where the first
// difference is, nor its length.
bool sameSecret(const std::string& given, const std::string& expected) {
  auto digest = [](const std::string& s) {
    Poco::SHA2Engine sha(Poco::SHA2Engine::SHA_256);
    sha.update(s);
    return sha.digest();
  };
  auto a = digest(given), b = digest(expected);
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

// The token of "Authorization: Bearer TOKEN" (RFC 6750 section 2.1), '' when there is none.
std::string bearerToken(const HTTPServerRequest& req) {
  const auto& value = req.get("Authorization", "");
  if (value.size() < 7 || Poco::icompare(value.substr(0, 7), "bearer ") != 0) return "";
  auto start = value.find_first_not_of(' ', 7);
  return start == std::string::npos ? "" : value.substr(start);
}

// On every answer, errors included.
void setCommonHeaders(HTTPResponse& resp) {
  resp.set("Cache-Control", "no-cache");
  resp.set("X-Content-Type-Options", "nosniff");
  resp.set("X-Frame-Options", "DENY");
  resp.set("Content-Security-Policy", kPolicy);
  resp.setKeepAlive(false);
}

// With the status' own reason phrase (RFC 9110 section 15): "404 Not Found", not "404 OK".
void send(HTTPServerResponse& resp, int status, const std::string& type, const std::string& body) {
  if (resp.sent()) return;
  resp.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(status));
  resp.setContentType(type);
  resp.sendBuffer(body.data(), body.size());
}

void sendJson(HTTPServerResponse& resp, int status, const std::string& body) {
  send(resp, status, kJson, body);
}

std::string tooSlow(std::chrono::milliseconds budget) {
  return errorJson("request not received within " + std::to_string(budget.count()) + " ms");
}

// TlsMinVersion and TlsCiphers (TLS 1.2 or later, ECDHE suites only by default), no client
// certificates; the files are read now.
Poco::Net::Context::Ptr serverContext(const HttpSettings& st) {
  if (st.tlsCertificate.empty() != st.tlsKey.empty()) {
    throw std::runtime_error("HttpTlsCertificate and HttpTlsKey go together: set both or neither");
  }
  try {
    Poco::Net::Context::Params params;
    params.certificateFile = st.tlsCertificate;
    params.privateKeyFile = st.tlsKey;
    params.verificationMode = Poco::Net::Context::VERIFY_NONE;
    params.loadDefaultCAs = false;
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
    applyTlsProfile(*context, st.tlsProfile);  // a wrong list names TlsCiphers
    context->enableSessionCache(false);
    return context;
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("HttpTlsCertificate " + st.tlsCertificate + ", HttpTlsKey " +
                             st.tlsKey + ": " + e.displayText());
  }
}

}  // namespace

struct HttpServer::Shared {
  Shared(HttpSettings s, ApiContext api)
      : settings(std::move(s)),
        api(std::move(api)),
        databases(settings.databaseUrl, static_cast<std::size_t>(settings.threads)),
        deadlines(settings.requestTimeout) {}
  const HttpSettings settings;
  const ApiHandlers api;
  db::DatabasePool databases;
  const StaticFiles files;
  RequestDeadlines deadlines;
  Poco::Net::HTTPServerParams::Ptr params;
  std::atomic<int> active{0};
  bool tls = false;
};

namespace {

class Handler {
 public:
  Handler(HttpServer::Shared& shared, RequestDeadlines::Watch& watch)
      : shared_(shared), watch_(watch) {}

  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& resp) {
    try {
      route(req, resp);
    } catch (const Poco::Exception& e) {
      log().error("%s %s: %s", req.getMethod(), printableAscii(req.getURI()), e.displayText());
      // The detail (paths, SQL) is for the log, not for a client that may have no token.
      sendJson(resp, 500, errorJson("internal error (see the daemon's log)"));
    } catch (const std::exception& e) {
      log().error("%s %s: %s", req.getMethod(), printableAscii(req.getURI()),
                  std::string(e.what()));
      sendJson(resp, 500, errorJson("internal error (see the daemon's log)"));
    }
  }

 private:
  // Reads (and drops) a body up to the cap; false when it is over the cap.
  bool bodyWithinLimit(HTTPServerRequest& req) const {
    const auto max = shared_.settings.maxBodyBytes;
    const bool chunked = req.getChunkedTransferEncoding();
    if (req.hasContentLength() && req.getContentLength64() > static_cast<Poco::Int64>(max)) {
      // Read (and drop) what a client sends on its way to the 413, up to a bound: closing
      // with its bytes unread makes the kernel answer with a reset, which can destroy the
      // 413 before the client reads it. Beyond the bound the connection just ends.
      constexpr Poco::Int64 kDrainAtMost = 1 << 20;
      if (req.getContentLength64() <= kDrainAtMost) {
        std::string buf(16 * 1024, '\0');
        auto& in = req.stream();
        while (in.good()) in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      }
      return false;
    }
    // Without a length or chunks there is no body (and reading would wait for the close).
    if (!chunked && (!req.hasContentLength() || req.getContentLength64() == 0)) return true;
    std::string buf(16 * 1024, '\0');
    std::size_t total = 0;
    auto& in = req.stream();
    while (in.good()) {
      in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
      total += static_cast<std::size_t>(in.gcount());
      if (total > max) return false;
    }
    return true;
  }

  void route(HTTPServerRequest& req, HTTPServerResponse& resp) {
    const auto& method = req.getMethod();
    if (method != "GET" && method != "HEAD" && method != "POST") {
      resp.set("Allow", "GET, HEAD, POST");
      return sendJson(resp, 405, errorJson("method not allowed: only GET, HEAD and POST"));
    }
    const bool withinLimit = bodyWithinLimit(req);
    // A body cut by the deadline is not acted on.
    if (!watch_.received()) return sendJson(resp, 408, tooSlow(shared_.settings.requestTimeout));
    if (!withinLimit) {
      return sendJson(resp, 413,
                      errorJson("request body over " +
                                std::to_string(shared_.settings.maxBodyBytes) + " bytes"));
    }
    std::string path, rawQuery;
    try {
      Poco::URI uri(req.getURI());
      path = uri.getPath();
      rawQuery = uri.getRawQuery();
    } catch (const Poco::Exception&) {
      return sendJson(resp, 400, errorJson("malformed request URI"));
    }
    if (path.rfind("/api/", 0) == 0 || path == "/api") return api(req, resp, path, rawQuery);
    const bool read = method == "GET" || method == "HEAD";
    if (path == "/healthz") {
      // Alive and serving; needs no database, so it answers while the API is slow. A
      // corrupt database (db/Health.h) is no health: 503, so a probe or a balancer sees
      // what the intake's 451s say.
      if (!read) return notAllowed(resp, "GET, HEAD");
      if (db::Health::process().corrupt())
        return send(resp, 503, "text/plain; charset=utf-8",
                    std::string(db::Health::name(db::Health::State::DatabaseCorrupt)) + "\n");
      return send(resp, 200, "text/plain; charset=utf-8", "ok\n");
    }
    if (path == "/metrics" && shared_.api.context().metrics) {
      if (!read) return notAllowed(resp, "GET, HEAD");
      auto lease = shared_.databases.acquire();
      return send(resp, 200, kMetricsType, shared_.api.context().metrics(*lease));
    }
    if (const auto* file = shared_.files.find(path)) {
      if (!read) return notAllowed(resp, "GET, HEAD");
      return send(resp, 200, file->contentType, *file->text);
    }
    sendJson(resp, 404, errorJson("not found: " + printableAscii(path)));
  }

  static void notAllowed(HTTPServerResponse& resp, const std::string& allow) {
    resp.set("Allow", allow);
    sendJson(resp, 405, errorJson("method not allowed here (allowed: " + allow + ")"));
  }

  void api(HTTPServerRequest& req, HTTPServerResponse& resp, const std::string& path,
           const std::string& rawQuery) {
    const auto& token = shared_.settings.token;
    if (token.empty()) return sendJson(resp, 404, errorJson("the JSON API is off: set HttpToken"));
    auto given = bearerToken(req);
    if (given.empty() || !sameSecret(given, token)) {
      // A wrong token is logged, so that guessing is seen; a missing one is a browser's
      // first try and is not.
      if (!given.empty()) {
        log().warning("wrong API token from %s for %s", req.clientAddress().host().toString(),
                      printableAscii(req.getURI()));
      }
      resp.set("WWW-Authenticate", "Bearer realm=\"bccsink\"");
      return sendJson(
          resp, 401,
          errorJson(given.empty() ? "this needs Authorization: Bearer HttpToken" : "wrong token"));
    }
    // One session for the whole request, opened only when an endpoint needs it.
    std::optional<db::DatabasePool::Lease> lease;
    auto database = [&]() -> db::Database& {
      if (!lease) lease.emplace(shared_.databases.acquire());
      return **lease;
    };
    auto answer = shared_.api.handle(req.getMethod(), path, rawQuery, database,
                                     req.clientAddress().host().toString());
    if (!answer.allow.empty()) resp.set("Allow", answer.allow);
    if (req.getMethod() == "POST" && answer.status < 300) {
      log().information("api: %s %s: %d", req.getMethod(), printableAscii(path), answer.status);
    }
    // A message as received (/api/messages/ID/raw): downloaded, never shown by the browser as a
    // page.
    if (!answer.attachment.empty()) {
      resp.set("Content-Disposition", "attachment; filename=\"" + answer.attachment + "\"");
    }
    send(resp, answer.status, answer.contentType.empty() ? kJson : answer.contentType, answer.body);
  }

  HttpServer::Shared& shared_;
  RequestDeadlines::Watch& watch_;
};

// One connection, one request: Poco's HTTPServerConnection without keep-alive and with the
// request's deadline, so that a request that is too slow or malformed gets its 408 or 400
// with our headers and JSON.
class Connection : public Poco::Net::TCPServerConnection {
 public:
  Connection(const Poco::Net::StreamSocket& socket, std::shared_ptr<HttpServer::Shared> shared)
      : TCPServerConnection(socket), shared_(std::move(shared)) {}

  void run() override {
    ++shared_->active;
    auto watch = shared_->deadlines.watch(socket().impl()->sockfd());
    Poco::Net::HTTPServerSession session(socket(), shared_->params);
    int failed = 0;
    try {
      Poco::Net::HTTPServerResponseImpl response(session);
      Poco::Net::HTTPServerRequestImpl request(response, session, shared_->params.get());
      response.setDate(Poco::Timestamp());
      response.setVersion(request.getVersion());
      response.set("Server", "bccsink");
      setCommonHeaders(response);
      if (request.getExpectContinue()) response.sendContinue();
      Handler(*shared_, *watch).handleRequest(request, response);
    } catch (const Poco::Net::NoMessageException&) {
      // Closed before a byte, or the deadline passed before one: nothing to answer.
      failed = watch->expired() ? 408 : 0;
    } catch (const Poco::Net::MessageException&) {
      failed = watch->expired() ? 408 : 400;
    } catch (const Poco::Exception&) {
      // A read that timed out, a reset, a failed TLS handshake.
      failed = watch->expired() ? 408 : 0;
    }
    if (failed != 0) answerError(session, failed);
    --shared_->active;
  }

 private:
  void answerError(Poco::Net::HTTPServerSession& session, int status) {
    try {
      // Written by hand: a response with no request attached would drop its body.
      const std::string body = status == 408 ? tooSlow(shared_->settings.requestTimeout)
                                             : errorJson("malformed request");
      Poco::Net::HTTPServerResponseImpl response(session);
      response.setVersion(HTTPResponse::HTTP_1_1);
      setCommonHeaders(response);
      response.setStatusAndReason(static_cast<HTTPResponse::HTTPStatus>(status));
      response.setContentType(kJson);
      response.setContentLength(static_cast<std::streamsize>(body.size()));
      response.send() << body << std::flush;
    } catch (const Poco::Exception&) {
      // The client is gone.
    }
  }

  std::shared_ptr<HttpServer::Shared> shared_;
};

class ConnectionFactory : public Poco::Net::TCPServerConnectionFactory {
 public:
  explicit ConnectionFactory(std::shared_ptr<HttpServer::Shared> shared)
      : shared_(std::move(shared)) {}
  Poco::Net::TCPServerConnection* createConnection(const Poco::Net::StreamSocket& socket) override {
    return new Connection(socket, shared_);
  }

 private:
  std::shared_ptr<HttpServer::Shared> shared_;
};

// Past threads + maxQueued connections, Poco's TCPServer would close a new one without a
// word; this answers it 503 first (plain HTTP: a TLS client would need a handshake, which
// the accepting thread must not wait for, so it is closed). Runs on the accepting thread.
class Overload : public Poco::Net::TCPServerConnectionFilter {
 public:
  Overload(int maxQueued, bool tls) : maxQueued_(maxQueued), tls_(tls) {}
  void watch(const Poco::Net::TCPServer* server) { server_ = server; }

  bool accept(const Poco::Net::StreamSocket& socket) override {
    if (server_ == nullptr || server_->queuedConnections() < maxQueued_) return true;
    if (!tls_) {
      static const std::string body = errorJson("busy: too many connections, retry later");
      static const std::string answer =
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + std::string(kJson) +
          "\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nRetry-After: 1\r\nConnection: close\r\nCache-Control: no-cache\r\n"
          "X-Content-Type-Options: nosniff\r\nX-Frame-Options: DENY\r\n"
          "Content-Security-Policy: " +
          kPolicy + "\r\n\r\n" + body;
      // A new connection's send buffer takes this whole; never waits, never raises SIGPIPE.
      (void)::send(socket.impl()->sockfd(), answer.data(), answer.size(),
                   MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    if (refused_++ % 100 == 0) {
      log().warning("http: %d connections waiting, refusing new ones (503)", maxQueued_);
    }
    return false;
  }

 private:
  const int maxQueued_;
  const bool tls_;
  const Poco::Net::TCPServer* server_ = nullptr;
  unsigned long refused_ = 0;
};

}  // namespace

HttpServer::HttpServer(HttpSettings settings, ApiContext api)
    : shared_(std::make_shared<Shared>(std::move(settings), std::move(api))),
      pool_(1, std::max(1, shared_->settings.threads), 60) {
  const auto& st = shared_->settings;
  Poco::Net::Context::Ptr context;
  if (!st.tlsCertificate.empty() || !st.tlsKey.empty()) context = serverContext(st);
  shared_->tls = !context.isNull();
  Poco::Net::ServerSocket socket;
  if (context) socket = Poco::Net::SecureServerSocket(context);
  try {
    // SO_REUSEADDR for a quick restart, but not SO_REUSEPORT (Poco's one-flag bind sets
    // both): a second daemon on the same port must fail, not share the requests.
    socket.bind(Poco::Net::SocketAddress(st.socket), true, false);
    socket.listen(64);
    bound_ = socket.address().toString();
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("HttpSocket " + st.socket + ": " + e.displayText());
  }
  Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(std::max(1, st.threads));
  params->setMaxQueued(std::max(1, st.maxQueued));
  params->setKeepAlive(false);
  params->setTimeout(Poco::Timespan(static_cast<long>(st.timeout.count()), 0));
  params->setServerName("bccsink");
  shared_->params = params;
  Poco::AutoPtr<Overload> overload = new Overload(params->getMaxQueued(), shared_->tls);
  server_ =
      std::make_unique<Poco::Net::TCPServer>(new ConnectionFactory(shared_), pool_, socket, params);
  overload->watch(server_.get());
  server_->setConnectionFilter(overload);
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  server_->start();
}

void HttpServer::stop() {
  if (server_) {
    server_->stop();
    shared_->deadlines.shutdownAll();
    pool_.joinAll();
    server_.reset();
  }
}

std::string HttpServer::boundAddress() const {
  return bound_;
}

HttpServer::Load HttpServer::loadForTest() const {
  return {shared_->active.load(), server_ ? server_->queuedConnections() : 0};
}

}  // namespace bccsink::report
