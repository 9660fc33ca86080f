#pragma once
// One message copy as the queue stores it: the envelope, where it came from, and the
// spooled bytes' size and digest. Plain data; no behaviour.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace bccsink::db {

struct Recipient {
  // Not an aggregate, so that {address, orcpt, notify} leaves `original` empty quietly.
  Recipient(std::string address = {}, std::string orcpt = {}, std::string notify = {},
            std::string original = {})
      : address(std::move(address)),
        orcpt(std::move(orcpt)),
        notify(std::move(notify)),
        original(std::move(original)) {}
  std::string address;
  std::string orcpt;   // DSN ORCPT=, as sent (RFC 3461 section 4.2), '' when absent
  std::string notify;  // DSN NOTIFY=, e.g. "NEVER", '' when absent
  // Schema 7: the original recipient this address encodes (recipient_bcc_maps'
  // watch+LOCAL=DOMAIN@bcc.example.com gives LOCAL@DOMAIN), '' when none.
  std::string original;
};

struct MessageRecord {
  std::string id;  // ULID
  std::string sink;
  std::string state;
  std::string reason;
  int attempts = 0;
  std::string receivedAt;  // ISO 8601 UTC
  std::string updatedAt;
  std::string sender;
  std::vector<Recipient> recipients;
  std::string clientIp;
  std::string helo;
  bool tls = false;
  std::string headerMessageId;
  std::int64_t size = 0;
  std::string sha256;
  std::string spoolFile;
  std::string envid;  // DSN ENVID=
  std::string ret;    // DSN RET=
  std::string body;   // BODY= (7BIT, 8BITMIME)
  // SMTP mode (schema 6): the message came in on SmtpSocket and is held until its verdict,
  // then re-injected into SmtpSenderRelay (db/HoldQueue). What its replay needs beyond the
  // columns above: SMTPUTF8 on MAIL, and the XFORWARD attributes the client sent, one
  // "NAME=value" a line (Postfix's XFORWARD_README), '' when none.
  bool hold = false;
  bool smtputf8 = false;
  std::string xforward;
  // Analysis (schema 2).
  std::string leaseOwner;       // the sink whose worker holds it, '' when none
  std::int64_t deadlineMs = 0;  // ms since the epoch; 0 until claimed
  std::string verdict;          // worst of its files' once checked, '' before
  std::string checkedAt;        // ISO 8601 UTC, '' before
  std::string errors;           // what extraction could not read, one a line
  std::string extractedAt;      // when this claim's files were saved, '' before
  // Reports (schema 3).
  bool judged = false;  // the reporter has looked at it (spoofed and reportStatus are set)
  bool spoofed = false;
  std::string spoofReason;
  std::string reportStatus;  // '' (not judged), none, due, sent, undeliverable
  int reportAttempts = 0;
  std::int64_t reportNextMs = 0;  // ms since the epoch; 0 = at once
  std::string reportError;        // the last delivery failure
  std::string reportedAt;         // ISO 8601 UTC, '' before
  // Retention (schema 7): when the content (spool record or file) was deleted, '' while
  // it is kept. The row stays until BccKeepRows.
  std::string contentExpiredAt;
};

namespace state {
inline constexpr const char* kPending = "pending";
inline constexpr const char* kAnalyzing = "analyzing";
inline constexpr const char* kChecked = "checked";
inline constexpr const char* kReported = "reported";
inline constexpr const char* kFailed = "failed";
}  // namespace state

namespace report_status {
inline constexpr const char* kNone = "none";
inline constexpr const char* kDue = "due";
inline constexpr const char* kSent = "sent";
inline constexpr const char* kUndeliverable = "undeliverable";
// An SMTP-mode message whose action is not decided yet: the reporter waits for the hold
// stage, which sets the status back to NULL (to be judged) when it decides, so that the
// report says what was done with the message.
inline constexpr const char* kHeld = "held";
}  // namespace report_status

}  // namespace bccsink::db
