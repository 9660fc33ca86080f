#pragma once
// What the hold stage writes after a message's verdict, for X-Bccsink-Verdict, the queue
// and the report: the findings that made the verdict, e.g. "Eicar-Test-Signature in
// eicar.com (clamd)", from the message's files (db/MessageFiles) and the analyzers' stored
// verdicts on them (db/FileRepository). The text is built by a pure function, so every
// rule is tested from values; findingsOf only reads the database.

#include <map>
#include <string>
#include <vector>

#include "db/FileRepository.h"
#include "db/MessageFiles.h"

namespace bccsink {

// At most this many findings are named; "and N more" follows.
inline constexpr std::size_t kMaxFindings = 3;

// The findings behind `verdict`, joined by "; ": for a suspicious or dangerous message
// each of its files with that verdict, as "THREATS in PATH (ANALYZER)" for each analyzer
// that gave it ("PATH (ANALYZER)" when it named no threat); every evasion (a file's
// unscanned reason or an extraction error starting "evasion: "), as "PATH: evasion: ..."
// or the error itself; for an unscanned message the files' reasons ("PATH: reason"). ''
// for a clean message. One line of UTF-8: names come from mail.
std::string describeFindings(const std::string& verdict, const std::vector<db::MessageFile>& files,
                             const std::map<std::string, std::vector<db::StoredVerdict>>& stored,
                             const std::string& errors);

// describeFindings() for message `msgId` as the database has it.
std::string findingsOf(db::Database& db, const std::string& msgId, const std::string& verdict,
                       const std::string& errors);

}  // namespace bccsink
