#pragma once
// Reports rendered with the templates: the values each template sees (templates/README.md)
// and the escaping of each output. Text output has every control character but LF and TAB
// of a value removed; HTML output escapes & < > " ' in every value, so no markup from a
// message reaches the administrator's mail client.

#include <string>
#include <vector>

#include "report/Report.h"
#include "report/Templates.h"

namespace bccsink::report {

struct Rendered {
  std::string text;
  std::string html;
};

Rendered renderReport(const Report& report, const Templates& templates);
// Every report in `reports` (oldest first) since..until (ISO 8601 UTC).
Rendered renderDigest(const std::vector<Report>& reports, const std::string& since,
                      const std::string& until, const Templates& templates);

}  // namespace bccsink::report
