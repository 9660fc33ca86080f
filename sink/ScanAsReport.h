#pragma once
// `bccsink scan` as a report (report/Report.h): one message scanned without the queue,
// with its headers and the spoof check, so that `scan --json` prints the same JSON as
// the report mail's attachment (ReportJson) and tests can check that JSON without the
// binary. It joins sandbox/'s scan result to report/'s types, so it is the program's
// (sink/): report/ does not know sandbox/.

#include "report/Report.h"
#include "report/spoof/MessageHeaders.h"
#include "report/spoof/SpoofCheck.h"
#include "sandbox/Scan.h"

namespace bccsink {

// A file's verdict only when it was analysed or could not be read; an unscanned answer's
// reason stands for the file's when it has none of its own.
report::Report scanAsReport(const sandbox::ScanReport& scan, const report::MessageHeaders& headers,
                            const report::SpoofFinding& spoof);

}  // namespace bccsink
