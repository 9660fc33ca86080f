#pragma once
// Retro-alerts as JSON: an alert (the API's list and `/api/retro/ID`, the retro report
// mail's attachment) and what a message's JSON says of the alerts that name it
// (`/api/messages/ID`, `bccsink queue show --json`: "retro": [...]). Written here and
// nowhere else, through base/JsonText.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <string>
#include <vector>

#include "db/RetroReports.h"

namespace bccsink::report {

// {"id", "retro": true, "sink", "sha256", "file_name", "file_path" (where the file sat, the
// first of its messages' paths), "analyzer", "verdict", "threats": [...], "cause", "cause_text",
// "created_at", "report_status", "report_attempts", "report_error" (null when none),
// "reported_at" (null until sent), "message_count"} and, with `withMessages`, "messages":
// [{"id", "sink", "received_at", "sender", "recipients": [...], "original_recipients":
// [...], "header_message_id", "file_path", "earlier_verdict", "earlier_checked_at",
// "verdict"}].
Poco::JSON::Object::Ptr retroAlertJson(const db::RetroAlert& alert, bool withMessages);

// [{"alert", "retro": true, "earlier_verdict", "earlier_checked_at", "verdict",
// "analyzer", "threats": [...], "cause", "file_path", "created_at"}], [] when none.
Poco::JSON::Array::Ptr retroMentionsJson(const std::vector<db::RetroMention>& mentions);

}  // namespace bccsink::report
