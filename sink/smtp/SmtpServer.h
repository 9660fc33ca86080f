#pragma once
// The socket shell around SmtpSession: a Poco TCPServer on TCP or a unix socket, a
// thread pool of our own size, 421 when over BccMaxConnections (Poco would close such
// connections without a word), the client allow-list, timeouts and STARTTLS.

#include <Poco/Net/Context.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/ThreadPool.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "base/Cidr.h"
#include "sink/smtp/SmtpSession.h"

namespace bccsink {

class MessageStore;

struct ServerSettings {
  std::string socket;  // HOST:PORT or unix:PATH
  unsigned maxConnections = 100;
  std::vector<Cidr> allowedClients;
  std::chrono::seconds commandTimeout{300};
  std::chrono::seconds dataTimeout{180};
  std::string tlsCertificate;
  std::string tlsKey;
  SessionSettings session;
};

class SmtpServer {
 public:
  // Binds at once; throws with a readable message when it cannot.
  SmtpServer(ServerSettings settings, MessageStore& store);
  ~SmtpServer();
  void start();
  // Stops accepting and waits for the sessions to end.
  void stop();
  // The bound address, e.g. "127.0.0.1:2525" (port 0 in the settings picks a free one).
  std::string boundAddress() const;

  // Shared with the connections.
  struct Shared {
    Shared(ServerSettings s, MessageStore& m) : settings(std::move(s)), store(m) {}
    ServerSettings settings;
    MessageStore& store;
    Poco::Net::Context::Ptr tls;
    std::atomic<int> active{0};
    std::atomic<bool> stopping{false};
    bool unixSocket = false;
  };

 private:
  std::shared_ptr<Shared> shared_;
  Poco::ThreadPool pool_;
  std::unique_ptr<Poco::Net::TCPServer> server_;
  std::string bound_;
};

}  // namespace bccsink
