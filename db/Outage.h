#pragma once
// How a stage lives through a database that is away (PostgreSQL stopped, restarting or
// unreachable; SQLite locked past its busy timeout): its round fails, it waits a little
// longer each time (1 s, 2 s, 4 s, then every 5 s) and tries again; the next session()
// (or a new Database) connects again, so nothing needs a restart. The log gets one line
// when a stage's rounds start failing and one when they work again, with how long that
// took: an outage of an hour is two lines, not thousands (each failed round is at debug
// level; a reminder with the latest error every 10 minutes).
//
// One per stage, shared by its threads (the analysis workers): the outage starts with the
// first thread that fails and ends when every thread that failed has had a round work.
//
// A corrupt database (db/Health.h) is no outage: it does not pass. Its rounds are not
// logged here (Health logs it once, at critical) and wait kCorruptPause each, so the
// stages do not hammer a file that cannot answer.
// Header-only: db/'s build list belongs to the repositories' owners for now.

#include <Poco/Exception.h>
#include <Poco/Logger.h>

#include <chrono>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "base/Backoff.h"
#include "base/Text.h"
#include "db/Health.h"

namespace bccsink::db {

class Outage {
 public:
  using Clock = std::chrono::steady_clock;

  Outage(Poco::Logger& log, std::string stage,
         std::chrono::milliseconds first = std::chrono::seconds(1),
         std::chrono::milliseconds cap = std::chrono::seconds(5))
      : log_(log), stage_(std::move(stage)), first_(first), cap_(cap) {}
  Outage(const Outage&) = delete;
  Outage& operator=(const Outage&) = delete;

  // This thread's round failed with `error`. Returns how long it waits before the next.
  // Only SQLite's own errors are read as corruption (Health::isCorruption): the text of
  // another error may come from a message or the network.
  std::chrono::milliseconds failed(const std::exception& error) {
    if (Health::isCorruption(error)) return corrupt(textOf(error));
    return backOff(textOf(error));
  }
  // A failure known only by its text (tests).
  std::chrono::milliseconds failed(const std::string& error) {
    if (Health::isCorruptionText(error)) return corrupt(error);
    return backOff(error);
  }

  // A failure that is not corruption: logged once as an outage, then a pause that grows.
  std::chrono::milliseconds backOff(const std::string& error) {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    const int tries = ++failing_[std::this_thread::get_id()];
    ++rounds_;
    if (!ongoing_) {
      ongoing_ = true;
      since_ = now;
      remindAt_ = now + kReminder;
      rounds_ = 1;
      log_.error(
          "%s: the database failed; trying again every few seconds until it works (one "
          "line when it does): %s",
          stage_, error);
    } else if (now >= remindAt_) {
      remindAt_ = now + kReminder;
      log_.error("%s: the database still fails after %s s: %s", stage_, seconds(now - since_),
                 error);
    } else {
      log_.debug("%s: round failed (try %d): %s", stage_, tries, error);
    }
    return retryDelay(tries, first_, cap_);
  }

  // This thread's round worked; the last of the failing threads to get here ends the outage.
  void succeeded() {
    std::lock_guard lock(mutex_);
    if (!ongoing_) return;
    failing_.erase(std::this_thread::get_id());
    if (!failing_.empty()) return;
    ongoing_ = false;
    log_.notice("%s: the database works again after %s s (%d failed rounds)", stage_,
                seconds(Clock::now() - since_), rounds_);
  }

  bool ongoing() const {
    std::lock_guard lock(mutex_);
    return ongoing_;
  }

  // An error's text for one log line: Poco's displayText (its what() is only the class's
  // name), libpq's several lines ("...refused\n\tIs the server running...") joined.
  static std::string textOf(const std::exception& e) {
    auto p = dynamic_cast<const Poco::Exception*>(&e);
    const auto text = oneLineUtf8(p ? p->displayText() : std::string(e.what()), 1000);
    std::string out;
    for (char c : text) {
      if (c != ' ' || (!out.empty() && out.back() != ' ')) out += c;
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
  }

 private:
  static constexpr auto kReminder = std::chrono::minutes(10);
  // A round against a corrupt database: it fails the same way until someone rebuilds it.
  static constexpr auto kCorruptPause = std::chrono::seconds(60);

  std::chrono::milliseconds corrupt(const std::string& error) {
    Health::process().setCorrupt(error);
    log_.debug("%s: round failed: the database is corrupt: %s", stage_, error);
    return kCorruptPause;
  }

  static std::string seconds(Clock::duration d) {
    const auto tenths = std::chrono::duration_cast<std::chrono::milliseconds>(d).count() / 100;
    return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10);
  }

  Poco::Logger& log_;
  const std::string stage_;
  const std::chrono::milliseconds first_, cap_;
  mutable std::mutex mutex_;
  bool ongoing_ = false;
  Clock::time_point since_, remindAt_;
  int rounds_ = 0;                          // failed rounds of this outage, all threads
  std::map<std::thread::id, int> failing_;  // threads whose last round failed: how often
};

}  // namespace bccsink::db
