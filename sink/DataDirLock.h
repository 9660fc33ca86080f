#pragma once
// One daemon per data folder: `bccsink serve` holds an exclusive flock on
// DataDir/bccsink.lock from before recovery until it exits. A second daemon on the same
// folder would recover under the first one's feet (remove its unfinished spool files,
// drop what it is appending), so it is refused before it touches anything.

#include <string>

namespace bccsink {

class DataDirLock {
 public:
  // Takes the lock and writes this process's pid into the file. Throws std::runtime_error
  // "DataDir D is in use by another bccsink (pid N)" when another process holds it, or
  // naming the file and reason when it cannot be opened.
  explicit DataDirLock(const std::string& dataDir);
  ~DataDirLock();
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace bccsink
