#pragma once
// One writer at a time per database file within this process, handed over at once.
//
// SQLite lets one connection write at a time; a connection that finds the lock taken
// polls for it in its busy handler, sleeping 1, 2, 5, 10 ... 100 ms between tries. With
// the intake's group commit and the analysis workers writing the same file, the intake
// lost most of a burst in those sleeps (measured: 1,442 sleeps, 24 s asleep in a 19 s
// run, README "Performance"). So this process's connections queue here before
// `BEGIN IMMEDIATE`: a waiter is woken the moment the writer before it finishes, and a
// Durable transaction (a 250 waits on it) goes ahead of Deferred ones waiting with it.
// Other processes (the commands) still meet SQLite's own lock and busy timeout.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "db/Durability.h"

namespace bccsink::db {

class WriteGate {
 public:
  // The gate of the database file at `canonicalPath`, shared by every connection of this
  // process to that file; alive while one of them holds it.
  static std::shared_ptr<WriteGate> of(const std::string& canonicalPath);

  // Waits until no other connection of this process is in a write transaction on this
  // file, Durable writers first. False when `timeout` passed first.
  bool enter(Durability who, std::chrono::milliseconds timeout);
  void leave();

  // A Durable writer waits in enter() now.
  bool durableWaiting();
  // Connections waiting in enter() now.
  int waitingForTest();

 private:
  std::mutex mutex_;
  std::condition_variable free_;
  bool held_ = false;
  int durableWaiting_ = 0;
  int waiting_ = 0;
};

}  // namespace bccsink::db
