#pragma once
// What a delivery of one report returned: the Outcome (base/Outcome.h), the reason, what
// the receiver said it stored, and which recipients it took or refused.

#include <string>
#include <vector>

#include "base/Outcome.h"

namespace bccsink::report {

// A recipient the server refused while it accepted others; the message went to the others.
struct RejectedRecipient {
  std::string address;
  std::string reply;         // the server's reply to RCPT, e.g. "550 5.1.1 <x@y>: unknown user"
  bool temporary = false;    // 4xx: worth sending again to this address alone
  std::size_t position = 0;  // SmtpClient::relay: its index in the envelope's recipients
};

struct DeliveryResult {
  Outcome outcome = Outcome::Ok;
  // For the log and the administrator: what failed, with the server's reply where the
  // server decided. Never holds a password or an AUTH command line.
  std::string reason;
  // What the receiver said it stored: SMTP the reply to the final "." (it carries the
  // server's queue id), Maildir the path of the file in new/. Empty unless Ok.
  std::string receipt;
  std::vector<std::string> accepted;           // SMTP: the recipients that got it (Ok only)
  std::vector<RejectedRecipient> rejected;     // SMTP: the recipients the server refused
  std::vector<std::size_t> acceptedPositions;  // SmtpClient::relay: indexes of `accepted`

  bool ok() const { return outcome == Outcome::Ok; }
};

}  // namespace bccsink::report
