#include "sink/smtp/Intake.h"

#include <Poco/Logger.h>

#include "base/Text.h"
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

class IntakeWriter : public MessageWriter {
 public:
  IntakeWriter(Intake& intake, std::unique_ptr<SpoolFile> file,
               std::chrono::system_clock::time_point received)
      : intake_(intake), file_(std::move(file)), received_(received) {}

  const std::string& id() const override { return file_->id(); }
  bool write(std::string_view bytes) override { return file_->write(bytes); }

  void commit(const Envelope& env, const std::string& headerMessageId, Done done) override {
    done(commitNow(env, headerMessageId));
  }

 private:
  StoreResult commitNow(const Envelope& env, const std::string& headerMessageId) {
    auto& log = Poco::Logger::get("bccsink.intake");
    if (!file_->finish()) {
      log.error("intake: %s", file_->error());
      return {Outcome::TempFail, "cannot write the spool"};
    }
    db::MessageRecord r;
    r.id = file_->id();
    r.sink = intake_.limits().sinkName;
    r.receivedAt = isoTime(received_);
    r.sender = env.sender;
    r.recipients = env.recipients;
    r.clientIp = env.clientIp;
    r.helo = env.helo;
    r.tls = env.tls;
    r.headerMessageId = headerMessageId;
    r.size = static_cast<std::int64_t>(file_->size());
    r.sha256 = file_->sha256();
    r.spoolFile = file_->fileName();
    r.envid = env.envid;
    r.ret = env.ret;
    r.body = env.body;
    auto result = intake_.committer().commit(std::move(r));
    if (result.outcome != Outcome::Ok) {
      // No row: the client gets 4xx and sends again, so the file must not stay behind
      // as an orphan.
      file_->discard();
      return result;
    }
    // The mail event log: one line per message, with its queue id.
    log.information("received id=%s from=<%s> rcpts=%z size=%s client=%s helo=%s%s msgid=%s",
                    file_->id(), printableAscii(env.sender, smtp::kMaxClientText),
                    env.recipients.size(), std::to_string(file_->size()), env.clientIp, env.helo,
                    std::string(env.tls ? " tls" : ""), headerMessageId);
    intake_.notifyQueued();
    return result;
  }

  Intake& intake_;
  std::unique_ptr<SpoolFile> file_;
  std::chrono::system_clock::time_point received_;
};

}  // namespace

Intake::Intake(Spool& spool, GroupCommitter& committer, IntakeLimits limits)
    : spool_(spool), committer_(committer), limits_(std::move(limits)) {}

StoreResult Intake::admit(std::uint64_t declaredSize) {
  if (limits_.maxPending > 0 &&
      committer_.pendingCount() >= static_cast<std::int64_t>(limits_.maxPending)) {
    counters_.refuse(Refusal::Backlog);
    return {Outcome::TempFail, "pending queue full"};
  }
  auto nowMs = steadyMs();
  if (nowMs - freeCheckedAtMs_.load() > 250) {
    freeBytes_ = spool_.freeBytes();
    freeCheckedAtMs_ = nowMs;
  }
  if (freeBytes_.load() < limits_.minFreeSpace + declaredSize) {
    counters_.refuse(Refusal::Disk);
    return {Outcome::TempFail, "spool disk nearly full"};
  }
  return {};
}

std::unique_ptr<MessageWriter> Intake::open(StoreResult& result) {
  auto now = std::chrono::system_clock::now();
  std::string error;
  auto file = spool_.create(newUlid(now), error);
  if (!file) {
    Poco::Logger::get("bccsink.intake").error("intake: %s", error);
    result = {Outcome::TempFail, "cannot create a spool file"};
    return nullptr;
  }
  return std::make_unique<IntakeWriter>(*this, std::move(file), now);
}

}  // namespace bccsink
