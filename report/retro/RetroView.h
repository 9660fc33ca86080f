#pragma once
// A retro report rendered with templates/retro.{txt,html}.mustache (or BccReportTemplates'
// files of those names): the values the templates see (templates/README.md) and the same
// escaping as every report (report/ReportView): control characters out of the text part,
// markup out of the HTML part; file names and senders are the attacker's.

#include "report/ReportView.h"
#include "report/Templates.h"
#include "report/retro/RetroReport.h"

namespace bccsink::report {

Rendered renderRetroReport(const RetroReport& report, const Templates& templates);

}  // namespace bccsink::report
