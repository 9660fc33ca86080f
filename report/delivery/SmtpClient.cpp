#include "report/delivery/SmtpClient.h"

#include <Poco/Exception.h>
#include <Poco/Net/SSLManager.h>
#include <signal.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <mutex>
#include <stdexcept>

#include "base/Text.h"
#include "report/delivery/SmtpConnection.h"

namespace bccsink::report {
namespace {

constexpr std::size_t kMaxCommand = 512;                 // RFC 5321 §4.5.3.1.4, CRLF included
constexpr std::size_t kMaxPath = 256;                    // RFC 5321 §4.5.3.1.3
constexpr std::chrono::milliseconds kQuitTimeout{2000};  // QUIT is a courtesy: do not wait long

std::once_flag sslOnce;

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  auto byte = [&](std::size_t i) { return i < in.size() ? static_cast<unsigned char>(in[i]) : 0u; };
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += i + 1 < in.size() ? kAlphabet[v >> 6 & 63] : '=';
    out += i + 2 < in.size() ? kAlphabet[v & 63] : '=';
  }
  return out;
}

// RFC 5321 §2.3.8: lines end in CRLF and nothing else. A bare CR or LF becomes CRLF, so
// no server can see an end of data that we did not send (SMTP smuggling).
std::string crlfText(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 32 + 2);
  for (std::size_t i = 0; i < message.size(); ++i) {
    char c = message[i];
    if (c == '\r' || c == '\n') {
      out += "\r\n";
      if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ++i;
    } else {
      out += c;
    }
  }
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  return out;
}

// What follows the 354 for `text`, whose line ends are CRLF already (crlfText): a '.'
// doubled at the start of each line (RFC 5321 §4.5.2), then ".\r\n".
std::string dotStuffed(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 64 + 3);
  bool lineStart = true;
  for (char c : text) {
    if (lineStart && c == '.') out += '.';  // transparency
    out += c;
    lineStart = c == '\n';
  }
  return out + ".\r\n";
}

// Blocks SIGPIPE on this thread for its lifetime and swallows one that our writes raised
// (the way libpq does it): Poco's TLS writes cannot pass MSG_NOSIGNAL.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
    sigset_t pending;
    sigpending(&pending);
    wasPending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (!wasPending_ && sigismember(&pending, SIGPIPE) == 1) {
      timespec zero{};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool wasPending_ = false;
};

}  // namespace

// One connection: one message, or several with a RelayChannel.
class Session {
 public:
  Session(const SmtpSettings& settings, const std::string& host, std::uint16_t port,
          const std::string& socketPath, Poco::Net::Context::Ptr context)
      : st_(settings),
        host_(host),
        port_(port),
        path_(socketPath),
        context_(context),
        conn_(settings.replyTimeout) {}

  // One message to `envelope`'s recipients. `replay`: SMTP mode's re-injection, with the
  // envelope's parameters and XFORWARD (relay()); otherwise a report (send()).
  void transaction(const RelayEnvelope& envelope, bool replay, const std::string& message,
                   DeliveryResult& result) {
    if (!opened_) open();
    SmtpReply r;
    const std::string text = crlfText(message);
    auto size = ext_.find("SIZE");
    if (size != ext_.end()) {  // RFC 1870 §4: a limit of 0 or none means no fixed limit
      std::uint64_t limit = 0;
      std::from_chars(size->second.data(), size->second.data() + size->second.size(), limit);
      if (limit > 0 && text.size() > limit) {
        throwSmtpFailure(Outcome::PermFail,
                         std::string(replay ? "the message" : "the report") + " is " +
                             std::to_string(text.size()) + " bytes, the server takes at most " +
                             std::to_string(limit) + " (SIZE, RFC 1870)",
                         true);
      }
    }
    if (replay) xforward(envelope);
    const bool dsn = replay && ext_.count("DSN") > 0;  // RFC 3461
    std::string mail = "MAIL FROM:<" + envelope.sender + ">";
    if (size != ext_.end()) mail += " SIZE=" + std::to_string(text.size());  // RFC 1870 §6
    if (replay && !envelope.body.empty() && ext_.count("8BITMIME") > 0)
      mail += " BODY=" + envelope.body;  // RFC 6152
    if (dsn && !envelope.ret.empty()) mail += " RET=" + envelope.ret;
    if (dsn && !envelope.envid.empty()) mail += " ENVID=" + envelope.envid;
    if (replay && envelope.smtputf8) {  // RFC 6531 §3.4: no downgrade of the addresses
      if (ext_.count("SMTPUTF8") == 0)
        throwSmtpFailure(Outcome::PermFail,
                         "the message needs SMTPUTF8 and the server does not offer it", true);
      mail += " SMTPUTF8";
    }
    r = exchange(mail, mail);
    if (r.code / 100 != 2) refused(r);

    for (std::size_t i = 0; i < envelope.recipients.size(); ++i) {
      const auto& rcpt = envelope.recipients[i];
      std::string command = "RCPT TO:<" + rcpt.address + ">";
      if (dsn && !rcpt.notify.empty()) command += " NOTIFY=" + rcpt.notify;
      if (dsn && !rcpt.orcpt.empty()) command += " ORCPT=" + rcpt.orcpt;
      r = exchange(command, command);
      if (r.code / 100 == 2) {
        result.accepted.push_back(rcpt.address);
        result.acceptedPositions.push_back(i);
      } else if (r.code == 421) {
        refused(r);
      } else {
        result.rejected.push_back({rcpt.address, r.text(), r.code / 100 == 4, i});
      }
    }
    if (result.accepted.empty()) {
      bool temporary = std::any_of(result.rejected.begin(), result.rejected.end(),
                                   [](const auto& x) { return x.temporary; });
      throwSmtpFailure(temporary ? Outcome::TempFail : Outcome::PermFail,
                       "every recipient was refused: " + rejectedText(result), true);
    }

    r = exchange("DATA", "DATA");
    if (r.code != 354) refused(r);
    conn_.setStep("the message");
    conn_.send(dotStuffed(text));  // `text` is CRLF already: not converted twice
    conn_.setStep("the end of the message");
    r = conn_.reply(st_.replyTimeout);
    if (r.code / 100 != 2) refused(r);
    result.receipt = r.text();
    result.reason = "delivered: " + r.text();
    if (!result.rejected.empty()) result.reason += "; refused: " + rejectedText(result);
  }

  // Connected, greeted, EHLO'd, with TLS and AUTH as the settings want.
  void open() {
    conn_.connect(host_, port_, path_, st_.connectTimeout);
    conn_.setStep("the greeting");
    SmtpReply r = conn_.reply(st_.replyTimeout);
    if (r.code != 220) refused(r);
    hello();
    if (st_.tls == SmtpTls::Required ||
        (st_.tls == SmtpTls::Auto && path_.empty() && ext_.count("STARTTLS") > 0)) {
      startTls();
    }
    if (!st_.password.empty()) authenticate();
    opened_ = true;
  }

  // RFC 5321 §4.1.1.5: the next transaction on this connection starts clean. False when
  // the connection is no longer usable (the server closed it while idle, or refused).
  bool reset() {
    try {
      return exchange("RSET", "RSET").code == 250;
    } catch (const SmtpFailure&) {
      return false;
    }
  }

  // RFC 5321 §4.1.1.10; any failure here changes nothing, the message is decided.
  void quit() {
    try {
      conn_.setStep("QUIT");
      conn_.send("QUIT\r\n");
      conn_.reply(kQuitTimeout);
    } catch (const SmtpFailure&) {
    }
  }

  // What must not appear in a reason: the password and every encoding of it we sent.
  std::vector<std::string> secrets() const {
    std::vector<std::string> out;
    if (st_.password.size() >= 4) out.push_back(st_.password);  // shorter would garble text
    if (!st_.password.empty()) {
      out.push_back(base64(st_.password));
      out.push_back(base64(std::string(1, '\0') + st_.user + '\0' + st_.password));
    }
    return out;
  }

 private:
  // The link does not leave this host (a unix socket, a loopback address).
  bool local() const { return conn_.local() && !st_.loopbackIsNetworkForTest; }

  static std::string rejectedText(const DeliveryResult& result) {
    std::string s;
    for (const auto& x : result.rejected)
      s += (s.empty() ? "<" : ", <") + x.address + "> " + x.reply;
    return s;
  }

  // `label` names the command in reasons: AUTH lines pass only their verb.
  SmtpReply exchange(const std::string& line, const std::string& label) {
    conn_.setStep(label);
    conn_.send(line + "\r\n");
    return conn_.reply(st_.replyTimeout);
  }

  // A reply that stops the message: 5xx permanent, anything else transient. After 421 the
  // server closes the channel (RFC 5321 §3.8), so no QUIT.
  [[noreturn]] void refused(const SmtpReply& r) {
    throwSmtpFailure(r.code / 100 == 5 ? Outcome::PermFail : Outcome::TempFail,
                     conn_.step() + ": " + r.text(), r.code != 421);
  }

  // RFC 5321 §4.1.1.1 and §3.2: EHLO, and HELO from a server that answers EHLO with 5xx.
  void hello() {
    ext_.clear();
    SmtpReply r = exchange("EHLO " + st_.heloName, "EHLO");
    if (r.code / 100 == 5) r = exchange("HELO " + st_.heloName, "HELO");
    if (r.code != 250) refused(r);
    for (std::size_t i = 1; i < r.lines.size(); ++i) {  // the first line is the greeting
      std::string line = r.lines[i];
      auto space = line.find(' ');
      std::string keyword = upper(line.substr(0, space));
      std::string params = space == std::string::npos ? "" : line.substr(space + 1);
      if (keyword.rfind("AUTH=", 0) == 0) {  // the pre-RFC 4954 form some servers still add
        params = line.substr(5);
        keyword = "AUTH";
      }
      auto& slot = ext_[keyword];
      slot += (slot.empty() ? "" : " ") + params;
    }
  }

  // Postfix's XFORWARD_README: the original client's attributes, those the server lists,
  // in as many commands as the 512-byte line limit needs; each must get 250.
  void xforward(const RelayEnvelope& envelope) {
    auto offered = ext_.find("XFORWARD");
    if (offered == ext_.end() || envelope.xforward.empty()) return;
    const std::string names = " " + upper(offered->second) + " ";
    std::string line;
    auto flush = [&] {
      if (line.empty()) return;
      SmtpReply r = exchange("XFORWARD" + line, "XFORWARD");
      if (r.code / 100 != 2) refused(r);
      line.clear();
    };
    for (const auto& [name, value] : envelope.xforward) {
      if (names.find(" " + upper(name) + " ") == std::string::npos) continue;
      if (hasControl(value) || value.find(' ') != std::string::npos) continue;
      const std::string attribute = " " + upper(name) + "=" + value;
      if (std::string("XFORWARD").size() + line.size() + attribute.size() + 2 > kMaxCommand)
        flush();
      if (std::string("XFORWARD").size() + attribute.size() + 2 > kMaxCommand) continue;
      line += attribute;
    }
    flush();
  }

  // RFC 3207 §4: STARTTLS, 220, then the TLS handshake on the same connection.
  void startTls() {
    if (ext_.count("STARTTLS") == 0)
      throwSmtpFailure(Outcome::TempFail,
                       "BccSmtpTls is required but the server does not offer STARTTLS", true);
    SmtpReply r = exchange("STARTTLS", "STARTTLS");
    if (r.code != 220) {
      if (r.code == 421) refused(r);
      if (st_.tls == SmtpTls::Required)
        throwSmtpFailure(Outcome::TempFail, "STARTTLS: " + r.text() + " (BccSmtpTls is required)",
                         true);
      // A password would have to go in clear now: a refusal that may pass (454) is worth
      // a retry, not the configuration error authenticate() would report.
      if (!st_.password.empty() && !local()) refused(r);
      return;  // auto: go on in clear (RFC 3207 §4: the client decides)
    }
    conn_.startTls(path_.empty() ? host_ : "localhost", context_);
    hello();  // RFC 3207 §4.2: forget what was said in clear, ask again
  }

  // RFC 4954: PLAIN (RFC 4616) when offered, else LOGIN. The password goes only over TLS
  // or a link that does not leave the host.
  void authenticate() {
    if (!conn_.tls() && !local()) {
      throwSmtpFailure(
          Outcome::PermFail,
          std::string("BccReporterPassword is set but the connection is not encrypted (") +
              (st_.tls == SmtpTls::No ? "BccSmtpTls=no" : "the server offers no STARTTLS") +
              ") and not to this host: a password is never sent in clear over a network; "
              "set BccSmtpTls=required with a server that offers STARTTLS, or no password",
          true);
    }
    auto auth = ext_.find("AUTH");
    if (auth == ext_.end())
      throwSmtpFailure(Outcome::PermFail,
                       "BccReporterPassword is set but the server offers no AUTH", true);
    std::string mechanisms = " " + upper(auth->second) + " ";
    SmtpReply r;
    if (mechanisms.find(" PLAIN ") != std::string::npos) {
      // RFC 4616 §2: [authzid] NUL authcid NUL passwd; no authzid.
      const std::string token = base64(std::string(1, '\0') + st_.user + '\0' + st_.password);
      if (11 + token.size() + 2 <= kMaxCommand) {
        r = exchange("AUTH PLAIN " + token, "AUTH PLAIN");
      } else {  // RFC 4954 §4: too long for an initial response; wait for the empty challenge
        r = exchange("AUTH PLAIN", "AUTH PLAIN");
        if (r.code == 334) r = exchange(token, "AUTH PLAIN");
      }
    } else if (mechanisms.find(" LOGIN ") != std::string::npos) {
      r = exchange("AUTH LOGIN", "AUTH LOGIN");  // 334 "Username:", 334 "Password:"
      if (r.code == 334) r = exchange(base64(st_.user), "AUTH LOGIN");
      if (r.code == 334) r = exchange(base64(st_.password), "AUTH LOGIN");
    } else {
      throwSmtpFailure(Outcome::PermFail,
                       "the server offers AUTH " + printableAscii(auth->second, kMaxServerText) +
                           " but neither PLAIN nor LOGIN",
                       true);
    }
    if (r.code == 334) {  // a challenge we cannot answer: cancel (RFC 4954 §4)
      std::string shown = r.text();
      r = exchange("*", "AUTH");
      throwSmtpFailure(Outcome::PermFail, "AUTH: unexpected challenge " + shown, true);
    }
    if (r.code == 535)
      throwSmtpFailure(Outcome::PermFail,
                       "the server refused BccReporterAddress/BccReporterPassword: " + r.text(),
                       true);
    if (r.code / 100 != 2) refused(r);
  }

  const SmtpSettings& st_;
  const std::string& host_;
  std::uint16_t port_;
  const std::string& path_;
  Poco::Net::Context::Ptr context_;
  SmtpConnection conn_;
  std::map<std::string, std::string> ext_;  // EHLO keyword (upper case) -> its parameters
  bool opened_ = false;
};

namespace {}  // namespace

std::optional<SmtpTls> parseSmtpTls(std::string_view text) {
  std::string t = upper(text);
  if (t == "AUTO") return SmtpTls::Auto;
  if (t == "REQUIRED") return SmtpTls::Required;
  if (t == "NO") return SmtpTls::No;
  return std::nullopt;
}

std::string smtpDataBlock(std::string_view message) {
  return dotStuffed(crlfText(message));
}

SmtpClient::SmtpClient(SmtpSettings settings) : settings_(std::move(settings)) {
  auto& st = settings_;
  const std::string& server = st.server;
  auto bad = [&](const std::string& why) {
    throw std::invalid_argument("BccSmtpServer: '" + server + "' " + why);
  };
  if (server.rfind("unix:", 0) == 0) {
    socketPath_ = server.substr(5);
    if (socketPath_.empty()) bad("has an empty socket path");
    if (socketPath_.size() >= sizeof(sockaddr_un{}.sun_path)) bad("has a socket path too long");
  } else {
    auto colon = server.rfind(':');
    if (colon == std::string::npos || colon == 0)
      bad("is neither host:port, [ipv6]:port nor unix:/path");
    host_ = server.substr(0, colon);
    if (host_.front() == '[') {
      if (host_.size() < 3 || host_.back() != ']') bad("has no closing ']'");
      host_ = host_.substr(1, host_.size() - 2);
    } else if (host_.find(':') != std::string::npos) {
      bad("has an IPv6 address that is not in [brackets]");
    }
    std::string_view port = std::string_view(server).substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
        value > 65535) {
      bad("has no port from 1 to 65535");
    }
    port_ = static_cast<std::uint16_t>(value);
  }
  if (!st.password.empty() && st.user.empty())
    throw std::invalid_argument("BccReporterPassword is set but BccReporterAddress is empty");
  if (hasControl(st.user) || st.user.size() > kMaxPath)
    throw std::invalid_argument("BccReporterAddress: not a usable address");
  if (st.password.find('\0') != std::string::npos)
    throw std::invalid_argument("BccReporterPassword contains a NUL character");
  if (st.heloName.empty()) {
    char name[256] = {};
    st.heloName = ::gethostname(name, sizeof name - 1) == 0 && name[0] != '\0' ? name : "localhost";
  }
  if (hasControl(st.heloName) || st.heloName.find(' ') != std::string::npos)
    throw std::invalid_argument("BccSmtpHeloName: '" + st.heloName + "' is not a host name");
  if (st.connectTimeout.count() <= 0 || st.replyTimeout.count() <= 0)
    throw std::invalid_argument("BccSmtpConnectTimeout and BccSmtpReplyTimeout must be positive");
  if (st.tls == SmtpTls::No) return;
  std::call_once(sslOnce, [] { Poco::Net::initializeSSL(); });
  using Poco::Net::Context;
  try {
    context_ = new Context(Context::TLS_CLIENT_USE, st.caFile,
                           st.verifyTls ? Context::VERIFY_RELAXED : Context::VERIFY_NONE, 9,
                           st.caFile.empty());
    context_->enableExtendedCertificateVerification(st.verifyTls);  // the host name
  } catch (const Poco::Exception& e) {
    throw std::invalid_argument("BccSmtpCaFile: cannot load '" + st.caFile +
                                "': " + e.displayText());
  }
  try {
    applyTlsProfile(*context_, st.tlsProfile);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());
  }
}

namespace {

// Addresses go into command lines: CR/LF there would be commands of their own.
bool unusableAddress(const std::string& a) {
  return hasControl(a) || a.size() > kMaxPath || a.find_first_of("<>") != std::string::npos;
}

// An ESMTP parameter's value (RFC 5321 §4.1.2 esmtp-value, xtext for DSN's): printable
// ASCII without '=' or space; with `utf8` (an ORCPT in a SMTPUTF8 transaction, RFC 6533)
// valid UTF-8 beyond ASCII too.
bool unusableParameter(const std::string& v, bool utf8 = false) {
  if (utf8 && !isValidUtf8(v)) return true;
  return std::any_of(v.begin(), v.end(), [utf8](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b <= 32 || b == 127 || (b > 127 && !utf8) || c == '=';
  });
}

}  // namespace

DeliveryResult SmtpClient::send(const std::string& from, const std::vector<std::string>& to,
                                const std::string& message) const {
  DeliveryResult result;
  std::string invalid;
  if (unusableAddress(from)) invalid = "sender '" + printableAscii(from, kMaxServerText) + "'";
  for (const auto& a : to)
    if (a.empty() || unusableAddress(a))
      invalid = "recipient '" + printableAscii(a, kMaxServerText) + "'";
  if (to.empty() || !invalid.empty()) {
    result.outcome = Outcome::PermFail;
    result.reason = to.empty() ? "no recipient (BccReportRecipientAddress is empty)"
                               : "not a usable address: " + invalid;
    return result;
  }
  RelayEnvelope envelope;
  envelope.sender = from;
  for (const auto& a : to) envelope.recipients.push_back({a, "", ""});
  return deliver(envelope, false, message, nullptr);
}

DeliveryResult SmtpClient::relay(const RelayEnvelope& envelope, const std::string& message,
                                 RelayChannel* channel) const {
  DeliveryResult result;
  std::string invalid;
  if (unusableAddress(envelope.sender))
    invalid = "sender '" + printableAscii(envelope.sender, kMaxServerText) + "'";
  for (const auto& r : envelope.recipients) {
    if (r.address.empty() || unusableAddress(r.address))
      invalid = "recipient '" + printableAscii(r.address, kMaxServerText) + "'";
    else if (unusableParameter(r.notify) || unusableParameter(r.orcpt, envelope.smtputf8))
      invalid = "DSN parameters of <" + printableAscii(r.address, kMaxServerText) + ">";
  }
  if (unusableParameter(envelope.body) || unusableParameter(envelope.ret) ||
      unusableParameter(envelope.envid))
    invalid = "MAIL parameters";
  if (envelope.recipients.empty() || !invalid.empty()) {
    result.outcome = Outcome::PermFail;
    result.reason =
        envelope.recipients.empty() ? "no recipient" : "not a usable envelope: " + invalid;
    return result;
  }
  return deliver(envelope, true, message, channel);
}

DeliveryResult SmtpClient::deliver(const RelayEnvelope& envelope, bool replay,
                                   const std::string& message, RelayChannel* channel) const {
  DeliveryResult result;
  SigpipeBlock sigpipe;
  std::unique_ptr<Session> own;
  Session* session = nullptr;
  if (channel && channel->session_) {
    // A kept connection: RSET first; one the server closed meanwhile is replaced.
    if (channel->uses_ < RelayChannel::kMaxUses && channel->session_->reset()) {
      session = channel->session_.get();
    } else {
      channel->session_->quit();
      channel->session_.reset();
    }
  }
  if (!session) {
    own = std::make_unique<Session>(settings_, host_, port_, socketPath_, context_);
    session = own.get();
    if (channel) channel->uses_ = 0;
  }
  bool keep = false;
  try {
    session->transaction(envelope, replay, message, result);
    keep = channel != nullptr;
    if (!keep) session->quit();
  } catch (const SmtpFailure& f) {
    result.outcome = f.outcome;
    result.reason = f.reason;
    result.receipt.clear();
    result.accepted.clear();  // nobody got the message
    result.acceptedPositions.clear();
    if (f.quit) session->quit();
  } catch (const std::exception& e) {  // a Poco call outside the guarded ones: still a result
    result =
        DeliveryResult{Outcome::TempFail, printableAscii(e.what(), kMaxServerText), "", {}, {}, {}};
  }
  // What must not appear in the result, read while the session is still alive.
  const auto secrets = session->secrets();
  if (channel) {
    if (keep) {
      if (own) channel->session_ = std::move(own);
      ++channel->uses_;
    } else if (!own) {
      channel->session_.reset();  // a failure ends a kept connection too
    }
  }
  session = nullptr;  // gone with `own` or the channel's reset
  result.reason = "SMTP " + settings_.server + ": " + result.reason;
  for (const auto& secret : secrets) {
    auto scrub = [&](std::string& text) {
      static const std::string kMask = "<password>";
      for (auto at = text.find(secret); at != std::string::npos;
           at = text.find(secret, at + kMask.size()))
        text.replace(at, secret.size(), kMask);
    };
    scrub(result.reason);
    scrub(result.receipt);
    for (auto& x : result.rejected) scrub(x.reply);
  }
  return result;
}

RelayChannel::RelayChannel(const SmtpClient& client) : client_(client) {}

RelayChannel::~RelayChannel() {
  close();
}

DeliveryResult RelayChannel::relay(const RelayEnvelope& envelope, const std::string& message) {
  return client_.relay(envelope, message, this);
}

void RelayChannel::close() {
  if (!session_) return;
  SigpipeBlock sigpipe;
  session_->quit();
  session_.reset();
}

}  // namespace bccsink::report
