#include "sink/smtp/Intake.h"

#include <Poco/Logger.h>
#include <openssl/evp.h>

#include <stdexcept>

#include "base/Text.h"
#include "db/Health.h"
#include "sink/smtp/GroupCommitter.h"
#include "sink/smtp/SmtpCommand.h"
#include "sink/smtp/Spool.h"
#include "sink/smtp/Ulid.h"

namespace bccsink {
namespace {

std::int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// SHA-256 as the bytes arrive.
class Digest {
 public:
  Digest() : ctx_(EVP_MD_CTX_new()) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
      throw std::runtime_error("OpenSSL SHA-256 initialisation failed");
    }
  }
  ~Digest() { EVP_MD_CTX_free(ctx_); }
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;
  void update(std::string_view bytes) { EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()); }
  db::Sha256 finish() {
    db::Sha256 d{};
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_, d.data(), &len);
    return d;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// A message while it arrives: in memory up to Spool::kMaxRecordMessage (it becomes a
// segment record), spilled to its own spool file beyond that.
class IntakeWriter : public MessageWriter {
 public:
  IntakeWriter(Intake& intake, std::string id, std::chrono::system_clock::time_point received)
      : intake_(intake), id_(std::move(id)), received_(received) {}

  const std::string& id() const override { return id_; }

  bool write(std::string_view bytes) override {
    if (failed_) return false;
    digest_.update(bytes);
    size_ += bytes.size();
    if (!file_ && buffer_.size() + bytes.size() <= Spool::kMaxRecordMessage) {
      buffer_.append(bytes);
      return true;
    }
    if (!file_ && !spill()) return false;
    if (!file_->write(bytes)) return fail(file_->error());
    return true;
  }

  void commit(const Envelope& env, const std::string& headerMessageId, Done done) override {
    if (failed_) {
      done({Outcome::TempFail, "cannot write the spool"});
      return;
    }
    // Before the durable write: a record still to be written needs its bytes; a spilled
    // file is written already, and its row needs the WAL allowance only.
    if (auto room = intake_.room(file_ ? 0 : buffer_.size()); room.outcome != Outcome::Ok) {
      file_.reset();  // its unfinished ID.eml.tmp goes with it
      done(std::move(room));
      return;
    }
    CommitItem item;
    auto& r = item.record;
    r.id = id_;
    r.sink = intake_.limits().sinkName;
    r.receivedAt = isoTime(received_);
    r.sender = env.sender;
    r.recipients = env.recipients;
    r.clientIp = env.clientIp;
    r.helo = env.helo;
    r.tls = env.tls;
    r.headerMessageId = headerMessageId;
    r.size = static_cast<std::int64_t>(size_);
    item.sha256 = digest_.finish();
    r.sha256 = db::hex(item.sha256);
    r.envid = env.envid;
    r.ret = env.ret;
    r.body = env.body;
    r.hold = env.hold;
    r.smtputf8 = env.smtputf8;
    r.xforward = env.xforward;
    item.bytes = std::move(buffer_);
    item.file = std::move(file_);
    // The mail event log line and the workers' wake-up happen once it is durable, on the
    // committer's thread; what they need is copied, as this writer may be gone by then.
    std::string line =
        "received id=" + id_ + " from=<" + printableAscii(env.sender, smtp::kMaxClientText) +
        "> rcpts=" + std::to_string(env.recipients.size()) + " size=" + std::to_string(size_) +
        " client=" + env.clientIp + " helo=" + env.helo + (env.tls ? " tls" : "") +
        (env.hold ? " hold" : "") + " msgid=" + headerMessageId;
    Intake& intake = intake_;
    intake_.committer().submit(std::move(item), [&intake, line = std::move(line),
                                                 done = std::move(done)](StoreResult result) {
      if (result.outcome == Outcome::Ok) {
        Poco::Logger::get("bccsink.intake").information(line);
        intake.notifyQueued();
      }
      done(std::move(result));
    });
  }

 private:
  bool spill() {
    file_ = intake_.spool().create(id_);
    if (!file_->error().empty()) return fail(file_->error());
    if (!file_->write(buffer_)) return fail(file_->error());
    buffer_ = std::string();
    return true;
  }

  bool fail(const std::string& error) {
    Poco::Logger::get("bccsink.intake").error("intake: %s", error);
    failed_ = true;
    return false;
  }

  Intake& intake_;
  std::string id_;
  std::chrono::system_clock::time_point received_;
  std::string buffer_;
  std::unique_ptr<SpoolFile> file_;
  Digest digest_;
  std::uint64_t size_ = 0;
  bool failed_ = false;
};

}  // namespace

Intake::Intake(Spool& spool, GroupCommitter& committer, IntakeLimits limits)
    : spool_(spool), committer_(committer), limits_(std::move(limits)) {}

std::uint64_t Intake::readFreeBytes() const {
  return limits_.freeSpace ? limits_.freeSpace() : spool_.freeBytes();
}

StoreResult Intake::roomIn(std::uint64_t free, std::uint64_t bytes) {
  if (free < limits_.minFreeSpace + limits_.walAllowance + bytes) {
    counters_.refuse(Refusal::Disk);
    return {Outcome::TempFail, "spool disk nearly full", true};
  }
  return {};
}

StoreResult Intake::room(std::uint64_t bytes) {
  auto& health = db::Health::process();
  if (health.corrupt()) {
    // Counted by the session, as its other 451s.
    return {Outcome::TempFail, health.reason()};
  }
  const auto free = readFreeBytes();
  // MAIL's cache sees it at once: a disk found full here refuses the next MAIL too.
  freeBytes_ = free;
  freeCheckedAtMs_ = steadyMs();
  return roomIn(free, bytes);
}

StoreResult Intake::admit(std::uint64_t declaredSize) {
  auto& health = db::Health::process();
  if (health.corrupt()) {
    counters_.refuse(Refusal::Local);
    return {Outcome::TempFail, health.reason()};
  }
  if (limits_.maxPending > 0 &&
      committer_.pendingCount() >= static_cast<std::int64_t>(limits_.maxPending)) {
    counters_.refuse(Refusal::Backlog);
    return {Outcome::TempFail, "pending queue full", true};
  }
  auto nowMs = steadyMs();
  if (nowMs - freeCheckedAtMs_.load() > 250) {
    freeBytes_ = readFreeBytes();
    freeCheckedAtMs_ = nowMs;
  }
  return roomIn(freeBytes_.load(), declaredSize);
}

std::unique_ptr<MessageWriter> Intake::open(StoreResult&) {
  // Nothing touches the disk before the message is complete (a large one's file is
  // created when it passes the record size), so opening cannot fail.
  auto now = std::chrono::system_clock::now();
  return std::make_unique<IntakeWriter>(*this, newUlid(now), now);
}

}  // namespace bccsink
