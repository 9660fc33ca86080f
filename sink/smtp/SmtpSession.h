#pragma once
// The SMTP server dialogue (RFC 5321, with PIPELINING, SIZE, 8BITMIME, DSN,
// ENHANCEDSTATUSCODES, SMTPUTF8 and STARTTLS) as a state machine over bytes. It knows no
// sockets: the connection shell feeds it what arrived and sends what it produced, so
// every reply is unit-tested from strings.
//
// The end of DATA hands the message to the store (MessageWriter::commit) and waits in a
// Committing state until the store says it is durable: input that arrives meanwhile is
// kept, unread, and the commands pipelined behind the final dot are answered after the
// 250, in order (RFC 2920 section 3.1). Nothing blocks: the shell's thread goes on
// serving other connections while a commit is in flight.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sink/smtp/MessageStore.h"
#include "sink/smtp/SmtpCounters.h"

namespace bccsink {

struct SessionSettings {
  std::string hostname = "localhost";
  std::vector<std::string> domains;  // lower-case domains or addresses accepted
  std::uint64_t maxMessageSize = 50u << 20;
  unsigned maxRecipients = 1000;
  std::size_t maxLineLength = 65536;  // data lines, CRLF included
  bool tlsAvailable = false;
  unsigned maxErrors = 20;  // protocol errors before 421
  // SMTP mode (SmtpSocket, an after-queue content filter): every recipient is taken (the
  // MTA has decided them), each message is marked to be held until its verdict, and
  // XFORWARD is offered (Postfix's XFORWARD_README), its attributes kept for the replay.
  bool holdMode = false;
  // Where received messages and refusals are counted (/metrics); null counts nothing.
  SmtpCounters* counters = nullptr;
  // The clock for the Received header; tests fix it.
  std::function<std::chrono::system_clock::time_point()> now = std::chrono::system_clock::now;
};

class SmtpSession {
 public:
  SmtpSession(const SessionSettings& settings, MessageStore& store, std::string clientIp,
              bool clientAllowed);
  ~SmtpSession();

  // The 220 to send on connect, or the 554 for a refused client, after which the session
  // is closing (issue 18: a refused client holds no slot).
  std::string greeting();
  // Consumes bytes from the client; replies accumulate in output().
  void feed(std::string_view bytes);
  // Replies to send; the shell clears it after sending.
  std::string& output() { return out_; }

  // The client said QUIT, or the session must end (421): close after sending output().
  bool closing() const { return closing_; }
  // STARTTLS was accepted: send output(), do the handshake, then call tlsStarted().
  bool tlsPending() const { return tlsPending_; }
  void tlsStarted();
  bool inData() const { return mode_ == Mode::Data; }
  // Not allowed to connect: the session is the 554 greeting and nothing else.
  bool refused() const { return mode_ == Mode::Refused; }
  // A command line has begun and not ended (its bytes wait for the rest of it).
  bool midCommand() const { return mode_ == Mode::Command && (!in_.empty() || discardingLine_); }
  // The reply when the client was silent too long; the session is then closing.
  std::string timeout();
  // BccSessionTimeout is up: a message being received is refused (451) and dropped, then
  // 421; the session is then closing.
  std::string sessionExpired();
  // The client sends slower than BccMinDataRate: 421; the session is then closing.
  std::string tooSlow();

  // How a commit's result comes back. The store may call `done` on another thread, so the
  // event shell sets a hook that posts the result to the connection's own thread, which
  // then calls committed(); the hook must not assume the session still exists (the
  // client may have gone). Without a hook the result is taken at once on the thread that
  // calls `done`: right for a store that completes inline or on the session's thread.
  using CommitHook = std::function<void(StoreResult)>;
  void setCommitHook(CommitHook hook) { commitHook_ = std::move(hook); }
  // A message is being made durable: input is kept but not read until committed().
  bool committing() const { return mode_ == Mode::Committing; }
  // The result of the commit in flight: queues the 250 (451, 554) and goes on with the
  // input that arrived meanwhile. Ignored when no commit is in flight.
  void committed(StoreResult result);

 private:
  enum class Mode { Command, Data, Committing, Refused };
  // Runs the commands and data lines held in in_ until it needs more bytes or must wait.
  void process();
  void command(std::string_view line);
  void onHelo(std::string_view arg, bool extended);
  void onMail(std::string_view arg);
  void onRcpt(std::string_view arg);
  void onData(std::string_view arg);
  void onStartTls(std::string_view arg);
  void onXforward(std::string_view arg);
  // Consumes DATA lines from in_ starting at pos; returns false when it needs more bytes.
  bool consumeData(std::size_t& pos);
  void dataLine(std::string_view line);
  void finishData();
  void startCommit();
  // 452 4.3.1 for want of room, else 451 4.3.0; counted.
  void refuse(const StoreResult& result);
  void resetTransaction();
  void reply(int code, std::string_view enhanced, std::string_view text);
  void error(int code, std::string_view enhanced, std::string_view text);
  void count(Refusal why) const {
    if (settings_.counters) settings_.counters->refuse(why);
  }
  bool recipientAccepted(const std::string& address) const;
  std::string receivedHeader(const std::string& id) const;

  const SessionSettings& settings_;
  MessageStore& store_;
  std::string clientIp_;
  Mode mode_;
  std::string in_;
  std::string out_;
  bool processing_ = false;  // inside process(): an inline commit result must not re-enter
  bool closing_ = false;
  bool tlsPending_ = false;
  bool tls_ = false;
  bool discardingLine_ = false;
  unsigned errors_ = 0;

  std::string helo_;
  bool esmtp_ = false;
  bool haveMail_ = false;
  Envelope envelope_;
  std::string xforward_;  // NAME=value lines for the next transaction (holdMode)

  // The message being received.
  std::unique_ptr<MessageWriter> writer_;
  std::uint64_t dataBytes_ = 0;
  bool atLineStart_ = true;
  bool tooBig_ = false;
  bool lineTooLong_ = false;
  bool writeFailed_ = false;
  // The store found no room (or a corrupt database) during the transfer: the rest is
  // read and dropped, and the final dot answered with this (RFC 5321 section 4.2.5).
  std::optional<StoreResult> refusedInData_;
  std::uint64_t nextRoomCheck_ = 0;
  bool inHeaders_ = true;
  bool inMessageIdHeader_ = false;
  std::string messageId_;

  // The commit in flight.
  CommitHook commitHook_;
  std::string committingId_;
  // Expires with the session: a result that arrives later (no hook) is dropped.
  std::shared_ptr<char> alive_ = std::make_shared<char>();
};

}  // namespace bccsink
