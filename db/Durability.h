#pragma once
// What a committed write transaction promises (db/Database.h applies it).

namespace bccsink::db {

enum class Durability {
  // On disk when COMMIT returns (SQLite: synchronous = FULL, the write-ahead log fsync'd
  // at every commit). For commits someone is told about: the 250 after DATA, a report
  // mail sent, every command's change. In this process a Durable write transaction goes
  // ahead of Deferred ones waiting for the write lock (db/WriteGate.h).
  Durable,
  // In the write-ahead log when COMMIT returns; on disk with the next Durable commit of
  // any connection (its fsync covers the whole log, so a Durable commit never survives
  // power loss without the Deferred ones before it), the next checkpoint, or the
  // kernel's writeback (SQLite: synchronous = NORMAL in WAL mode). Power loss can undo
  // the last such commits, and never leaves the database inconsistent. Only for stages
  // whose undone commit means work done again: the analysis workers (a claim or a
  // result undone puts the message back to `pending` or `analyzing`, and it is analysed
  // again), the reporter's judgement (made again).
  Deferred,
};

}  // namespace bccsink::db
