#pragma once
// A scripted SMTP server for client tests, in the manner of Poco's DialogServer: it takes
// one connection (TCP on 127.0.0.1, port 0, or a unix socket), sends scripted replies and
// records what the client sent.
//
// The script is a list of replies. The first is the greeting; before each later one the
// server reads one client input: a command line, or after a "354" reply the whole data
// block up to and including "\r\n.\r\n". Special entries:
//   "!tls"   upgrade to TLS now (after the scripted "220" to STARTTLS), with `tls`
//   "!hang"  answer nothing more; just read until the client goes away
//   "!close" close the connection now
// After the script the server answers QUIT with 221 and reads until the client closes.

#include <Poco/Net/Context.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <sys/socket.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace bccsink::test {

class ScriptedSmtpServer {
 public:
  explicit ScriptedSmtpServer(std::vector<std::string> script,
                              Poco::Net::Context::Ptr tls = nullptr, std::string unixPath = "")
      : script_(std::move(script)), tls_(std::move(tls)) {
    if (unixPath.empty()) {
      server_.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true);
      address_ = "127.0.0.1:" + std::to_string(server_.address().port());
    } else {
      server_.bind(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, unixPath));
      address_ = "unix:" + unixPath;
    }
    server_.listen(4);
    thread_ = std::thread([this] { run(); });
  }
  ~ScriptedSmtpServer() { join(); }

  // For SmtpSettings::server.
  const std::string& address() const { return address_; }

  // What the client sent, one entry per command line (no CRLF), a data block as one
  // entry. Waits for the conversation to end.
  const std::vector<std::string>& received() {
    join();
    return received_;
  }
  // Whether the TLS upgrade completed on the server's side.
  bool tlsDone() {
    join();
    return tlsDone_;
  }

 private:
  void join() {
    if (thread_.joinable()) thread_.join();
  }

  void run() {
    try {
      converse();
    } catch (const Poco::Exception&) {
      // The client went away or the TLS handshake failed: the test looks at the result.
    }
    try {
      socket_.close();
    } catch (const Poco::Exception&) {
    }
  }

  void converse() {
    if (!server_.poll(Poco::Timespan(10, 0), Poco::Net::Socket::SELECT_READ)) return;
    socket_ = server_.acceptConnection();
    socket_.setReceiveTimeout(Poco::Timespan(10, 0));
    bool first = true;
    for (const auto& entry : script_) {
      if (entry == "!tls") {
        in_.clear();
        socket_ = Poco::Net::SecureStreamSocket::attach(socket_, tls_);
        tlsDone_ = true;
        continue;
      }
      if (entry == "!hang") break;
      if (entry == "!close") return;
      if (!first && !readInput()) return;
      first = false;
      send(entry);
    }
    // The rest: QUIT gets its 221, anything else is recorded; until the client closes.
    lastReply_.clear();
    while (readInput()) {
      if (!received_.empty() && received_.back() == "QUIT") send("221 2.0.0 bye");
    }
  }

  void send(const std::string& reply) {
    lastReply_ = reply;
    std::string bytes = reply + "\r\n";
    socket_.sendBytes(bytes.data(), static_cast<int>(bytes.size()), MSG_NOSIGNAL);
  }

  // One command line, or the data block after a 354; false at the end of the connection.
  bool readInput() {
    const bool data = lastReply_.rfind("354", 0) == 0;
    const std::string end = data ? "\r\n.\r\n" : "\r\n";
    while (true) {
      std::size_t at = std::string::npos;
      if (data && in_.rfind(".\r\n", 0) == 0) {
        at = 0;  // an empty message: the block is only the final dot
      } else {
        at = in_.find(end);
        if (at != std::string::npos && data) at += 2;  // keep the CRLF before the dot
      }
      if (at != std::string::npos) {
        std::size_t take = data ? at + 3 : at;
        received_.push_back(in_.substr(0, take));
        in_.erase(0, data ? take : at + 2);
        lastReply_.clear();
        return true;
      }
      char buf[4096];
      int n = socket_.receiveBytes(buf, sizeof buf);
      if (n <= 0) return false;
      in_.append(buf, static_cast<std::size_t>(n));
    }
  }

  std::vector<std::string> script_;
  Poco::Net::Context::Ptr tls_;
  Poco::Net::ServerSocket server_;
  Poco::Net::StreamSocket socket_;
  std::string address_;
  std::string in_;
  std::string lastReply_;
  std::vector<std::string> received_;
  bool tlsDone_ = false;
  std::thread thread_;
};

}  // namespace bccsink::test
