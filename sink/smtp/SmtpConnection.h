#pragma once
// One client of the event-driven listener: its non-blocking socket, its SmtpSession, its
// STARTTLS channel, the replies not yet sent and its deadline. Only its ListenerLoop's
// thread touches it: the loop reports socket readiness, commit results and the clock, and
// pump() does whatever can be done without waiting.
//
// Backpressure: nothing is read while replies are unsent, a commit is in flight or a TLS
// handshake is pending. A client that pipelines a flood or never reads its replies costs
// one bounded buffer (what one read produced), never a thread, and is closed after
// BccSendTimeout. Its time is bounded too (ClientDeadlines): idle, whole session, rate.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sink/smtp/ClientDeadlines.h"
#include "sink/smtp/SmtpSession.h"

struct ssl_ctx_st;

namespace bccsink {

class TlsChannel;

// What the connections of one server share; read-only once the server runs.
struct ConnectionContext {
  const SessionSettings* session = nullptr;
  MessageStore* store = nullptr;
  ssl_ctx_st* tls = nullptr;  // null without BccTlsCertificate
  std::chrono::seconds commandTimeout{300};
  std::chrono::seconds dataTimeout{180};
  // Issue 18 (ClientDeadlines); 0 = none.
  std::chrono::seconds sessionTimeout{0};
  std::uint64_t minDataRate = 0;
  std::chrono::seconds sendTimeout{0};
  std::chrono::seconds rateGrace{10};

  ClientLimits limits() const {
    return {commandTimeout, dataTimeout, sessionTimeout, minDataRate, rateGrace, sendTimeout};
  }
};

class SmtpConnection {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Next {
    Wait,   // nothing more until the socket, a commit or the clock says so
    More,   // its read budget is spent while it has more: pump again soon
    Close,  // finished (or broken): destroy it
  };

  // Takes `fd` (closed by the destructor) and queues the greeting.
  SmtpConnection(const ConnectionContext& context, int fd, std::string client, bool allowed,
                 SmtpSession::CommitHook hook, Clock::time_point now);
  ~SmtpConnection();
  SmtpConnection(const SmtpConnection&) = delete;
  SmtpConnection& operator=(const SmtpConnection&) = delete;

  // epoll's events for the socket (edge-triggered: remembered until used up).
  void ready(std::uint32_t events);
  // Handshake, send, read and feed the session as far as possible; `buffer` is the loop's
  // scratch space for reads.
  Next pump(Clock::time_point now, std::vector<char>& buffer);
  // The result of this connection's commit, on the loop's thread.
  void committed(StoreResult result, Clock::time_point now);
  // Called by the loop's sweep. When a deadline has passed (ClientDeadlines): 421 4.4.2
  // (a message in DATA at the session's end gets 451 first), or a plain close when the
  // client is not taking what was sent, is mid-handshake or was told 421 already; true
  // then. A commit in flight is answered first, except to a client that reads nothing.
  bool expire(Clock::time_point now);
  // The server stops: 421 4.3.2, after the reply to a commit in flight if there is one.
  void shutdown();

  const std::string& client() const { return client_; }
  int fd() const { return fd_; }

 private:
  bool handshake(Clock::time_point now);
  void flush(Clock::time_point now);
  // One read into `buffer`, fed to the session; the bytes read (0: nothing now, or the end).
  std::size_t readOnce(Clock::time_point now, std::vector<char>& buffer);
  void takeOutput();
  void touch(Clock::time_point now);
  void fail(const std::string& why);
  // Whether the connection reads now (else the client's rate is not its fault): not while
  // a commit is in flight or its own replies wait. A TLS handshake reads.
  bool reading() const;
  bool midway() const { return session_->inData() || session_->midCommand(); }
  void count(Refusal why) const;

  const ConnectionContext& context_;
  int fd_;
  std::string client_;
  std::unique_ptr<SmtpSession> session_;
  std::unique_ptr<TlsChannel> tls_;
  std::string out_;  // replies not yet sent, from outSent_ on
  std::size_t outSent_ = 0;
  ClientDeadlines deadlines_;
  // Edge-triggered: no EAGAIN seen since the last EPOLLIN (false at first: bytes that
  // arrive before the greeting is sent raise an event of their own).
  bool canRead_ = false;
  bool canWrite_ = true;
  bool readWantsWrite_ = false;  // TLS: a read must wait until the socket takes bytes
  bool peerClosed_ = false;      // end of stream read
  bool closeAfterFlush_ = false;
  bool stopping_ = false;
  bool dead_ = false;  // a socket or TLS error: close without another word
};

}  // namespace bccsink
