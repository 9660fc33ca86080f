#pragma once
// The socket shell around SmtpSession: a TCP or unix listening socket served by a few
// event-loop threads (ListenerLoop) with non-blocking sockets, so that an idle or slow
// connection costs memory only and hundreds of MTA connections are not hundreds of
// threads. 421 over BccMaxConnections, 554 for clients outside BccAllowedClients, 421 on
// timeouts and at shutdown, STARTTLS with non-blocking OpenSSL (TlsChannel).

#include <Poco/Net/Context.h>
#include <Poco/Net/ServerSocket.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/Cidr.h"
#include "base/tls/TlsProfile.h"
#include "sink/smtp/SmtpSession.h"

namespace bccsink {

class MessageStore;
class ListenerLoop;
struct ListenerShared;

struct ServerSettings {
  std::string socket;  // HOST:PORT or unix:PATH
  unsigned maxConnections = 100;
  std::vector<Cidr> allowedClients;
  std::chrono::seconds commandTimeout{300};
  std::chrono::seconds dataTimeout{180};
  std::string tlsCertificate;
  std::string tlsKey;
  TlsProfile tlsProfile;  // TlsCiphers, TlsMinVersion
  // Event-loop threads. Each serves any number of connections; two keep both cores of a
  // small machine busy with TLS and parsing while the group committer syncs.
  unsigned loops = 2;
  SessionSettings session;
};

class SmtpServer {
 public:
  // Binds at once; throws with a readable message when it cannot.
  SmtpServer(ServerSettings settings, MessageStore& store);
  ~SmtpServer();
  SmtpServer(const SmtpServer&) = delete;
  SmtpServer& operator=(const SmtpServer&) = delete;
  // Starts the loop threads; connections are accepted from now on.
  void start();
  // Stops accepting, tells every session 421 4.3.2 (after the reply to a commit in
  // flight), closes them and joins the threads.
  void stop();
  // The bound address, e.g. "127.0.0.1:2525" (port 0 in the settings picks a free one).
  std::string boundAddress() const;

 private:
  ServerSettings settings_;
  Poco::Net::Context::Ptr tls_;
  Poco::Net::ServerSocket socket_;
  std::unique_ptr<ListenerShared> shared_;
  std::vector<std::unique_ptr<ListenerLoop>> loops_;
  std::string bound_;
};

}  // namespace bccsink
