#pragma once
// The report as a mail (RFC 5322, MIME): multipart/mixed of a multipart/alternative
// (text/plain, text/html) and the JSON as an attachment. Headers are built here, never by
// a template, and every value that comes from a message is one line (CR, LF and other
// controls removed) and RFC 2047-encoded when it is not plain ASCII: nothing an attacker
// writes in a subject or file name can add a header.

#include <ctime>
#include <string>
#include <vector>

#include "report/Report.h"
#include "report/ReportView.h"
#include "report/Templates.h"

namespace bccsink::report {

struct MailSettings {
  std::string from;             // BccReporterAddress
  std::vector<std::string> to;  // BccReportRecipientAddress
  std::string hostname;         // for Message-ID
};

// Subject: "[bccsink] dangerous: <the message's subject>" (spoofed too when it is one, and
// SMTP mode's state when it kept the message back: "dangerous, quarantined: ..."); an SMTP
// mode message's report has the header X-Bccsink-Smtp-Mode: <hold state>.
std::string composeReportMail(const Report& report, const Templates& templates,
                              const MailSettings& settings, std::time_t now);
// Subject: "[bccsink] digest: N messages (D dangerous, S suspicious, P spoofed)", with
// ", K not delivered" before the ")" when SMTP mode kept K of them back.
std::string composeDigestMail(const std::vector<Report>& reports, const std::string& since,
                              const std::string& until, const Templates& templates,
                              const MailSettings& settings, std::time_t now);
// A group report (BccReportGroupWindow): Subject "[bccsink] dangerous: N messages with
// FILE" (", and K more files" when several flagged them; "N more messages" and
// ", follows ID" in a follow-up), headers X-Bccsink-Group: ID (its first message) and
// X-Bccsink-Follows: ID, reports.json attached.
std::string composeGroupMail(const std::vector<Report>& reports, const GroupInfo& group,
                             const Templates& templates, const MailSettings& settings,
                             std::time_t now);

// Any report mail (report/retro's too): the headers built here (From, To, the Subject
// encoded, Date, Message-ID, Auto-Submitted, then `extraHeaders`, each a whole line the
// caller made one line of), the rendered text and HTML as multipart/alternative, `json` as
// the attachment `jsonName`.
std::string composeMail(const std::string& subject, const Rendered& body, const std::string& json,
                        const std::string& jsonName, const std::vector<std::string>& extraHeaders,
                        const MailSettings& settings, std::time_t now);

// A header value as RFC 2047 encoded-words (UTF-8, B encoding) when it holds anything but
// printable ASCII, else as is; control characters removed first. `used` is the length of
// the header line before the value, for folding (RFC 5322 section 2.1.1: 78 characters).
std::string encodeHeaderText(const std::string& utf8, std::size_t used);

}  // namespace bccsink::report
