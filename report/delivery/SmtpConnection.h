#pragma once
// The transport under SmtpClient: one connection to an SMTP server over TCP or a unix
// socket, upgraded to TLS on request (RFC 3207), commands out and replies in (RFC 5321
// §4.2). Every wait is bounded. A failure is thrown as SmtpFailure, which SmtpClient turns
// into a DeliveryResult; nothing else escapes (Poco's exceptions are caught here).

#include <Poco/Net/Context.h>
#include <Poco/Net/StreamSocket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "report/delivery/DeliveryResult.h"

namespace bccsink::report {

// One reply: its code and the text of each line after "250-" / "250 ".
struct SmtpReply {
  int code = 0;
  std::vector<std::string> lines;

  // "250 first line second line", made printable and bounded for a reason.
  std::string text() const;
};

// Why a conversation ends early.
struct SmtpFailure {
  Outcome outcome = Outcome::TempFail;
  std::string reason;
  bool quit = false;  // the dialogue is still in step: say QUIT before closing
};

[[noreturn]] void throwSmtpFailure(Outcome outcome, std::string reason, bool quit);

// How much of a server's text a reason shows (printableAscii, base/Text.h): a reason may
// reach a mail header, the queue's report_error, a log line or JSON, and SMTP replies are
// ASCII (RFC 5321 section 4.2).
constexpr std::size_t kMaxServerText = 300;

class SmtpConnection {
 public:
  // `ioTimeout` bounds each send and the TLS handshake.
  explicit SmtpConnection(std::chrono::milliseconds ioTimeout) : ioTimeout_(ioTimeout) {}

  // To the unix socket `path`, or else to each address of `host` in turn (a name is
  // resolved now) until one answers within `timeout`.
  void connect(const std::string& host, std::uint16_t port, const std::string& path,
               std::chrono::milliseconds timeout);

  // Names the step in progress for reasons ("RCPT TO:<a@b>", "AUTH PLAIN", "the greeting").
  void setStep(std::string step) { step_ = std::move(step); }
  const std::string& step() const { return step_; }

  void send(std::string_view bytes);
  // One whole reply, multi-line included; `timeout` is for all of it.
  SmtpReply reply(std::chrono::milliseconds timeout);

  // The TLS handshake on this connection, after the server's 220 to STARTTLS; `peerName`
  // is checked against the certificate (when the context verifies).
  void startTls(const std::string& peerName, Poco::Net::Context::Ptr context);

  bool tls() const { return tls_; }
  // A unix socket or a loopback address: the link does not leave this host.
  bool local() const { return local_; }

 private:
  std::string readLine(std::chrono::steady_clock::time_point deadline,
                       std::chrono::milliseconds timeout);

  std::chrono::milliseconds ioTimeout_;
  Poco::Net::StreamSocket socket_;
  std::string in_;    // received, not yet read as a reply
  std::string step_;  // for reasons
  bool tls_ = false;
  bool local_ = false;
};

}  // namespace bccsink::report
