#pragma once
// The files found in one message, in the order extraction found them: what the report
// lists, each pointing at its row in `files` (type, MD5) and, through it, at the cached
// verdicts. A file's verdict here is the one this message got: the worst of its
// analyzers' answers, or unscanned with the reason (unreadable, deadline passed). Names,
// paths, reasons and errors come from mail: stored as db::storedText() makes them.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bccsink::db {

class Database;

struct MessageFile {
  int position = 0;
  std::string sha256;  // '' when the bytes could not be read
  std::string name;
  std::string path;  // "invoice.zip > docs/a.exe"
  std::string extension;
  bool extensionMismatch = false;
  std::int64_t size = 0;
  bool selected = false;
  std::string verdict;  // '' while analysis is outstanding (or not selected)
  std::string reason;   // why not selected, or why unscanned
  // Why its bytes are not in DataDir/files (the message's stored-content budget,
  // BccMaxStoredPerMessage: analysed from memory), '' when kept or never offered.
  std::string notKept;
  // From `files`, when read back ('' for unreadable files).
  std::string md5, trueType, description, family;
};

// One message's extraction as save() records it.
struct ExtractedFiles {
  std::string msgId;
  std::vector<MessageFile> files;
  std::string errors;  // one per line
};

// A verdict for the file at `position` of message `msgId` (setVerdicts).
struct FileVerdict {
  std::string msgId;
  int position = 0;
  std::string verdict, reason;
};

class MessageFiles {
 public:
  explicit MessageFiles(Database& db);

  // Replaces the message's files and extraction errors (a re-claimed message starts
  // over) and marks it extracted, in one write transaction. Every non-empty sha256 must
  // have a `files` row.
  void save(const std::string& msgId, const std::vector<MessageFile>& files,
            const std::string& errors, const std::string& nowIso);
  // save() of each, in one write transaction, each statement prepared once.
  void save(const std::vector<ExtractedFiles>& list, const std::string& nowIso);
  std::vector<MessageFile> list(const std::string& msgId);
  // list() of each message, in one query per few hundred (a worker's claim).
  std::map<std::string, std::vector<MessageFile>> listAll(const std::vector<std::string>& msgIds);
  // The extraction errors save() stored, one per line ('' when none, or not extracted).
  std::string errors(const std::string& msgId);
  // Sets the verdict of the message's file at `position` unless it has one already.
  void setVerdict(const std::string& msgId, int position, const std::string& verdict,
                  const std::string& reason);
  // setVerdict() of each, in one write transaction.
  void setVerdicts(const std::vector<FileVerdict>& list);
  // Messages in `analyzing` held by `owner` with a selected file of this digest that has
  // no verdict yet: the ones an arriving verdict may complete.
  std::vector<std::string> waitingOn(const std::string& sha256, const std::string& owner);

 private:
  Database& db_;
};

}  // namespace bccsink::db
