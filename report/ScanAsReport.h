#pragma once
// `bccsink scan` as a report (report/Report.h): one message scanned without the queue,
// with its headers and the spoof check, so that `scan --json` prints the same JSON as
// the report mail's attachment (ReportJson) and tests can check that JSON without the
// binary.

#include "report/Report.h"
#include "report/spoof/MessageHeaders.h"
#include "report/spoof/SpoofCheck.h"
#include "sandbox/Scan.h"

namespace bccsink::report {

// A file's verdict only when it was analysed or could not be read; an unscanned answer's
// reason stands for the file's when it has none of its own.
Report scanAsReport(const sandbox::ScanReport& scan, const MessageHeaders& headers,
                    const SpoofFinding& spoof);

}  // namespace bccsink::report
