#include "report/http/HttpServer.h"

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/SHA2Engine.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include <optional>
#include <stdexcept>

#include "base/Text.h"
#include "db/DatabasePool.h"
#include "report/http/StaticFiles.h"

namespace bccsink::report {
namespace {

using Poco::Net::HTTPResponse;
using Poco::Net::HTTPServerRequest;
using Poco::Net::HTTPServerResponse;

constexpr const char* kJson = "application/json; charset=utf-8";
constexpr const char* kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

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

}  // namespace

struct HttpServer::Shared {
  Shared(HttpSettings s, ApiContext api)
      : settings(std::move(s)),
        api(std::move(api)),
        databases(settings.databaseUrl, static_cast<std::size_t>(settings.threads)) {}
  const HttpSettings settings;
  const ApiHandlers api;
  db::DatabasePool databases;
  const StaticFiles files;
};

namespace {

class Handler : public Poco::Net::HTTPRequestHandler {
 public:
  explicit Handler(std::shared_ptr<HttpServer::Shared> shared) : shared_(std::move(shared)) {}

  void handleRequest(HTTPServerRequest& req, HTTPServerResponse& resp) override {
    // On every answer, errors included.
    resp.set("Cache-Control", "no-cache");
    resp.set("X-Content-Type-Options", "nosniff");
    resp.set("Content-Security-Policy", "default-src 'self'");
    resp.setKeepAlive(false);
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
  static void send(HTTPServerResponse& resp, int status, const std::string& type,
                   const std::string& body) {
    if (resp.sent()) return;
    resp.setStatus(static_cast<HTTPResponse::HTTPStatus>(status));
    resp.setContentType(type);
    resp.sendBuffer(body.data(), body.size());
  }

  static void sendJson(HTTPServerResponse& resp, int status, const std::string& body) {
    send(resp, status, kJson, body);
  }

  // Reads (and drops) a body up to the cap; false when it is over the cap.
  bool bodyWithinLimit(HTTPServerRequest& req) const {
    const auto max = shared_->settings.maxBodyBytes;
    const bool chunked = req.getChunkedTransferEncoding();
    if (req.hasContentLength() && req.getContentLength64() > static_cast<Poco::Int64>(max))
      return false;
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
    if (!bodyWithinLimit(req)) {
      return sendJson(resp, 413,
                      errorJson("request body over " +
                                std::to_string(shared_->settings.maxBodyBytes) + " bytes"));
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
    if (path == "/metrics" && shared_->api.context().metrics) {
      if (!read) return notAllowed(resp, "GET, HEAD");
      auto lease = shared_->databases.acquire();
      return send(resp, 200, kMetricsType, shared_->api.context().metrics(*lease));
    }
    if (const auto* file = shared_->files.find(path)) {
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
    const auto& token = shared_->settings.token;
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
      if (!lease) lease.emplace(shared_->databases.acquire());
      return **lease;
    };
    auto answer = shared_->api.handle(req.getMethod(), path, rawQuery, database);
    if (!answer.allow.empty()) resp.set("Allow", answer.allow);
    if (req.getMethod() == "POST" && answer.status < 300) {
      log().information("api: %s %s: %d", req.getMethod(), printableAscii(path), answer.status);
    }
    sendJson(resp, answer.status, answer.body);
  }

  std::shared_ptr<HttpServer::Shared> shared_;
};

class Factory : public Poco::Net::HTTPRequestHandlerFactory {
 public:
  explicit Factory(std::shared_ptr<HttpServer::Shared> shared) : shared_(std::move(shared)) {}
  Poco::Net::HTTPRequestHandler* createRequestHandler(const HTTPServerRequest&) override {
    return new Handler(shared_);
  }

 private:
  std::shared_ptr<HttpServer::Shared> shared_;
};

}  // namespace

HttpServer::HttpServer(HttpSettings settings, ApiContext api)
    : shared_(std::make_shared<Shared>(std::move(settings), std::move(api))),
      pool_(1, std::max(1, shared_->settings.threads), 60) {
  const auto& st = shared_->settings;
  Poco::Net::ServerSocket socket;
  try {
    // SO_REUSEADDR for a quick restart, but not SO_REUSEPORT (Poco's one-flag bind sets
    // both): a second daemon on the same port must fail, not share the requests.
    socket.bind(Poco::Net::SocketAddress(st.socket), true, false);
    socket.listen(64);
    bound_ = socket.address().toString();
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("HttpSocket " + st.socket + ": " + e.displayText());
  }
  auto params = new Poco::Net::HTTPServerParams;
  params->setMaxThreads(std::max(1, st.threads));
  params->setMaxQueued(std::max(1, st.maxQueued));
  params->setKeepAlive(false);
  params->setTimeout(Poco::Timespan(static_cast<long>(st.timeout.count()), 0));
  params->setServerName("bccsink");
  params->setSoftwareVersion("bccsink");
  server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(shared_), pool_, socket, params);
}

HttpServer::~HttpServer() {
  stop();
}

void HttpServer::start() {
  server_->start();
}

void HttpServer::stop() {
  if (server_) {
    server_->stopAll(true);
    pool_.joinAll();
    server_.reset();
  }
}

std::string HttpServer::boundAddress() const {
  return bound_;
}

}  // namespace bccsink::report
