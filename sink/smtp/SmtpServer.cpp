#include "sink/smtp/SmtpServer.h"

#include <Poco/File.h>
#include <Poco/Logger.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <poll.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>

namespace bccsink {
namespace {

using Poco::Net::StreamSocket;

constexpr std::size_t kReadBuffer = 64 * 1024;
// Threads beyond BccMaxConnections, so that the connection one too many still gets a
// thread to be told 421 instead of waiting in Poco's queue.
constexpr int kSpareThreads = 16;
// How often a waiting session looks at the stop flag.
constexpr int kPollSliceMs = 250;

class SmtpConnection : public Poco::Net::TCPServerConnection {
 public:
  SmtpConnection(const StreamSocket& s, std::shared_ptr<SmtpServer::Shared> shared)
      : TCPServerConnection(s), shared_(std::move(shared)) {}

  void run() override {
    auto& log = Poco::Logger::get("bccsink.smtp");
    StreamSocket io = socket();
    std::string client = shared_->unixSocket ? "127.0.0.1" : peerHost(io);
    int active = ++shared_->active;
    struct Release {
      std::atomic<int>& n;
      ~Release() { --n; }
    } release{shared_->active};
    try {
      io.setNoDelay(true);
    } catch (...) {
    }
    try {
      if (active > static_cast<int>(shared_->settings.maxConnections)) {
        log.warning("refused client=%s reason=too-many-connections (%d)", client, active - 1);
        if (auto* c = shared_->settings.session.counters) c->refuse(Refusal::Connections);
        sendAll(io, "421 4.3.2 " + shared_->settings.session.hostname +
                        " Too many connections, try again later\r\n");
        return;
      }
      bool allowed = shared_->unixSocket || isAllowed(client);
      if (!allowed) log.warning("refused client=%s reason=not-in-BccAllowedClients", client);
      SmtpSession session(shared_->settings.session, shared_->store, client, allowed);
      sendAll(io, session.greeting());
      serve(io, session);
    } catch (const Poco::Exception& e) {
      log.information("session client=%s ended: %s", client, e.displayText());
    } catch (const std::exception& e) {
      log.error("session client=%s failed: %s", client, std::string(e.what()));
    }
  }

 private:
  static std::string peerHost(StreamSocket& s) {
    try {
      return s.peerAddress().host().toString();
    } catch (...) {
      return "unknown";
    }
  }

  bool isAllowed(const std::string& client) const {
    const auto& list = shared_->settings.allowedClients;
    if (list.empty()) return true;
    for (const auto& c : list) {
      if (c.contains(client)) return true;
    }
    return false;
  }

  static void sendAll(StreamSocket& s, const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      int n = s.sendBytes(data.data() + done, static_cast<int>(data.size() - done));
      if (n <= 0) throw Poco::Net::NetException("send failed");
      done += static_cast<std::size_t>(n);
    }
  }

  // Waits for bytes from the client in short slices, so that a stopping server is
  // noticed at once and an idle client is told 421 after its timeout. One poll(2) per
  // slice: Poco's Socket::poll makes an epoll instance per call.
  enum class Wait { Readable, TimedOut, Stopping };
  Wait waitReadable(StreamSocket& io, bool tls, std::chrono::seconds timeout) {
    // available() counts bytes TLS has already decrypted, which poll() cannot see.
    if (tls && io.available() > 0) return Wait::Readable;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    pollfd p{io.impl()->sockfd(), POLLIN, 0};
    while (true) {
      if (shared_->stopping) return Wait::Stopping;
      int rc = ::poll(&p, 1, kPollSliceMs);
      if (rc > 0) return Wait::Readable;  // data, end of stream or an error: recv tells
      if (rc < 0 && errno != EINTR) throw Poco::Net::NetException("poll failed");
      if (std::chrono::steady_clock::now() >= deadline) return Wait::TimedOut;
    }
  }

  void serve(StreamSocket& io, SmtpSession& session) {
    std::string buf(kReadBuffer, '\0');
    const auto& st = shared_->settings;
    bool tls = false;
    std::chrono::seconds receiveTimeout{0};
    while (!session.closing()) {
      auto timeout = session.inData() ? st.dataTimeout : st.commandTimeout;
      switch (waitReadable(io, tls, timeout)) {
        case Wait::Stopping:
          sendAll(io, "421 4.3.2 " + st.session.hostname + " Service shutting down\r\n");
          return;
        case Wait::TimedOut:
          sendAll(io, session.timeout());
          return;
        case Wait::Readable:
          break;
      }
      // A guard for TLS records that poll() saw but that hold no application data.
      if (timeout != receiveTimeout) {
        io.setReceiveTimeout(Poco::Timespan(static_cast<long>(timeout.count()), 0));
        receiveTimeout = timeout;
      }
      int n = 0;
      try {
        n = io.receiveBytes(buf.data(), static_cast<int>(buf.size()));
      } catch (const Poco::TimeoutException&) {
        sendAll(io, session.timeout());
        return;
      }
      if (n <= 0) return;  // the client went away; an unfinished message is discarded
      session.feed(std::string_view(buf.data(), static_cast<std::size_t>(n)));
      if (!session.output().empty()) {
        sendAll(io, session.output());
        session.output().clear();
      }
      if (session.tlsPending()) {
        io = Poco::Net::SecureStreamSocket::attach(io, shared_->tls);
        tls = true;
        receiveTimeout = std::chrono::seconds{0};
        session.tlsStarted();
      }
    }
  }

  std::shared_ptr<SmtpServer::Shared> shared_;
};

class Factory : public Poco::Net::TCPServerConnectionFactory {
 public:
  explicit Factory(std::shared_ptr<SmtpServer::Shared> shared) : shared_(std::move(shared)) {}
  Poco::Net::TCPServerConnection* createConnection(const StreamSocket& socket) override {
    return new SmtpConnection(socket, shared_);
  }

 private:
  std::shared_ptr<SmtpServer::Shared> shared_;
};

}  // namespace

SmtpServer::SmtpServer(ServerSettings settings, MessageStore& store)
    : shared_(std::make_shared<Shared>(std::move(settings), store)),
      pool_(2, static_cast<int>(shared_->settings.maxConnections) + kSpareThreads, 60) {
  auto& st = shared_->settings;
  if (!st.tlsCertificate.empty()) {
    try {
      shared_->tls = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, st.tlsKey,
                                            st.tlsCertificate, "", Poco::Net::Context::VERIFY_NONE);
      shared_->tls->disableProtocols(
          Poco::Net::Context::PROTO_SSLV2 | Poco::Net::Context::PROTO_SSLV3 |
          Poco::Net::Context::PROTO_TLSV1 | Poco::Net::Context::PROTO_TLSV1_1);
    } catch (const Poco::Exception& e) {
      throw std::runtime_error("BccTlsCertificate/BccTlsKey: " + e.displayText());
    }
    st.session.tlsAvailable = true;
  }
  Poco::Net::ServerSocket socket;
  try {
    if (st.socket.rfind("unix:", 0) == 0) {
      std::string path = st.socket.substr(5);
      Poco::File f(path);
      if (f.exists()) {
        // A socket file left by an earlier run is removed; one that still takes
        // connections belongs to a live daemon, which must not lose it.
        bool live = false;
        try {
          Poco::Net::StreamSocket probe;
          probe.connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, path),
                        Poco::Timespan(1, 0));
          live = true;
        } catch (const Poco::Exception&) {
        }
        if (live) {
          throw std::runtime_error("BccSocket " + st.socket +
                                   ": in use (a running daemon answers on it)");
        }
        f.remove();
      }
      socket.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, path));
      socket.listen(1024);
      shared_->unixSocket = true;
      bound_ = st.socket;
    } else {
      // SO_REUSEADDR (a restart binds at once) but not SO_REUSEPORT, which would let a
      // second daemon share the port silently.
      socket.bind(Poco::Net::SocketAddress(st.socket), true, false);
      socket.listen(1024);
      bound_ = socket.address().toString();
    }
  } catch (const Poco::Exception& e) {
    throw std::runtime_error("BccSocket " + st.socket + ": " + e.displayText());
  }
  auto params = new Poco::Net::TCPServerParams;
  params->setMaxThreads(static_cast<int>(st.maxConnections) + kSpareThreads);
  params->setMaxQueued(4096);
  server_ = std::make_unique<Poco::Net::TCPServer>(new Factory(shared_), pool_, socket, params);
}

SmtpServer::~SmtpServer() {
  stop();
}

void SmtpServer::start() {
  server_->start();
}

void SmtpServer::stop() {
  if (server_) {
    shared_->stopping = true;
    server_->stop();
    pool_.joinAll();
    server_.reset();
  }
}

std::string SmtpServer::boundAddress() const {
  return bound_;
}

}  // namespace bccsink
