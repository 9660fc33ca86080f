#include "sandbox/slo/SloWatch.h"

#include <Poco/Logger.h>
#include <pthread.h>

#include <memory>

#include "base/Clock.h"
#include "db/Database.h"

namespace bccsink::sandbox {
namespace {

Poco::Logger& log() {
  return Poco::Logger::get("bccsink.slo");
}

}  // namespace

SloWatch::SloWatch(SloWatchSettings settings, VerdictSlo& slo)
    : settings_(std::move(settings)), slo_(slo), warning_(log()) {}

SloWatch::~SloWatch() {
  stop();
}

void SloWatch::start() {
  thread_ = std::thread([this] { run(); });
}

void SloWatch::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SloWatch::run() {
  pthread_setname_np(pthread_self(), "slo-watch");
  std::unique_ptr<db::Database> db;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      if (cv_.wait_for(lock, settings_.interval, [this] { return stopping_; })) return;
    }
    try {
      if (!db) db = std::make_unique<db::Database>(settings_.databaseUrl, db::Durability::Deferred);
      warning_.check(slo_.read(*db, settings_.sink, nowMs()), SloWarning::Clock::now());
    } catch (const std::exception& e) {
      db.reset();  // a new connection next round
      log().debug("verdict SLO not read this round: %s", std::string(e.what()));
    }
  }
}

}  // namespace bccsink::sandbox
