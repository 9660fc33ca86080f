#pragma once
// The daemon's HTTP port (HttpSocket): /metrics for Prometheus, the JSON API under /api/
// (Bearer HttpToken), and the dashboard's files. A Poco HTTPServer with a thread pool of its
// own, a bounded accept queue, no keep-alive, socket timeouts and a cap on request bodies;
// every answer carries no-cache, nosniff and a strict Content-Security-Policy, and every
// error is JSON. Nothing a client sends makes a 5xx: only a failing database does.

#include <Poco/Net/HTTPServer.h>
#include <Poco/ThreadPool.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "report/http/ApiHandlers.h"

namespace bccsink::report {

struct HttpSettings {
  std::string socket = "127.0.0.1:8025";  // HOST:PORT; port 0 picks a free one
  std::string token;                      // HttpToken; '' = /api/ answers 404
  std::string databaseUrl;
  int threads = 8;                       // requests served at once
  int maxQueued = 32;                    // accepted connections waiting for a thread
  std::chrono::seconds timeout{10};      // each read or write on a connection
  std::size_t maxBodyBytes = 64 * 1024;  // larger request bodies get 413
};

class HttpServer {
 public:
  // Binds at once; throws std::runtime_error naming HttpSocket when it cannot.
  HttpServer(HttpSettings settings, ApiContext api);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void start();
  // Stops accepting, aborts open connections and waits for the workers. Idempotent.
  void stop();
  // "127.0.0.1:8025" ("[::1]:8025" for IPv6).
  std::string boundAddress() const;

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
  Poco::ThreadPool pool_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::string bound_;
};

}  // namespace bccsink::report
