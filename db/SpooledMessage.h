#pragma once
// A spooled message's bytes, wherever its row's locator (db/SpoolRecord.h) puts them: a
// record in a segment or a standalone file (large messages, and every message spooled
// before segments). Mapped read-only; the one way every reader (extraction, reports, the
// API, `queue show --raw`) reaches a message.

#include <string>
#include <string_view>

#include "base/MappedFile.h"

namespace bccsink::db {

class SpooledMessage {
 public:
  // Throws std::runtime_error("cannot read the spooled message LOCATOR: reason") when the
  // locator is malformed, the file is missing, or the record is not a live record whose
  // header checks.
  SpooledMessage(const std::string& spoolDir, const std::string& locator);

  std::string_view bytes() const { return mapped_.bytes(); }
  // The queue id in the record's header; '' for a standalone file.
  const std::string& recordId() const { return recordId_; }

 private:
  std::string recordId_;
  MappedFile mapped_;
};

}  // namespace bccsink::db
