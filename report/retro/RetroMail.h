#pragma once
// The retro report as a mail, built by report/ReportMail (headers made there, never from a
// template; every value one line, RFC 2047 when not plain ASCII): Subject "[bccsink]
// retro-alert: <file> now dangerous (N messages)", X-Bccsink-Retro: yes, the alert's id and
// verdict as headers, text and HTML from templates/retro.*, the alert as retro.json.

#include <ctime>
#include <string>

#include "db/RetroReports.h"
#include "report/ReportMail.h"
#include "report/Templates.h"

namespace bccsink::report {

std::string composeRetroMail(const db::RetroAlert& alert, const Templates& templates,
                             const MailSettings& settings, std::time_t now);

}  // namespace bccsink::report
