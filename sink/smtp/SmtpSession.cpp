#include "sink/smtp/SmtpSession.h"

#include <algorithm>
#include <ctime>

#include "base/OriginalRecipient.h"
#include "base/Text.h"
#include "sink/smtp/SmtpCommand.h"

namespace bccsink {
namespace {

// Commands are short; RFC 5321 section 4.5.3.1.4 allows 512 octets plus what
// extensions add. Anything longer is noise or an attack.
constexpr std::size_t kMaxCommandLine = 2048;
// RFC 5322 section 2.1.1 line length: enough for any real Message-ID.
constexpr std::size_t kMaxMessageIdLength = 998;
// Input buffer capacity kept between reads; more is given back once the buffer empties.
constexpr std::size_t kKeptBuffer = 4096;

std::string rfc5322Date(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S +0000", &tm);
  return buf;
}

bool validNotify(const std::string& v) {
  std::string u = upper(v);
  if (u == "NEVER") return true;
  std::size_t start = 0;
  while (start <= u.size()) {
    auto comma = u.find(',', start);
    auto item = u.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (item != "SUCCESS" && item != "FAILURE" && item != "DELAY") return false;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return !u.empty();
}

// Header text for the log and the queue: printable, but a tab (folding white space)
// becomes a space rather than '?', so that it is trimmed like one.
std::string headerText(std::string_view s, std::size_t max) {
  std::string text(s.substr(0, max));
  std::replace(text.begin(), text.end(), '\t', ' ');
  return printableAscii(text, max);
}

}  // namespace

SmtpSession::SmtpSession(const SessionSettings& settings, MessageStore& store, std::string clientIp,
                         bool clientAllowed)
    : settings_(settings),
      store_(store),
      clientIp_(std::move(clientIp)),
      mode_(clientAllowed ? Mode::Command : Mode::Refused),
      closing_(!clientAllowed) {}

SmtpSession::~SmtpSession() = default;

std::string SmtpSession::greeting() {
  if (mode_ == Mode::Refused) {
    count(Refusal::Client);
    // RFC 5321 section 3.1 has the server wait for QUIT after a 554 greeting; a client
    // that never sends it would hold a connection slot as long as it likes (issue 18),
    // so the connection is closed once the 554 is written, as Postfix's postscreen does
    // after its 521 (RFC 7504). An MTA reads the 554 as a refusal either way. The
    // session was closing from the start: it takes no command.
    return "554 5.7.1 " + settings_.hostname + " Access denied for " + clientIp_ + "\r\n";
  }
  return "220 " + settings_.hostname + " ESMTP bccsink\r\n";
}

void SmtpSession::reply(int code, std::string_view enhanced, std::string_view text) {
  out_ += std::to_string(code);
  out_ += ' ';
  if (!enhanced.empty()) {
    out_ += enhanced;
    out_ += ' ';
  }
  out_ += text;
  out_ += "\r\n";
}

void SmtpSession::error(int code, std::string_view enhanced, std::string_view text) {
  if (++errors_ > settings_.maxErrors) {
    count(Refusal::Errors);
    reply(421, "4.7.0", settings_.hostname + " Too many errors, closing connection");
    closing_ = true;
    return;
  }
  reply(code, enhanced, text);
}

std::string SmtpSession::timeout() {
  closing_ = true;
  count(Refusal::Timeout);
  return "421 4.4.2 " + settings_.hostname + " Timeout exceeded, closing connection\r\n";
}

std::string SmtpSession::sessionExpired() {
  closing_ = true;
  count(Refusal::SessionDeadline);
  std::string out;
  if (mode_ == Mode::Data) {
    // RFC 5321 section 4.2.5: a 4yz after DATA leaves the message with the sender, which
    // sends it again later; what arrived of it is dropped with the writer.
    mode_ = Mode::Command;
    resetTransaction();
    out = "451 4.4.2 " + settings_.hostname + " Session time limit exceeded, message not taken\r\n";
  }
  return out + "421 4.4.2 " + settings_.hostname +
         " Session time limit exceeded, closing connection\r\n";
}

std::string SmtpSession::tooSlow() {
  closing_ = true;
  count(Refusal::Slow);
  return "421 4.4.2 " + settings_.hostname + " Minimum data rate not met, closing connection\r\n";
}

void SmtpSession::feed(std::string_view bytes) {
  in_.append(bytes);
  process();
}

void SmtpSession::process() {
  if (processing_) return;  // an inline commit result: the loop below goes on by itself
  processing_ = true;
  std::size_t pos = 0;
  while (!closing_ && !tlsPending_ && mode_ != Mode::Committing && pos < in_.size()) {
    if (mode_ == Mode::Data) {
      if (!consumeData(pos)) break;
      continue;
    }
    auto nl = in_.find('\n', pos);
    if (nl == std::string::npos) {
      // + 1: the CR of a CRLF whose LF has not arrived yet is not part of the line.
      if (in_.size() - pos > kMaxCommandLine + 1) {
        if (!discardingLine_) error(500, "5.5.2", "Line too long");
        discardingLine_ = true;
        pos = in_.size();
      }
      break;
    }
    std::string_view line(in_.data() + pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (discardingLine_) {
      discardingLine_ = false;
      continue;
    }
    if (line.size() > kMaxCommandLine) {
      error(500, "5.5.2", "Line too long");
      continue;
    }
    command(line);
  }
  if (tlsPending_) {
    // RFC 3207 section 4.2 and CVE-2011-0411: nothing sent before the handshake may be
    // taken as a command after it.
    in_.clear();
  } else {
    in_.erase(0, pos);
  }
  // A connection that sent a large message and then waits keeps no large buffer.
  if (in_.empty() && in_.capacity() > kKeptBuffer) std::string().swap(in_);
  processing_ = false;
}

void SmtpSession::command(std::string_view line) {
  auto [verb, arg] = smtp::splitVerb(line);
  if (verb == "EHLO" || verb == "HELO") return onHelo(arg, verb == "EHLO");
  if (verb == "MAIL") return onMail(line.substr(4));
  if (verb == "RCPT") return onRcpt(line.substr(4));
  if (verb == "DATA") return onData(arg);
  if (verb == "RSET") {
    resetTransaction();
    return reply(250, "2.0.0", "Ok");
  }
  if (verb == "NOOP") return reply(250, "2.0.0", "Ok");
  if (verb == "QUIT") {
    reply(221, "2.0.0", "Bye");
    closing_ = true;
    return;
  }
  if (verb == "VRFY") return reply(252, "2.5.0", "Cannot VRFY user, but will accept message");
  if (verb == "EXPN") return error(502, "5.5.1", "EXPN not implemented");
  if (verb == "HELP") {
    return reply(214, "2.0.0",
                 "bccsink accepts copies for its BCC domains: EHLO HELO MAIL RCPT DATA RSET "
                 "NOOP QUIT VRFY HELP STARTTLS");
  }
  if (verb == "STARTTLS") return onStartTls(arg);
  if (verb == "XFORWARD" && settings_.holdMode) return onXforward(arg);
  if (verb == "BDAT") return error(502, "5.5.1", "CHUNKING not offered");
  error(500, "5.5.2", "Command unrecognized");
}

void SmtpSession::onHelo(std::string_view arg, bool extended) {
  if (arg.empty())
    return error(501, "5.5.4", "Syntax: " + std::string(extended ? "EHLO" : "HELO") + " hostname");
  resetTransaction();
  helo_ = printableAscii(arg.substr(0, arg.find(' ')), smtp::kMaxClientText);
  esmtp_ = extended;
  if (!extended) return reply(250, "", settings_.hostname);
  out_ += "250-" + settings_.hostname + "\r\n";
  out_ += "250-PIPELINING\r\n";
  out_ += "250-SIZE " + std::to_string(settings_.maxMessageSize) + "\r\n";
  out_ += "250-8BITMIME\r\n";
  out_ += "250-ENHANCEDSTATUSCODES\r\n";
  out_ += "250-DSN\r\n";
  if (settings_.tlsAvailable && !tls_) out_ += "250-STARTTLS\r\n";
  if (settings_.holdMode) out_ += "250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE\r\n";
  out_ += "250 SMTPUTF8\r\n";
}

void SmtpSession::onMail(std::string_view arg) {
  if (helo_.empty()) return error(503, "5.5.1", "Send HELO/EHLO first");
  if (haveMail_) return error(503, "5.5.1", "Nested MAIL command");
  if (!startsWithNoCase(arg, " FROM:") && !startsWithNoCase(arg, " FROM :")) {
    return error(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  }
  std::string why;
  auto path = smtp::parsePath(arg.substr(arg.find(':') + 1), true, why);
  if (!path) return error(501, "5.1.7", "Bad sender address syntax: " + why);
  Envelope env;
  for (const auto& [key, value] : path->params) {
    if (key == "SIZE") {
      if (value.empty() || value.size() > 19 ||
          value.find_first_not_of("0123456789") != std::string::npos) {
        return error(501, "5.5.4", "Bad SIZE parameter");
      }
      env.declaredSize = std::stoull(value);
      if (env.declaredSize > settings_.maxMessageSize) {
        count(Refusal::Size);
        return error(552, "5.3.4", "Message size exceeds fixed limit");
      }
    } else if (key == "BODY") {
      auto v = upper(value);
      if (v != "7BIT" && v != "8BITMIME") return error(501, "5.5.4", "Bad BODY parameter");
      env.body = v;
    } else if (key == "RET") {
      auto v = upper(value);
      if (v != "FULL" && v != "HDRS") return error(501, "5.5.4", "Bad RET parameter");
      env.ret = v;
    } else if (key == "ENVID") {
      if (value.empty() || value.size() > 100 || !smtp::isXtext(value)) {
        return error(501, "5.5.4", "Bad ENVID parameter");
      }
      env.envid = value;
    } else if (key == "SMTPUTF8") {
      env.smtputf8 = true;
    } else if (key == "AUTH") {
      // RFC 4954 section 5: may be given by relays; we offer no AUTH and ignore it.
    } else {
      return error(555, "5.5.4", "Unsupported parameter " + printableAscii(key, 32));
    }
  }
  auto room = store_.admit(env.declaredSize);
  if (room.outcome != Outcome::Ok) {
    // 4xx: the MTA keeps the copy and retries; a 5xx would drop it (NOTIFY=NEVER). The
    // store counted the refusal.
    if (room.noRoom) return reply(452, "4.3.1", "Insufficient system storage: " + room.detail);
    return reply(451, "4.3.0", "Local error in processing: " + room.detail);
  }
  env.sender = path->address;
  envelope_ = std::move(env);
  haveMail_ = true;
  reply(250, "2.1.0", "Ok");
}

bool SmtpSession::recipientAccepted(const std::string& address) const {
  auto lowered = lower(address);
  auto at = lowered.rfind('@');
  std::string domain = at == std::string::npos ? "" : lowered.substr(at + 1);
  for (const auto& d : settings_.domains) {
    // An address entry takes its subaddresses too (watch+bob=example.org@): the copies
    // recipient_bcc_maps makes, each carrying an original recipient (README, "Original
    // recipients"); a domain entry takes any local part.
    if (d.find('@') != std::string::npos ? isAddressOrSubaddress(lowered, d) : d == domain)
      return true;
  }
  return false;
}

void SmtpSession::onRcpt(std::string_view arg) {
  if (!haveMail_) return error(503, "5.5.1", "Need MAIL before RCPT");
  if (!startsWithNoCase(arg, " TO:") && !startsWithNoCase(arg, " TO :")) {
    return error(501, "5.5.4", "Syntax: RCPT TO:<address>");
  }
  std::string why;
  auto path = smtp::parsePath(arg.substr(arg.find(':') + 1), false, why);
  if (!path) return error(501, "5.1.3", "Bad recipient address syntax: " + why);
  db::Recipient rcpt;
  rcpt.address = path->address;
  for (const auto& [key, value] : path->params) {
    if (key == "NOTIFY") {
      if (!validNotify(value)) return error(501, "5.5.4", "Bad NOTIFY parameter");
      rcpt.notify = upper(value);
    } else if (key == "ORCPT") {
      // RFC 3461 section 4.2: addr-type ";" xtext; RFC 6533 section 3: "utf-8;" and UTF-8
      // in a SMTPUTF8 transaction (Postfix sends a non-ASCII recipient's so).
      auto semi = value.find(';');
      const bool utf8 = semi != std::string::npos && envelope_.smtputf8 &&
                        lower(value.substr(0, semi)) == "utf-8";
      if (semi == std::string::npos || semi == 0 || value.size() > 500 ||
          !(smtp::isXtext(value.substr(semi + 1)) ||
            (utf8 && smtp::isUtf8AddrText(value.substr(semi + 1))))) {
        return error(501, "5.5.4", "Bad ORCPT parameter");
      }
      rcpt.orcpt = value;
    } else {
      return error(555, "5.5.4", "Unsupported parameter " + printableAscii(key, 32));
    }
  }
  if (!settings_.holdMode && !recipientAccepted(rcpt.address)) {
    // Not a relay: only the BCC domains are ours.
    count(Refusal::Relay);
    return error(550, "5.1.1",
                 "<" + printableAscii(rcpt.address, smtp::kMaxClientText) +
                     ">: Recipient address rejected: not a BCC domain here");
  }
  if (envelope_.recipients.size() >= settings_.maxRecipients) {
    count(Refusal::Recipients);
    return reply(452, "4.5.3", "Too many recipients");
  }
  envelope_.recipients.push_back(std::move(rcpt));
  reply(250, "2.1.5", "Ok");
}

void SmtpSession::onData(std::string_view arg) {
  if (!arg.empty()) return error(501, "5.5.4", "Syntax: DATA");
  if (!haveMail_) return error(503, "5.5.1", "Need MAIL command");
  if (envelope_.recipients.empty()) return error(554, "5.5.1", "No valid recipients");
  // Fresh, not MAIL's cached look: the disk may have filled since (RFC 5321 section 4.3.2
  // allows 451 and 452 to DATA).
  if (auto room = store_.room(envelope_.declaredSize); room.outcome != Outcome::Ok) {
    refuse(room);
    return resetTransaction();
  }
  StoreResult result;
  writer_ = store_.open(result);
  if (!writer_) {
    count(Refusal::Local);
    return reply(451, "4.3.0", "Local error in processing: " + result.detail);
  }
  envelope_.clientIp = clientIp_;
  envelope_.helo = helo_;
  envelope_.esmtp = esmtp_;
  envelope_.tls = tls_;
  envelope_.hold = settings_.holdMode;
  envelope_.xforward = xforward_;
  dataBytes_ = 0;
  atLineStart_ = true;
  tooBig_ = lineTooLong_ = writeFailed_ = false;
  refusedInData_.reset();
  nextRoomCheck_ = MessageStore::kRoomStep;
  inHeaders_ = true;
  inMessageIdHeader_ = false;
  messageId_.clear();
  if (!writer_->write(receivedHeader(writer_->id()))) writeFailed_ = true;
  mode_ = Mode::Data;
  reply(354, "", "End data with <CR><LF>.<CR><LF>");
}

std::string SmtpSession::receivedHeader(const std::string& id) const {
  // RFC 5321 section 4.4; the address literal is the connecting client's, tagged "IPv6:"
  // for an IPv6 address (section 4.1.3). The ";" before the date is always there (RFC
  // 5322 section 3.6.7), with or without a for clause.
  std::string proto = esmtp_ ? (tls_ ? "ESMTPS" : "ESMTP") : "SMTP";
  if (envelope_.smtputf8) proto = tls_ ? "UTF8SMTPS" : "UTF8SMTP";
  std::string literal = clientIp_.find(':') != std::string::npos ? "IPv6:" + clientIp_ : clientIp_;
  std::string h = "Received: from " + helo_ + " (unknown [" + literal + "])\r\n\tby " +
                  settings_.hostname + " (bccsink) with " + proto + " id " + id + "\r\n\t";
  if (envelope_.recipients.size() == 1) {
    h += "for <" + printableAscii(envelope_.recipients.front().address, smtp::kMaxClientText) + ">";
  }
  h += "; " + rfc5322Date(settings_.now()) + "\r\n";
  return h;
}

void SmtpSession::onStartTls(std::string_view arg) {
  if (!settings_.tlsAvailable) return error(502, "5.5.1", "STARTTLS not available");
  if (tls_) return error(503, "5.5.1", "TLS already active");
  if (!arg.empty()) return error(501, "5.5.4", "Syntax: STARTTLS");
  reply(220, "2.0.0", "Ready to start TLS");
  tlsPending_ = true;
}

// Postfix's XFORWARD_README: "XFORWARD attribute=value ..." before MAIL, as often as the
// client likes; the attributes (xtext, kept as sent) hold for the next transaction and are
// replayed to the relay, which then logs the original client instead of this filter.
void SmtpSession::onXforward(std::string_view arg) {
  static constexpr std::string_view kNames[] = {"NAME", "ADDR",  "PORT",  "PROTO",
                                                "HELO", "IDENT", "SOURCE"};
  constexpr std::size_t kMaxXforward = 2048;
  if (helo_.empty()) return error(503, "5.5.1", "Send EHLO first");
  if (haveMail_) return error(503, "5.5.1", "MAIL transaction in progress");
  std::string lines;
  std::size_t at = 0;
  while (at < arg.size()) {
    while (at < arg.size() && arg[at] == ' ') ++at;
    if (at == arg.size()) break;
    auto end = arg.find(' ', at);
    if (end == std::string_view::npos) end = arg.size();
    std::string_view pair = arg.substr(at, end - at);
    at = end;
    auto eq = pair.find('=');
    std::string name = eq == std::string_view::npos ? "" : upper(pair.substr(0, eq));
    std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    bool known = false;
    for (auto k : kNames) known = known || name == k;
    if (!known || hasControl(value)) return error(501, "5.5.4", "Bad XFORWARD attribute");
    lines += name + "=" + std::string(value) + "\n";
  }
  if (lines.empty()) return error(501, "5.5.4", "Syntax: XFORWARD attribute=value...");
  if (xforward_.size() + lines.size() > kMaxXforward)
    return error(501, "5.5.4", "Too many XFORWARD attributes");
  xforward_ += lines;
  reply(250, "2.0.0", "Ok");
}

void SmtpSession::tlsStarted() {
  // RFC 3207 section 4.2: forget everything learnt before the handshake.
  tlsPending_ = false;
  tls_ = true;
  helo_.clear();
  esmtp_ = false;
  resetTransaction();
}

bool SmtpSession::consumeData(std::size_t& pos) {
  // Only CRLF ends a line, and only CRLF "." CRLF ends the message: a bare LF or CR is
  // message content, so no other server's idea of the end can smuggle a second message.
  while (true) {
    auto crlf = in_.find("\r\n", pos);
    if (crlf == std::string::npos) {
      std::size_t partial = in_.size() - pos;
      if (partial > settings_.maxLineLength) {
        // Drop the overlong line's bytes but its last one (it may be the CR of CRLF).
        lineTooLong_ = true;
        atLineStart_ = false;
        pos = in_.size() - 1;
      }
      return false;
    }
    std::string_view line(in_.data() + pos, crlf - pos);
    pos = crlf + 2;
    bool lineStart = atLineStart_;
    atLineStart_ = true;
    if (!lineStart) continue;  // the tail of an overlong line
    if (line.size() + 2 > settings_.maxLineLength) {
      lineTooLong_ = true;
      continue;
    }
    if (line == ".") {
      finishData();
      return true;
    }
    // RFC 5321 section 4.5.2: remove the stuffed leading dot.
    if (!line.empty() && line.front() == '.') line.remove_prefix(1);
    dataLine(line);
  }
}

void SmtpSession::dataLine(std::string_view line) {
  dataBytes_ += line.size() + 2;
  if (dataBytes_ > settings_.maxMessageSize) tooBig_ = true;
  if (tooBig_ || lineTooLong_ || writeFailed_ || refusedInData_) return;
  if (dataBytes_ >= nextRoomCheck_) {
    nextRoomCheck_ = dataBytes_ + MessageStore::kRoomStep;
    if (auto room = store_.room(MessageStore::kRoomStep); room.outcome != Outcome::Ok) {
      // Nothing more is written; the bytes still coming are read and dropped.
      refusedInData_ = std::move(room);
      writer_.reset();
      return;
    }
  }
  if (inHeaders_) {
    if (line.empty()) {
      inHeaders_ = false;
    } else if (line.front() == ' ' || line.front() == '\t') {
      if (inMessageIdHeader_ && messageId_.size() < kMaxMessageIdLength) {
        messageId_ += headerText(line, kMaxMessageIdLength - messageId_.size());
      }
    } else {
      inMessageIdHeader_ = startsWithNoCase(line, "Message-ID:");
      if (inMessageIdHeader_ && messageId_.empty()) {
        messageId_ = headerText(line.substr(11), kMaxMessageIdLength);
      } else {
        inMessageIdHeader_ = false;
      }
    }
  }
  if (!writer_->write(line) || !writer_->write("\r\n")) writeFailed_ = true;
}

void SmtpSession::finishData() {
  mode_ = Mode::Command;
  if (tooBig_ || lineTooLong_) count(Refusal::Size);
  if (tooBig_) {
    reply(552, "5.3.4", "Message size exceeds fixed limit");
  } else if (lineTooLong_) {
    reply(552, "5.3.4",
          "Message line longer than " + std::to_string(settings_.maxLineLength) + " bytes");
  } else if (writeFailed_) {
    count(Refusal::Local);
    reply(451, "4.3.0", "Local error in processing: cannot write the spool");
  } else if (refusedInData_) {
    refuse(*refusedInData_);
  } else {
    return startCommit();
  }
  resetTransaction();
}

void SmtpSession::startCommit() {
  auto b = messageId_.find_first_not_of(" \t");
  auto e = messageId_.find_last_not_of(" \t");
  std::string id = b == std::string::npos ? "" : messageId_.substr(b, e - b + 1);
  // The writer goes once commit() returns (the commit owns what it needs), and so does the
  // envelope: the 250 names the id kept here.
  auto writer = std::move(writer_);
  committingId_ = writer->id();
  mode_ = Mode::Committing;
  MessageWriter::Done done;
  if (commitHook_) {
    done = commitHook_;
  } else {
    done = [this, alive = std::weak_ptr<char>(alive_)](StoreResult result) {
      if (alive.lock()) committed(std::move(result));
    };
  }
  try {
    writer->commit(envelope_, id, std::move(done));
  } catch (const std::exception& e) {
    // A store that throws has broken its promise to call done: say 451 and end the
    // session, so that a result arriving after all finds no transaction to answer.
    mode_ = Mode::Command;
    count(Refusal::Local);
    reply(451, "4.3.0", "Local error in processing: " + printableAscii(e.what(), 200));
    closing_ = true;
  }
  writer.reset();
  resetTransaction();
}

void SmtpSession::committed(StoreResult result) {
  if (mode_ != Mode::Committing) return;
  mode_ = Mode::Command;
  if (result.outcome == Outcome::Ok) {
    if (settings_.counters) ++settings_.counters->received;
    reply(250, "2.0.0", "Ok: queued as " + committingId_);
  } else if (result.outcome == Outcome::PermFail) {
    count(Refusal::Rejected);
    reply(554, "5.3.0", "Transaction failed: " + result.detail);
  } else {
    refuse(result);
  }
  committingId_.clear();
  process();
}

void SmtpSession::refuse(const StoreResult& result) {
  if (result.noRoom) {
    // The store counted it (Refusal::Disk or Backlog).
    reply(452, "4.3.1", "Insufficient system storage: " + result.detail);
    return;
  }
  count(Refusal::Local);
  reply(451, "4.3.0", "Local error in processing: " + result.detail);
}

void SmtpSession::resetTransaction() {
  haveMail_ = false;
  xforward_.clear();
  envelope_ = Envelope();
  writer_.reset();
}

}  // namespace bccsink
