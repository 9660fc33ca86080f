#pragma once
// When one SMTP client's connection must end, and why (issue 18, finding 1). Idle time
// alone (RFC 5321 section 4.5.3.2) does not bound a session: one byte every few seconds
// keeps it forever. So, besides the idle timeouts:
//   session  BccSessionTimeout from connect, however busy the client is;
//   slow     BccMinDataRate while the client is in the middle of something (a command
//            line begun and not ended, then the next one begun in the same breath, a
//            message's DATA, a TLS handshake): after a grace of 10 s every byte buys
//            1/rate s more, as Postfix's smtpd_min_data_rate does; a client behind that
//            is too slow;
//   send     BccSendTimeout: replies left unsent this long (a client that does not read).
// Pure logic: the connection reports what happened and when, and asks at each sweep.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace bccsink {

struct ClientLimits {
  std::chrono::seconds commandTimeout{300};  // BccCommandTimeout
  std::chrono::seconds dataTimeout{180};     // BccDataTimeout
  std::chrono::seconds sessionTimeout{0};    // BccSessionTimeout; 0 = none
  std::uint64_t minDataRate = 0;             // BccMinDataRate, bytes/s; 0 = none
  std::chrono::seconds rateGrace{10};        // before the rate counts
  std::chrono::seconds sendTimeout{0};       // BccSendTimeout; 0 = none
};

class ClientDeadlines {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Expired {
    None,
    Idle,     // silent beyond the command or data timeout
    Session,  // the session's whole time is up
    Slow,     // behind the minimum data rate
    Send,     // replies unsent beyond the send timeout
  };

  ClientDeadlines(const ClientLimits& limits, Clock::time_point connected);

  // Bytes moved either way: the idle time starts again (the data timeout in DATA).
  void progress(Clock::time_point now, bool inData);
  // `bytes` were read and given to the session, which is now `midway` (a command line
  // begun, or in DATA) or not. Midway opens a span that runs until the session is not.
  void received(Clock::time_point now, std::size_t bytes, bool midway);
  // The connection paused reading for reasons of its own (a commit in flight) and goes on:
  // a span, if the session is midway, is timed from now.
  void resumed(Clock::time_point now, bool midway);
  // Whether replies are waiting that the socket would not take; the send timeout runs
  // from the first moment they wait until none does.
  void unsent(Clock::time_point now, bool waiting);

  // What has expired at `now`, most urgent first: send, session, slow, idle. `reading`:
  // the connection reads now; while it does not (a commit in flight, its own replies
  // unsent), the client cannot be blamed for its rate.
  Expired check(Clock::time_point now, bool reading) const;

  // The span's figures, for the log.
  std::uint64_t spanBytes() const { return spanBytes_; }
  std::chrono::milliseconds spanAge(Clock::time_point now) const;

 private:
  bool behind(Clock::time_point now) const;

  ClientLimits limits_;
  Clock::time_point connected_;
  Clock::time_point idleBy_;
  bool spanOpen_ = false;
  Clock::time_point spanStart_;
  std::uint64_t spanBytes_ = 0;
  std::optional<Clock::time_point> unsentSince_;
};

}  // namespace bccsink
