#pragma once
// What the SMTP session needs from storage, and nothing more: is there room, open a
// message, write bytes, commit. The session never sees files or SQL; tests give it an
// in-memory store.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/Outcome.h"
#include "db/MessageRecord.h"

namespace bccsink {

// The session maps an Outcome to 2xx/4xx/5xx.
struct StoreResult {
  Outcome outcome = Outcome::Ok;
  std::string detail;  // for the log and the reply text; never a secret
  // A TempFail for want of room (disk space, the pending limit): 452 4.3.1 (RFC 5321
  // section 4.2.2, "insufficient system storage"); any other TempFail is 451 4.3.0.
  bool noRoom = false;
};

struct Envelope {
  std::string clientIp;
  std::string helo;
  bool esmtp = false;
  bool tls = false;
  std::string sender;  // '' for the null reverse-path <>
  std::vector<db::Recipient> recipients;
  std::uint64_t declaredSize = 0;  // SIZE=, 0 when not given
  std::string body;                // BODY=
  std::string ret;                 // RET=
  std::string envid;               // ENVID=
  bool smtputf8 = false;
  // SMTP mode (SmtpSocket): the message is held until its verdict and then re-injected,
  // with the XFORWARD attributes the client sent ("NAME=value" lines, xtext as sent).
  bool hold = false;
  std::string xforward;
};

class MessageWriter {
 public:
  virtual ~MessageWriter() = default;  // discards the message unless committed
  virtual const std::string& id() const = 0;
  // Appends bytes; false once the spool cannot be written (the session answers 451).
  virtual bool write(std::string_view bytes) = 0;
  // Hands the message over to be made durable. `done` is called exactly once, with Ok only
  // when the bytes are on disk and the row committed; it may run inline (before commit()
  // returns) or later on another thread (the group committer's). The writer may be
  // destroyed as soon as commit() returns: what the commit needs it has taken.
  using Done = std::function<void(StoreResult)>;
  virtual void commit(const Envelope& envelope, const std::string& headerMessageId, Done done) = 0;
};

// Waits for an asynchronous commit: for tests and other blocking callers.
StoreResult commitAndWait(MessageWriter& writer, const Envelope& envelope,
                          const std::string& headerMessageId);

class MessageStore {
 public:
  virtual ~MessageStore() = default;
  // Whether a new message of about `declaredSize` bytes may come in (disk, queue limit).
  virtual StoreResult admit(std::uint64_t declaredSize) = 0;
  // Whether `bytes` more bytes of the message being received still fit, read fresh (not
  // cached): asked at DATA before the 354 (the declared SIZE) and every kRoomStep bytes of
  // the message, so that a disk filling during a transfer is seen before it is full.
  virtual StoreResult room(std::uint64_t bytes) {
    (void)bytes;
    return {};
  }
  static constexpr std::uint64_t kRoomStep = 1u << 20;
  // Opens a new message; TempFail detail in `result` when that is impossible.
  virtual std::unique_ptr<MessageWriter> open(StoreResult& result) = 0;
};

}  // namespace bccsink
