#pragma once
// The daemon's HTTP port (HttpSocket): /metrics for Prometheus, /healthz, the JSON API under
// /api/ (Bearer HttpToken), and the dashboard's files; plain HTTP or, with HttpTlsCertificate
// and HttpTlsKey, HTTPS (TLS 1.2+, ECDHE only). A Poco TCPServer with a thread pool of its
// own and Poco's HTTP request and response, one request per connection: each request must
// arrive whole (headers and body) within requestTimeout or gets 408 (RequestDeadlines), so
// a slow client holds a thread for that long at most and /metrics stays answered; past
// threads + maxQueued connections a new one gets 503 at once. Every answer carries no-cache,
// nosniff, X-Frame-Options and a strict Content-Security-Policy, and every error is JSON.
// Nothing a client sends makes a 5xx: only a failing database or an overload does.

#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "base/tls/TlsProfile.h"
#include "report/http/ApiHandlers.h"

namespace bccsink::report {

struct HttpSettings {
  std::string socket = "127.0.0.1:8025";  // HOST:PORT; port 0 picks a free one
  std::string token;                      // HttpToken; '' = /api/ answers 404
  std::string databaseUrl;
  std::string tlsCertificate;        // HttpTlsCertificate: PEM chain; '' = plain HTTP
  std::string tlsKey;                // HttpTlsKey: its PEM private key
  TlsProfile tlsProfile;             // TlsCiphers, TlsMinVersion
  int threads = 32;                  // connections served at once (a slow one holds one)
  int maxQueued = 64;                // accepted connections waiting; past that 503
  std::chrono::seconds timeout{10};  // each read or write on a connection
  std::chrono::milliseconds requestTimeout{10000};  // the whole request arriving: else 408
  std::size_t maxBodyBytes = 64 * 1024;             // larger request bodies get 413
};

class HttpServer {
 public:
  // Binds at once; throws std::runtime_error naming HttpSocket (or HttpTlsCertificate,
  // HttpTlsKey) when it cannot.
  HttpServer(HttpSettings settings, ApiContext api);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  // Stops accepting, aborts open connections and waits for the workers. Idempotent.
  void stop();
  // "127.0.0.1:8025" ("[::1]:8025" for IPv6).
  std::string boundAddress() const;

  // Connections being served and waiting for a thread (tests wait for a load).
  struct Load {
    int active = 0;
    int queued = 0;
  };
  Load loadForTest() const;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
  Poco::ThreadPool pool_;
  std::unique_ptr<Poco::Net::TCPServer> server_;
  std::string bound_;
};

}  // namespace bccsink::report
