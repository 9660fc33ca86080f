#pragma once
// Delivers one finished report mail to the administrator's mail server: an SMTP client
// (RFC 5321) with STARTTLS (RFC 3207), AUTH PLAIN (RFC 4616) or LOGIN (RFC 4954) and the
// SIZE extension (RFC 1870). One connection per message and nothing is queued here: the
// caller keeps the report and decides a retry from the Outcome.
//
//   greeting 220 -> EHLO (HELO on 5xx) -> [STARTTLS, EHLO] -> [AUTH] -> MAIL -> RCPT... ->
//   DATA -> dot-stuffed message -> "." -> 250 -> QUIT
//
// 4xx, connection failure, timeout, TLS failure: TempFail. 5xx to the greeting, HELO,
// MAIL, DATA, the final "." or to every RCPT, and an AUTH refusal (535): PermFail. A
// recipient refused while another is accepted does not stop the message: it goes to the
// accepted ones, the result is Ok, and the refused are listed in DeliveryResult::rejected
// (`temporary` for a 4xx, which the caller may retry for that address alone).
//
// BccSmtpTls=required and no STARTTLS (not offered, or 454): TempFail, as Postfix's
// "encrypt" level defers: an offer can come back, and an attacker who strips it from
// the dialogue must not be able to turn a report into a permanent failure.
//
// The password is sent only over TLS, or over a unix socket or a loopback connection;
// otherwise the attempt is a PermFail naming the settings (nothing secret was sent), or a
// TempFail when the server offered STARTTLS and answered it with a 4xx. The password never
// appears in a reason, nor does any AUTH line we sent.
//
// SIGPIPE is blocked on the calling thread while a message is sent (a server that closes
// early must not kill the process), so send() is safe outside the daemon too.

#include <Poco/Net/Context.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/tls/TlsProfile.h"
#include "report/delivery/DeliveryResult.h"

namespace bccsink::report {

// BccSmtpTls.
enum class SmtpTls {
  Auto,      // STARTTLS when the server offers it (not over a unix socket: nothing to protect)
  Required,  // STARTTLS or no delivery (TempFail)
  No,        // never STARTTLS
};

// "auto", "required" or "no" in any case; nullopt for anything else.
std::optional<SmtpTls> parseSmtpTls(std::string_view text);

struct SmtpSettings {
  // BccSmtpServer: "host:port", "[ipv6]:port" or "unix:/path/to/socket". Required. A host
  // name is resolved at each delivery; each of its addresses is tried in turn.
  std::string server;
  // BccReporterAddress: the AUTH identity (the caller passes it as the envelope sender
  // too). Needed when a password is set.
  std::string user;
  // BccReporterPassword: '' = no AUTH. Never logged, never in a reason.
  std::string password;
  // BccSmtpTls.
  SmtpTls tls = SmtpTls::Auto;
  // BccSmtpCaFile: PEM file of the CAs that may sign the server's certificate; '' = the
  // system's CAs.
  std::string caFile;
  // BccSmtpVerifyTls: check the server's certificate chain and host name (the host name
  // is not checked for a loopback address, whose certificate rarely names it).
  bool verifyTls = true;
  // BccSmtpHeloName: the name in EHLO/HELO; '' = this host's name.
  std::string heloName;
  // BccSmtpConnectTimeout: the most one connection attempt may take.
  std::chrono::milliseconds connectTimeout{30000};
  // BccSmtpReplyTimeout: the most the server may take for each reply, the one to the final
  // "." included. RFC 5321 §4.5.3.2 suggests 5 minutes for most commands.
  std::chrono::milliseconds replyTimeout{std::chrono::minutes(5)};
  // TlsCiphers, TlsMinVersion: STARTTLS to the server speaks this profile only.
  TlsProfile tlsProfile;

  // Tests only: treat a loopback server as one across a network, so that the rules for a
  // password over a network can be tested without leaving 127.0.0.1.
  bool loopbackIsNetworkForTest = false;
};

// SMTP mode's re-injection: a held message's original envelope, replayed to
// SmtpSenderRelay (Postfix's return smtpd).
struct RelayRecipient {
  std::string address;
  std::string notify;  // DSN NOTIFY=, '' when absent
  std::string orcpt;   // DSN ORCPT=, as received (xtext), '' when absent
};

struct RelayEnvelope {
  std::string sender;  // '' = the null sender <>
  std::vector<RelayRecipient> recipients;
  std::string body;   // BODY= (7BIT, 8BITMIME), '' when absent
  std::string ret;    // DSN RET=
  std::string envid;  // DSN ENVID= (xtext, as received)
  bool smtputf8 = false;
  // XFORWARD attributes (Postfix's XFORWARD_README) as received: {"NAME", "value"}.
  std::vector<std::pair<std::string, std::string>> xforward;
};

class RelayChannel;
class Session;

class SmtpClient {
 public:
  // Checks the settings and loads the CA file; throws std::invalid_argument naming the
  // option that is wrong. Does not connect.
  explicit SmtpClient(SmtpSettings settings);

  // Sends `message` (complete RFC 5322 bytes, CRLF line ends) from `from` ('' = the null
  // sender <>) to each of `to`, over a connection of its own. Ok only after the server's
  // 250 to the final "." (RFC 5321 §4.1.1.4). If the connection is lost after the "." went
  // out but before the reply, the result is TempFail and a retry may duplicate the mail
  // (RFC 1047): for a report, better twice than never. Safe to call from several threads.
  DeliveryResult send(const std::string& from, const std::vector<std::string>& to,
                      const std::string& message) const;

  // Re-injects `message` with `envelope` replayed: XFORWARD before MAIL when the server
  // offers it (only the attributes it lists), BODY= when it offers 8BITMIME, RET=, ENVID=,
  // NOTIFY= and ORCPT= when it offers DSN, SMTPUTF8 when the envelope had it (a server
  // without SMTPUTF8 then gets a PermFail: the addresses need it), SIZE= when it offers
  // SIZE. The bytes go as send() sends them. Recipients are reported by position:
  // DeliveryResult::acceptedPositions, RejectedRecipient::position. Otherwise as send().
  // With a `channel`, over its kept connection (see RelayChannel).
  DeliveryResult relay(const RelayEnvelope& envelope, const std::string& message,
                       RelayChannel* channel = nullptr) const;

  const SmtpSettings& settings() const { return settings_; }

 private:
  DeliveryResult deliver(const RelayEnvelope& envelope, bool replay, const std::string& message,
                         RelayChannel* channel) const;
  SmtpSettings settings_;
  std::string host_;                 // TCP: the host name or address, no brackets
  std::uint16_t port_ = 0;           // TCP
  std::string socketPath_;           // unix: the socket's path ('' for TCP)
  Poco::Net::Context::Ptr context_;  // TLS client context; null when tls is No
};

// One connection to the relay kept across re-injections, for one thread (SMTP mode's
// delivery threads): the first relay() connects, the next ones send RSET and reuse it (a
// connection the server closed while idle is replaced at once, before anything is sent),
// up to kMaxUses messages; any failure ends it. A server's per-connection work (accept,
// greeting, EHLO, its log lines) is then paid once for many messages, as Postfix's own
// SMTP client caches its connections. Not thread-safe.
class RelayChannel {
 public:
  static constexpr std::size_t kMaxUses = 100;
  explicit RelayChannel(const SmtpClient& client);
  ~RelayChannel();  // close()
  RelayChannel(const RelayChannel&) = delete;
  RelayChannel& operator=(const RelayChannel&) = delete;

  DeliveryResult relay(const RelayEnvelope& envelope, const std::string& message);
  // QUIT and close (an idle thread lets the server's process go).
  void close();
  bool connected() const { return session_ != nullptr; }

 private:
  friend class SmtpClient;
  const SmtpClient& client_;
  std::unique_ptr<Session> session_;
  std::size_t uses_ = 0;
};

// What follows the 354 for `message` (RFC 5321 §4.5.2, §2.3.8): every line end made CRLF
// (a bare CR or LF becomes CRLF, so the server cannot see a line end we did not mean), a
// '.' doubled at the start of each line, a final CRLF if missing, then ".\r\n".
std::string smtpDataBlock(std::string_view message);

}  // namespace bccsink::report
