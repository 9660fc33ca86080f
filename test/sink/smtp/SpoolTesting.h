#pragma once
// Helpers of the spool's tests: appending messages one batch at a time, reading them
// back through the one reader, and the rows recovery asks about.

#include <map>
#include <string>
#include <vector>

#include "db/SpoolRecord.h"
#include "db/SpooledMessage.h"
#include "sink/smtp/MessageStore.h"
#include "sink/smtp/Spool.h"

namespace bccsink::test {

// The envelope of rowOf()'s messages, as a session hands it to the intake.
inline Envelope sampleEnvelope() {
  Envelope env;
  env.sender = "a@example.org";
  env.recipients = {{"watch@bcc.test", "", ""}};
  env.clientIp = "127.0.0.1";
  env.helo = "h";
  return env;
}

// The row the intake would commit for message `id` of `bytes` (spoolFile left empty).
inline db::MessageRecord rowOf(const std::string& id, const std::string& bytes) {
  db::MessageRecord r;
  r.id = id;
  r.sink = "sink-t";
  r.receivedAt = "2026-12-06T04:00:00.000Z";
  r.sender = "a@example.org";
  r.recipients = {{"watch@bcc.test", "", ""}};
  r.clientIp = "127.0.0.1";
  r.helo = "h";
  r.size = static_cast<std::int64_t>(bytes.size());
  r.sha256 = db::hex(db::sha256Of(bytes));
  return r;
}

// Records as the committer writes them (version 2, with the row's envelope), or as they
// were written before envelopes (version 1).
enum class Version { V1, V2 };

// The bytes a record of rowOf(id, bytes) takes in its segment.
inline std::uint64_t recordSize(const std::string& id, const std::string& bytes,
                                Version version = Version::V2) {
  auto envelope = version == Version::V2 ? db::encodeEnvelope(rowOf(id, bytes)).size() : 0;
  return db::kRecordHeaderSize + envelope + bytes.size();
}

// A batch of (id, bytes), appended as the committer does; the locators, or the error.
inline std::vector<std::string> appendBatch(
    Spool& spool, const std::vector<std::pair<std::string, std::string>>& messages,
    Version version = Version::V2) {
  std::vector<std::string> envelopes;
  envelopes.reserve(messages.size());
  std::vector<RecordInput> records;
  for (const auto& [id, bytes] : messages) {
    envelopes.push_back(version == Version::V2 ? db::encodeEnvelope(rowOf(id, bytes)) : "");
    records.push_back({id, bytes, db::sha256Of(bytes), envelopes.back()});
  }
  std::vector<std::string> locators;
  std::string error;
  if (!spool.append(records, locators, error)) return {"error: " + error};
  return locators;
}

inline std::string appendOne(Spool& spool, const std::string& id, const std::string& bytes,
                             Version version = Version::V2) {
  return appendBatch(spool, {{id, bytes}}, version).front();
}

// The message at `locator`, or "unreadable: why".
inline std::string readBack(const std::string& spoolDir, const std::string& locator) {
  try {
    db::SpooledMessage m(spoolDir, locator);
    return std::string(m.bytes());
  } catch (const std::exception& e) {
    return std::string("unreadable: ") + e.what();
  }
}

// Rows as recovery asks for them: id -> locator.
inline Spool::RowLookup rowsOf(const std::map<std::string, std::string>& rows) {
  return [rows](const std::vector<std::string>& ids) {
    std::map<std::string, std::string> out;
    for (const auto& id : ids) {
      if (auto it = rows.find(id); it != rows.end()) out.insert(*it);
    }
    return out;
  };
}

// A queue-id-like id and a message without zero bytes (so zeroing any byte changes it).
inline std::string idOf(int n) {
  std::string digits = std::to_string(n);
  return "01TEST" + std::string(20 - digits.size(), '0') + digits;
}
inline std::string messageOf(int n, std::size_t size) {
  std::string m = "Subject: message " + std::to_string(n) + "\r\n\r\n";
  while (m.size() < size) m += static_cast<char>('a' + (m.size() + n) % 26);
  m.resize(size);
  return m;
}

}  // namespace bccsink::test
