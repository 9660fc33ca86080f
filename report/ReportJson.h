#pragma once
// The one writer of message and file JSON: what `bccsink scan --json`, `report show
// --json`, `bccsink queue list|show` and the HTTP API print, and what the report mail
// carries as its machine-readable attachment. A field is named here and nowhere else, so
// a file or a message has one shape everywhere.

#include <Poco/JSON/Object.h>

#include <string>
#include <vector>

#include "db/FileRepository.h"
#include "db/MessageRecord.h"
#include "db/MessageSearch.h"
#include "report/Report.h"

namespace bccsink::report {

// One analyzer's answer on a file: {"analyzer", "verdict", "score", "threats"} and, when
// known, "report_url", "reason" and "decided_at" (absent, not null, when there is none).
Poco::JSON::Object::Ptr answerJson(const AnalyzerAnswer& answer);

// A file as found in one message: {"name", "path", "sha256", "md5", "size", "true_type",
// "description", "family", "extension", "extension_mismatch", "selected", "verdict"
// (null when not analysed), "reason", "threats" (every analyzer's), "analyzers": [...]}.
Poco::JSON::Object::Ptr fileJson(const ReportFile& file);

// A distinct file in the verdict cache: {"sha256", "md5", "size", "true_type",
// "description", "family", "first_seen", "last_seen", "seen_count", "verdicts": [...]}.
Poco::JSON::Object::Ptr fileJson(const db::FileRow& file,
                                 const std::vector<db::StoredVerdict>& verdicts);

// One message a file was found in: {"id", "received_at", "verdict", "name", "path"}.
Poco::JSON::Object::Ptr sightingJson(const db::FileSighting& sighting);

// A queue row, every field (`bccsink queue list --json`, `queue show`): empty optional
// fields are left out, "verdict", "spoofed" and "report" are null until decided;
// "original_recipients" is a list, empty when none is known.
Poco::JSON::Object::Ptr messageJson(const db::MessageRecord& message);

// A message in the API's list: the row's summary with its Subject (null when unknown),
// the number of files found in it and the sink that received it.
Poco::JSON::Object::Ptr messageJson(const db::MessageSummary& message, const std::string& subject);

// {"verdict", "spoofed", "spoof_reason", "message": {...}, "files": [...], "errors": [...]}
// ("message" holds "original_recipients", a list, empty when none is known)
// ("id" and "state" when the report has a queue id, "failure" when the message failed,
// and for a message that came in on SmtpSocket "hold": {"state", "action", "why", "tries",
// "last_error", "relay_reply", "released_by", "decided_at", "delivered_at", "released_at"},
// null for what is not (yet) known; a BCC copy has no "hold").
Poco::JSON::Object::Ptr toJson(const Report& report);
std::string toJsonText(const Report& report, unsigned indent = 2);

// Adds the report mail's delivery to a report's JSON (the API's message):
// "report_status", "report_attempts", "report_error" (null when none).
void addDelivery(Poco::JSON::Object& report, const db::MessageRecord& message);

}  // namespace bccsink::report
