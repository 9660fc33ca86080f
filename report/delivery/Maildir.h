#pragma once
// The Maildir outbox (BccReportMaildir): instead of mailing a report, put it as a new mail
// in a Maildir that the administrator's mail reader or IMAP server shows. The steps are
// the Maildir convention (https://cr.yp.to/proto/maildir.html): write to tmp/ under a
// name no other delivery uses, fsync, rename into new/, fsync new/. A report is in the
// outbox once the rename is on disk, and never half there.

#include <string>

#include "report/delivery/DeliveryResult.h"

namespace bccsink::report {

class Maildir {
 public:
  // `root`: the Maildir folder. It and its tmp/ new/ cur/ are made (mode 0700) at the
  // first delivery when missing; nothing is touched before.
  explicit Maildir(std::string root);

  // Stores `message` byte for byte as one new mail. Ok with the file's path as receipt.
  // A folder that cannot be made or written for a reason that lasts (no permission, a file
  // in the way, read-only file system) is PermFail; disk full, I/O errors and the rest are
  // TempFail. A failed delivery leaves nothing in new/ and removes its tmp/ file. Safe to
  // call from several threads and processes at once.
  DeliveryResult deliver(const std::string& message) const;

  const std::string& root() const { return root_; }

 private:
  std::string root_;
};

}  // namespace bccsink::report
