#pragma once
// The result of handing one report to its receiver (a mail server or a Maildir). Like the
// listener's own Outcome (sink/MessageStore.h), it says whether a failure is transient or
// permanent and leaves the retry to the caller; report/ keeps its own copy because it must
// not depend on sink/ (DESIGN.md: report -> db only).

#include <string>
#include <vector>

namespace bccsink::report {

enum class Outcome {
  Ok,        // the receiver has taken the message (SMTP: 250 to the final "."; Maildir: in new/)
  TempFail,  // try again later: 4xx, connection lost, timeout, TLS failure, disk full
  PermFail,  // retrying the same thing will not help: 5xx, auth refused, a setting is wrong
};

inline const char* toString(Outcome outcome) {
  switch (outcome) {
    case Outcome::Ok:
      return "ok";
    case Outcome::TempFail:
      return "tempfail";
    case Outcome::PermFail:
      return "permfail";
  }
  return "?";
}

// A recipient the server refused while it accepted others; the message went to the others.
struct RejectedRecipient {
  std::string address;
  std::string reply;       // the server's reply to RCPT, e.g. "550 5.1.1 <x@y>: unknown user"
  bool temporary = false;  // 4xx: worth sending again to this address alone
};

struct DeliveryResult {
  Outcome outcome = Outcome::Ok;
  // For the log and the administrator: what failed, with the server's reply where the
  // server decided. Never holds a password or an AUTH command line.
  std::string reason;
  // What the receiver said it stored: SMTP the reply to the final "." (it carries the
  // server's queue id), Maildir the path of the file in new/. Empty unless Ok.
  std::string receipt;
  std::vector<std::string> accepted;        // SMTP: the recipients that got it (Ok only)
  std::vector<RejectedRecipient> rejected;  // SMTP: the recipients the server refused

  bool ok() const { return outcome == Outcome::Ok; }
};

}  // namespace bccsink::report
