#pragma once
// A statistics collector for the exporter's tests: Poco's HTTPServer on 127.0.0.1, port 0,
// plain or TLS, that keeps every POST body and answers with the status the test sets (or
// holds the request open for a while).

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace bccsink::test {

class StatsTestCollector {
 public:
  // `tls`: a server context (TLS_SERVER_USE) or null for plain HTTP.
  explicit StatsTestCollector(Poco::Net::Context::Ptr tls = nullptr) {
    auto* params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    params->setKeepAlive(false);
    Poco::Net::SocketAddress at("127.0.0.1", 0);
    if (tls) {
      socket_ = std::make_unique<Poco::Net::SecureServerSocket>(at, 16, tls);
    } else {
      socket_ = std::make_unique<Poco::Net::ServerSocket>(at, 16);
    }
    port_ = socket_->address().port();
    server_ = std::make_unique<Poco::Net::HTTPServer>(new Factory(*this), *socket_, params);
    server_->start();
  }
  ~StatsTestCollector() {
    hold_ = std::chrono::milliseconds(0);
    server_->stopAll(true);
  }

  std::string url(const std::string& scheme = "http", const std::string& host = "127.0.0.1") {
    return scheme + "://" + host + ":" + std::to_string(port_) + "/collect?site=test";
  }
  void answer(int status) { status_ = status; }
  // Keeps each request this long before answering (a collector that hangs).
  void hold(std::chrono::milliseconds d) { hold_ = d; }

  struct Request {
    std::string method, uri, contentType, body;
  };
  std::vector<Request> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  std::size_t count() {
    std::lock_guard lock(mutex_);
    return requests_.size();
  }

 private:
  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(StatsTestCollector& c) : c_(c) {}
    void handleRequest(Poco::Net::HTTPServerRequest& req,
                       Poco::Net::HTTPServerResponse& resp) override {
      Request r{req.getMethod(), req.getURI(), req.getContentType(), ""};
      Poco::StreamCopier::copyToString(req.stream(), r.body);
      {
        std::lock_guard lock(c_.mutex_);
        c_.requests_.push_back(r);
      }
      auto until = std::chrono::steady_clock::now() + c_.hold_.load();
      while (std::chrono::steady_clock::now() < until && c_.hold_.load().count() > 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      resp.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(c_.status_.load()));
      resp.setContentType("application/json");
      resp.send() << "{\"secret\":\"collector answer\"}";
    }

   private:
    StatsTestCollector& c_;
  };
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(StatsTestCollector& c) : c_(c) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(c_);
    }

   private:
    StatsTestCollector& c_;
  };

  std::unique_ptr<Poco::Net::ServerSocket> socket_;
  std::unique_ptr<Poco::Net::HTTPServer> server_;
  std::uint16_t port_ = 0;
  std::atomic<int> status_{200};
  std::atomic<std::chrono::milliseconds> hold_{std::chrono::milliseconds(0)};
  std::mutex mutex_;
  std::vector<Request> requests_;
};

}  // namespace bccsink::test
