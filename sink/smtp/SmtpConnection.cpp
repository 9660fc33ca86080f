#include "sink/smtp/SmtpConnection.h"

#include <Poco/Logger.h>
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "sink/smtp/TlsChannel.h"

namespace bccsink {
namespace {

// Bytes one connection may read per turn before the loop serves the others: a client
// sending a large message at full speed does not stall its loop's other clients.
constexpr std::size_t kReadBudget = 256 * 1024;
// Reply buffer capacity kept between replies; more is given back once it is sent.
constexpr std::size_t kKeptOutput = 16 * 1024;

Poco::Logger& logger() {
  static Poco::Logger& log = Poco::Logger::get("bccsink.smtp");
  return log;
}

}  // namespace

SmtpConnection::SmtpConnection(const ConnectionContext& context, int fd, std::string client,
                               bool allowed, SmtpSession::CommitHook hook, Clock::time_point now)
    : context_(context), fd_(fd), client_(std::move(client)), deadlines_(context.limits(), now) {
  session_ = std::make_unique<SmtpSession>(*context.session, *context.store, client_, allowed);
  session_->setCommitHook(std::move(hook));
  out_ = session_->greeting();
  touch(now);
}

SmtpConnection::~SmtpConnection() {
  if (tls_ && !dead_) tls_->closeNotify();
  tls_.reset();
  ::close(fd_);
}

void SmtpConnection::ready(std::uint32_t events) {
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) canRead_ = true;
  if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
    canWrite_ = true;
    if (readWantsWrite_) {
      readWantsWrite_ = false;
      canRead_ = true;
    }
  }
}

void SmtpConnection::touch(Clock::time_point now) {
  deadlines_.progress(now, session_->inData());
}

bool SmtpConnection::reading() const {
  return !session_->committing() && outSent_ >= out_.size();
}

void SmtpConnection::count(Refusal why) const {
  if (auto* c = context_.session->counters) c->refuse(why);
}

void SmtpConnection::fail(const std::string& why) {
  if (!dead_) logger().information("session client=%s ended: %s", client_, why);
  dead_ = true;
}

void SmtpConnection::takeOutput() {
  auto& produced = session_->output();
  if (produced.empty()) return;
  if (out_.empty()) {
    out_.swap(produced);
  } else {
    out_ += produced;
  }
  produced.clear();
}

SmtpConnection::Next SmtpConnection::pump(Clock::time_point now, std::vector<char>& buffer) {
  std::size_t budget = kReadBudget;
  while (!dead_) {
    if (tls_ && !tls_->established() && !handshake(now)) break;
    flush(now);
    if (dead_) break;
    if (outSent_ < out_.size()) {
      // A refused client's slot is not held for its 554: sent, or given up at once.
      if (session_->refused() && !canWrite_) return Next::Close;
      return Next::Wait;  // until the socket takes more
    }
    if (session_->tlsPending() && !tls_) {
      // The 220 is out in plain text; whatever comes next is the client's ClientHello.
      if (context_.tls == nullptr) {
        fail("STARTTLS without a TLS context");
        break;
      }
      tls_ = std::make_unique<TlsChannel>(context_.tls, fd_);
      // The handshake is timed as a begun command line whose bytes do not count: it has
      // the rate's grace, so a trickled ClientHello holds no slot for the idle timeout.
      deadlines_.resumed(now, true);
      canRead_ = true;
      continue;
    }
    if (closeAfterFlush_ || session_->closing()) return Next::Close;
    if (session_->committing()) return Next::Wait;  // committed() brings it back
    if (peerClosed_) return Next::Close;
    if (!canRead_) return Next::Wait;
    if (budget == 0) return Next::More;
    budget -= std::min(budget, readOnce(now, buffer));
  }
  return dead_ ? Next::Close : Next::Wait;
}

bool SmtpConnection::handshake(Clock::time_point now) {
  switch (tls_->handshake()) {
    case TlsChannel::Status::Ok:
      session_->tlsStarted();
      deadlines_.resumed(now, false);
      touch(now);
      // The client's first command may have come with its last handshake record and now
      // waits inside OpenSSL, where epoll cannot see it.
      canRead_ = true;
      logger().debug("session client=%s: %s", client_, tls_->description());
      return true;
    case TlsChannel::Status::WantRead:
      canRead_ = false;
      return false;
    case TlsChannel::Status::WantWrite:
      canWrite_ = false;
      return false;
    case TlsChannel::Status::Closed:
      fail("closed during the TLS handshake");
      return false;
    case TlsChannel::Status::Failed:
      fail("TLS handshake: " + tls_->error());
      return false;
  }
  return false;
}

void SmtpConnection::flush(Clock::time_point now) {
  while (outSent_ < out_.size() && canWrite_) {
    const char* data = out_.data() + outSent_;
    std::size_t size = out_.size() - outSent_;
    if (tls_) {
      auto r = tls_->write(data, size);
      if (r.status == TlsChannel::Status::Ok) {
        outSent_ += r.bytes;
        touch(now);
        continue;
      }
      if (r.status == TlsChannel::Status::WantWrite) {
        canWrite_ = false;
      } else if (r.status == TlsChannel::Status::WantRead) {
        return;  // retried on the next event
      } else {
        fail(r.status == TlsChannel::Status::Closed ? "closed by the client"
                                                    : "TLS write: " + tls_->error());
      }
      return;
    }
    ssize_t n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n >= 0) {
      outSent_ += static_cast<std::size_t>(n);
      touch(now);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      canWrite_ = false;
    } else if (errno != EINTR) {
      fail(std::strerror(errno));  // EPIPE, ECONNRESET: the client is gone
      return;
    }
  }
  if (outSent_ == out_.size() && !out_.empty()) {
    out_.clear();
    outSent_ = 0;
    if (out_.capacity() > kKeptOutput) std::string().swap(out_);
  }
  deadlines_.unsent(now, outSent_ < out_.size());
}

std::size_t SmtpConnection::readOnce(Clock::time_point now, std::vector<char>& buffer) {
  std::size_t got = 0;
  if (tls_) {
    auto r = tls_->read(buffer.data(), buffer.size());
    switch (r.status) {
      case TlsChannel::Status::Ok:
        got = r.bytes;
        break;
      case TlsChannel::Status::WantRead:
        canRead_ = false;
        return 0;
      case TlsChannel::Status::WantWrite:
        canRead_ = false;
        canWrite_ = false;
        readWantsWrite_ = true;
        return 0;
      case TlsChannel::Status::Closed:
        peerClosed_ = true;
        return 0;
      case TlsChannel::Status::Failed:
        fail("TLS read: " + tls_->error());
        return 0;
    }
  } else {
    ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
    if (n == 0) {
      peerClosed_ = true;  // an unfinished message is discarded with the session
      return 0;
    }
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        canRead_ = false;
      } else if (errno != EINTR) {
        fail(std::strerror(errno));
      }
      return 0;
    }
    got = static_cast<std::size_t>(n);
  }
  session_->feed(std::string_view(buffer.data(), got));
  takeOutput();
  touch(now);  // DATA may have begun or ended: the other timeout applies
  deadlines_.received(now, got, midway());
  return got;
}

void SmtpConnection::committed(StoreResult result, Clock::time_point now) {
  session_->committed(std::move(result));
  takeOutput();
  touch(now);
  // The wait was the store's, not the client's: a line it had begun is timed from now.
  deadlines_.resumed(now, midway());
  if (stopping_) shutdown();
}

bool SmtpConnection::expire(Clock::time_point now) {
  using Expired = ClientDeadlines::Expired;
  if (dead_) return false;
  auto why = deadlines_.check(now, reading());
  if (why == Expired::None) return false;
  if (why == Expired::Send) {
    // Nothing more can reach it; a commit in flight finishes all the same (its copy is
    // stored, and the MTA, having had no 250, sends it again).
    if (!closeAfterFlush_) count(Refusal::SendTimeout);
    fail("replies unread for " + std::to_string(context_.sendTimeout.count()) + " s");
    return true;
  }
  if (session_->committing()) return false;  // its reply first; the next sweep returns
  if (closeAfterFlush_ || outSent_ < out_.size() || (tls_ && !tls_->established())) {
    // Told 421 already, replies it does not take, or a handshake it does not finish: no
    // more words.
    if (!closeAfterFlush_) {
      count(why == Expired::Session ? Refusal::SessionDeadline
            : why == Expired::Slow  ? Refusal::Slow
                                    : Refusal::Timeout);
    }
    fail(why == Expired::Slow ? "too slow" : "timeout");
    return true;
  }
  switch (why) {
    case Expired::Session:
      logger().information("session client=%s: session time limit (%s s) reached", client_,
                           std::to_string(context_.sessionTimeout.count()));
      out_ += session_->sessionExpired();
      break;
    case Expired::Slow:
      logger().information("session client=%s: %s bytes in %s ms, below %s bytes/s", client_,
                           std::to_string(deadlines_.spanBytes()),
                           std::to_string(deadlines_.spanAge(now).count()),
                           std::to_string(context_.minDataRate));
      out_ += session_->tooSlow();
      break;
    default:
      out_ += session_->timeout();
      break;
  }
  closeAfterFlush_ = true;
  // The time it has to take the 421 (an idle client's timeout again; a session or rate
  // deadline stays passed, so the next sweep closes what it did not take), above.
  touch(now);
  return true;
}

void SmtpConnection::shutdown() {
  stopping_ = true;
  if (session_->committing()) return;  // its reply first: committed() comes back here
  if (tls_ && !tls_->established()) {
    dead_ = true;
    return;
  }
  if (!closeAfterFlush_ && !session_->closing() && !peerClosed_) {
    out_ += "421 4.3.2 " + context_.session->hostname + " Service shutting down\r\n";
  }
  closeAfterFlush_ = true;
}

}  // namespace bccsink
