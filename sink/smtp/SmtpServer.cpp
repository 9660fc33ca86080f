#include "sink/smtp/SmtpServer.h"

#include <Poco/File.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/StreamSocket.h>

#include <algorithm>
#include <stdexcept>

#include "base/tls/TlsProfile.h"
#include "sink/smtp/ListenerLoop.h"

namespace bccsink {
namespace {

constexpr int kBacklog = 1024;

// A socket file left by an earlier run is removed; one that still takes connections
// belongs to a live daemon, which must not lose it.
void removeStaleSocket(const std::string& setting, const std::string& path) {
  Poco::File f(path);
  if (!f.exists()) return;
  bool live = false;
  try {
    Poco::Net::StreamSocket probe;
    probe.connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, path),
                  Poco::Timespan(1, 0));
    live = true;
  } catch (const Poco::Exception&) {
  }
  if (live) {
    throw std::runtime_error("BccSocket " + setting + ": in use (a running daemon answers on it)");
  }
  f.remove();
}

}  // namespace

SmtpServer::SmtpServer(ServerSettings settings, MessageStore& store)
    : settings_(std::move(settings)), shared_(std::make_unique<ListenerShared>()) {
  auto& st = settings_;
  if (!st.tlsCertificate.empty()) {
    try {
      tls_ = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, st.tlsKey,
                                    st.tlsCertificate, "", Poco::Net::Context::VERIFY_NONE);
    } catch (const Poco::Exception& e) {
      throw std::runtime_error("BccTlsCertificate/BccTlsKey: " + e.displayText());
    }
    applyTlsProfile(*tls_, st.tlsProfile);  // TLS 1.2+, ECDHE only by default
    st.session.tlsAvailable = true;
  }
  try {
    if (st.socket.rfind("unix:", 0) == 0) {
      std::string path = st.socket.substr(5);
      removeStaleSocket(st.socket, path);
      socket_.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, path));
      socket_.listen(kBacklog);
      shared_->unixSocket = true;
      bound_ = st.socket;
    } else {
      // SO_REUSEADDR (a restart binds at once) but not SO_REUSEPORT, which would let a
      // second daemon share the port silently.
      socket_.bind(Poco::Net::SocketAddress(st.socket), true, false);
      socket_.listen(kBacklog);
      bound_ = socket_.address().toString();
    }
    socket_.setBlocking(false);  // loops race for each connection; the losers get EAGAIN
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("BccSocket " + st.socket + ": " + e.displayText());
  }
  shared_->settings = &settings_;
  // Reserved slots only mean something when some clients are not allowed; a unix
  // socket's clients are local processes, counted in all but not per address.
  shared_->limiter = std::make_unique<ConnectionLimiter>(
      SlotLimits{st.maxConnections, st.maxConnectionsPerIp,
                 st.allowedClients.empty() ? 0u : st.reservedConnections});
  shared_->listenFd = socket_.impl()->sockfd();
  auto& c = shared_->context;
  c.session = &settings_.session;
  c.store = &store;
  c.tls = tls_ ? tls_->sslContext() : nullptr;
  c.commandTimeout = st.commandTimeout;
  c.dataTimeout = st.dataTimeout;
  c.sessionTimeout = st.sessionTimeout;
  c.minDataRate = st.minDataRate;
  c.sendTimeout = st.sendTimeout;
  for (unsigned i = 0; i < std::max(1u, st.loops); ++i) {
    loops_.push_back(std::make_unique<ListenerLoop>(*shared_));
  }
}

SmtpServer::~SmtpServer() {
  stop();
}

void SmtpServer::start() {
  for (auto& loop : loops_) loop->start();
}

void SmtpServer::stop() {
  for (auto& loop : loops_) loop->stop();
  for (auto& loop : loops_) loop->join();
  loops_.clear();
  socket_.close();
}

std::string SmtpServer::boundAddress() const {
  return bound_;
}

}  // namespace bccsink
