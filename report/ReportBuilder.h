#pragma once
// A message's report from what the stages left in the database (the queue row, its files,
// the cached verdicts, SMTP mode's hold row) and the header section of its spooled copy.

#include "db/MessageRecord.h"
#include "report/Report.h"
#include "report/spoof/MessageHeaders.h"

namespace bccsink::db {
class Database;
}

namespace bccsink::report {

// The spoof finding is the row's (ReportQueue::judge); origin* stay '' (the caller that
// parsed the Received chain fills them).
Report buildReport(db::Database& db, const db::MessageRecord& message,
                   const MessageHeaders& headers);

// The original recipients a copy's recipients encode (db::Recipient::original, decoded at
// intake from recipient_bcc_maps' watch+LOCAL=DOMAIN@), distinct, in the order received;
// empty when none is known (always_bcc, SMTP mode).
std::vector<std::string> originalRecipients(const db::MessageRecord& message);

}  // namespace bccsink::report
