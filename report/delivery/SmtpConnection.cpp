#include "report/delivery/SmtpConnection.h"

#include <Poco/Exception.h>
#include <Poco/Net/DNS.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Timespan.h>

#include <algorithm>
#include <cstring>

#include "base/Text.h"

namespace bccsink::report {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t kMaxReplyLine = 4096;  // RFC 5321 §4.5.3.1.5 says 512; be lenient
constexpr std::size_t kMaxReplyLines = 200;  // an EHLO list longer than this is hostile

Poco::Timespan span(milliseconds ms) {
  // 0 would mean "no timeout" to the socket.
  return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(std::max<long long>(ms.count(), 1)) *
                        1000);
}

std::string secondsText(milliseconds ms) {
  return std::to_string(ms.count() / 1000) + "." + std::to_string(ms.count() % 1000 / 100) + " s";
}

// Poco puts errno in code() for socket errors; its displayText() is then often the number.
std::string describe(const Poco::Exception& e) {
  if (e.code() > 0 && e.code() < 4096) return std::strerror(e.code());
  return printableAscii(e.displayText(), kMaxServerText);
}

}  // namespace

std::string SmtpReply::text() const {
  std::string s = std::to_string(code);
  for (const auto& line : lines) s += " " + line;
  return printableAscii(s, kMaxServerText);
}

void throwSmtpFailure(Outcome outcome, std::string reason, bool quit) {
  throw SmtpFailure{outcome, std::move(reason), quit};
}

void SmtpConnection::connect(const std::string& host, std::uint16_t port, const std::string& path,
                             milliseconds timeout) {
  step_ = "connecting";
  if (!path.empty()) {
    try {
      socket_.connect(Poco::Net::SocketAddress(Poco::Net::SocketAddress::UNIX_LOCAL, path),
                      span(timeout));
    } catch (const Poco::TimeoutException&) {
      throwSmtpFailure(Outcome::TempFail, "no connection within " + secondsText(timeout), false);
    } catch (const Poco::Exception& e) {
      throwSmtpFailure(Outcome::TempFail, "cannot connect: " + describe(e), false);
    }
    local_ = true;
  } else {
    std::vector<Poco::Net::IPAddress> addresses;
    Poco::Net::IPAddress literal;
    if (Poco::Net::IPAddress::tryParse(host, literal)) {
      addresses.push_back(literal);
    } else {
      try {
        addresses = Poco::Net::DNS::hostByName(host).addresses();
      } catch (const Poco::Exception& e) {
        throwSmtpFailure(Outcome::TempFail, "cannot resolve " + host + ": " + describe(e), false);
      }
    }
    std::string errors;
    bool connected = false;
    for (const auto& address : addresses) {
      try {
        Poco::Net::StreamSocket s;
        s.connect(Poco::Net::SocketAddress(address, port), span(timeout));
        socket_ = s;
        local_ = address.isLoopback();
        connected = true;
        break;
      } catch (const Poco::TimeoutException&) {
        errors += (errors.empty() ? "" : "; ") + address.toString() + ": no connection within " +
                  secondsText(timeout);
      } catch (const Poco::Exception& e) {
        errors += (errors.empty() ? "" : "; ") + address.toString() + ": " + describe(e);
      }
    }
    if (!connected)
      throwSmtpFailure(Outcome::TempFail,
                       "cannot connect: " + (errors.empty() ? "no address" : errors), false);
  }
  socket_.setSendTimeout(span(ioTimeout_));
}

void SmtpConnection::send(std::string_view bytes) {
  while (!bytes.empty()) {
    int n = 0;
    try {
      n = socket_.sendBytes(bytes.data(),
                            static_cast<int>(std::min<std::size_t>(bytes.size(), 1 << 20)));
    } catch (const Poco::TimeoutException&) {
      throwSmtpFailure(
          Outcome::TempFail,
          "the server took nothing for " + secondsText(ioTimeout_) + " while we sent " + step_,
          false);
    } catch (const Poco::Exception& e) {
      throwSmtpFailure(Outcome::TempFail, "connection lost sending " + step_ + ": " + describe(e),
                       false);
    }
    if (n <= 0) throwSmtpFailure(Outcome::TempFail, "connection lost sending " + step_, false);
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string SmtpConnection::readLine(Clock::time_point deadline, milliseconds timeout) {
  while (true) {
    if (auto lf = in_.find('\n'); lf != std::string::npos && lf <= kMaxReplyLine) {
      std::string line = in_.substr(0, lf);
      in_.erase(0, lf + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (in_.size() > kMaxReplyLine)
      throwSmtpFailure(Outcome::TempFail, "a reply line to " + step_ + " is too long", false);
    auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    int n = 0;
    char buf[4096];
    try {
      if (left.count() <= 0) throw Poco::TimeoutException();
      // Set before each read: a server that drips a byte at a time still ends by deadline.
      socket_.setReceiveTimeout(span(left));
      n = socket_.receiveBytes(buf, sizeof buf);
    } catch (const Poco::TimeoutException&) {
      throwSmtpFailure(Outcome::TempFail,
                       "no reply to " + step_ + " within " + secondsText(timeout), false);
    } catch (const Poco::Exception& e) {
      throwSmtpFailure(Outcome::TempFail,
                       "connection lost waiting for the reply to " + step_ + ": " + describe(e),
                       false);
    }
    if (n <= 0)
      throwSmtpFailure(Outcome::TempFail,
                       "the server closed the connection instead of answering " + step_, false);
    in_.append(buf, static_cast<std::size_t>(n));
  }
}

// RFC 5321 §4.2.1: "250-" continues a reply, "250 " (or a bare "250") ends it, and every
// line carries the same code; §4.2: the first digit is 2 to 5.
SmtpReply SmtpConnection::reply(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  SmtpReply r;
  while (true) {
    std::string line = readLine(deadline, timeout);
    bool digits = line.size() >= 3 && std::all_of(line.begin(), line.begin() + 3,
                                                  [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || line[0] < '2' || line[0] > '5' ||
        (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
      throwSmtpFailure(
          Outcome::TempFail,
          "not an SMTP reply to " + step_ + ": '" + printableAscii(line, kMaxServerText) + "'",
          false);
    }
    int code = std::stoi(line.substr(0, 3));
    if (r.lines.empty()) r.code = code;
    if (code != r.code)
      throwSmtpFailure(Outcome::TempFail, "the reply to " + step_ + " mixes codes", false);
    r.lines.push_back(line.size() > 4 ? line.substr(4) : "");
    if (line.size() == 3 || line[3] == ' ') return r;
    if (r.lines.size() > kMaxReplyLines)
      throwSmtpFailure(Outcome::TempFail, "the reply to " + step_ + " does not end", false);
  }
}

void SmtpConnection::startTls(const std::string& peerName, Poco::Net::Context::Ptr context) {
  // RFC 3207 §5: nothing the server sent before the handshake may be taken as sent under
  // TLS (a reply injected behind the 220 would be).
  in_.clear();
  step_ = "the TLS handshake";
  try {
    socket_.setReceiveTimeout(span(ioTimeout_));  // bounds the handshake too
    socket_ = Poco::Net::SecureStreamSocket::attach(socket_, peerName, context);
  } catch (const Poco::Exception& e) {
    throwSmtpFailure(Outcome::TempFail,
                     "TLS handshake failed: " + printableAscii(e.displayText(), kMaxServerText),
                     false);
  }
  tls_ = true;
}

}  // namespace bccsink::report
