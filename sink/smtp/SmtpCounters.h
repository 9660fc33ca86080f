#pragma once
// What the listener counts for /metrics: messages taken (250 after DATA) and refusals by
// reason. Atomics only, shared by every session and the intake; the session stays a pure
// state machine that bumps a counter where it decides a reply.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace bccsink {

// Why a client was turned away (a reply of 4xx or 5xx that refuses a message or a
// recipient; plain syntax errors are not counted here).
enum class Refusal : std::size_t {
  Relay,        // 550 5.1.1: RCPT to a domain that is not a BCC domain
  Client,       // 554 5.7.1: not in BccAllowedClients
  Size,         // 552 5.3.4: SIZE= or DATA over BccMaxMessageSize, or an overlong line
  Recipients,   // 452 4.5.3: more than BccMaxRecipients
  Connections,  // 421 4.3.2: more than BccMaxConnections
  Disk,         // 452 4.3.1: spool disk below BccMinFreeSpace
  Backlog,      // 452 4.3.1: more than BccMaxPending messages waiting
  Local,        // 451 4.3.0: the spool or the queue could not take the message
  Rejected,     // 554 5.3.0: the store refused the message for good
  Timeout,      // 421 4.4.2: the client was silent too long
  Errors,       // 421 4.7.0: too many protocol errors
  // Issue 18: the bounds on what one client may hold.
  PerIp,            // 421 4.7.0: more than BccMaxConnectionsPerIp from its address (/64)
  SessionDeadline,  // 421 4.4.2: the session outlived BccSessionTimeout
  Slow,             // 421 4.4.2: slower than BccMinDataRate
  SendTimeout,      // closed: its replies unread for BccSendTimeout
  Reserved,         // 554 5.7.1: outside the allow-list, only reserved slots were left
  Count_
};

inline constexpr std::size_t kRefusalKinds = static_cast<std::size_t>(Refusal::Count_);

// The label value of /metrics' bccsink_messages_refused_total{reason=...}.
inline std::string_view refusalName(Refusal r) {
  // One name a line, in the order of Refusal.
  constexpr std::array<std::string_view, kRefusalKinds> names = {
      "relay",
      "client",
      "size",
      "recipients",
      "connections",
      "disk",
      "backlog",
      "local",
      "rejected",
      "timeout",
      "errors",
      "per_ip",
      "session_deadline",
      "slow",
      "send_timeout",
      "reserved",
  };
  return names[static_cast<std::size_t>(r)];
}

struct SmtpCounters {
  std::atomic<std::uint64_t> received{0};  // messages acknowledged with 250
  std::array<std::atomic<std::uint64_t>, kRefusalKinds> refused{};

  void refuse(Refusal r) { ++refused[static_cast<std::size_t>(r)]; }
  std::uint64_t refusedFor(Refusal r) const { return refused[static_cast<std::size_t>(r)].load(); }
};

}  // namespace bccsink
