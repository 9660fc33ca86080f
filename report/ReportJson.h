#pragma once
// A report as JSON: what `bccsink scan --json` and `report show --json` print and what
// the report mail carries as its machine-readable attachment. One shape everywhere.

#include <Poco/JSON/Object.h>

#include <string>

#include "report/Report.h"

namespace bccsink::report {

// {"verdict", "spoofed", "spoof_reason", "message": {...}, "files": [...], "errors": [...]}
// ("message" only when the report has a queue id or headers).
Poco::JSON::Object::Ptr toJson(const Report& report);
std::string toJsonText(const Report& report, unsigned indent = 2);

}  // namespace bccsink::report
