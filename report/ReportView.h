#pragma once
// Reports rendered with the templates: the values each template sees (templates/README.md)
// and the escaping of each output. Text output has every control character but LF and TAB
// of a value removed; HTML output escapes & < > " ' in every value, so no markup from a
// message reaches the administrator's mail client.

#include <cstdint>
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

// A group report (BccReportGroupWindow): the messages one file (or set of files) flagged
// within the window, and, for a follow-up, the group report it follows.
struct GroupInfo {
  std::string batch;               // this report's name: the id of its first message
  std::vector<std::string> files;  // the file(s) that flagged them: "NAME (SHA-256 HEX)"
  std::string follows;             // the earlier report's first message id; '' for the first
  std::string followsAt;           // when it was sent (ISO 8601 UTC)
  std::int64_t followsCount = 0;   // the messages it listed
  std::int64_t earlier = 0;        // the group's messages reported before this one, in all
};

Rendered renderReport(const Report& report, const Templates& templates);
// Every report in `reports` (oldest first) since..until (ISO 8601 UTC).
Rendered renderDigest(const std::vector<Report>& reports, const std::string& since,
                      const std::string& until, const Templates& templates);
// A group report with the digest templates: `group` true, `group_id`, `group_files` (a
// list), and for a follow-up `follows`, `follows_at`, `follows_count` and `earlier`.
Rendered renderGroup(const std::vector<Report>& reports, const GroupInfo& group,
                     const Templates& templates);

}  // namespace bccsink::report
