#pragma once
// The socket shell around SmtpSession: a TCP or unix listening socket served by a few
// event-loop threads (ListenerLoop) with non-blocking sockets, so that an idle or slow
// connection costs memory only and hundreds of MTA connections are not hundreds of
// threads. 421 over BccMaxConnections or BccMaxConnectionsPerIp, 554 (and close) for
// clients outside BccAllowedClients, the last BccReservedConnections kept for those
// inside, 421 on timeouts, a session's end and too slow a client, a close for one that
// does not read, 421 at shutdown, STARTTLS with non-blocking OpenSSL (TlsChannel).

#include <Poco/Net/Context.h>
#include <Poco/Net/ServerSocket.h>

#include <chrono>
#include <cstdint>
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
  // Issue 18: the bounds on one client; 0 = none (the configuration's defaults are not).
  unsigned maxConnectionsPerIp = 0;
  unsigned reservedConnections = 0;  // for allowedClients, when it is not empty
  std::chrono::seconds sessionTimeout{0};
  std::uint64_t minDataRate = 0;  // bytes/s
  std::chrono::seconds sendTimeout{0};
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
