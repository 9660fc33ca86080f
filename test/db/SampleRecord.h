#pragma once
// A queue row as the listener writes one (sender, one BCC recipient, the MTA on loopback),
// for the tests of the stages after it; each test changes what it is about.

#include <string>

#include "db/MessageRecord.h"

namespace bccsink::test {

inline db::MessageRecord sampleRecord(const std::string& id,
                                      const std::string& receivedAt = "2026-11-30T04:00:00.000Z",
                                      const std::string& sink = "sink-a") {
  db::MessageRecord r;
  r.id = id;
  r.sink = sink;
  r.receivedAt = receivedAt;
  r.sender = "alice@example.org";
  r.recipients = {{"watch@bcc.test", "", ""}};
  r.clientIp = "127.0.0.1";
  r.helo = "mta.test";
  r.size = 10;
  r.sha256 = std::string(64, 'a');
  r.spoolFile = id + ".eml";
  return r;
}

}  // namespace bccsink::test
