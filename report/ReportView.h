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

// The escaping of every value a template shows, for report/retro's templates too:
// escapedText for a text part (one line, controls removed, invisible ones shown as
// \uXXXX), escapedHtml for the HTML part; tidiedText drops the blank lines a section
// tag's line leaves behind.
std::string escapedText(const std::string& value);
std::string escapedHtml(const std::string& value);
std::string tidiedText(const std::string& text);

Rendered renderReport(const Report& report, const Templates& templates);
// Every report in `reports` (oldest first) since..until (ISO 8601 UTC).
Rendered renderDigest(const std::vector<Report>& reports, const std::string& since,
                      const std::string& until, const Templates& templates);

}  // namespace bccsink::report
