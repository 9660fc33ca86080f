#include "report/retro/RetroMail.h"

#include "base/JsonText.h"
#include "base/Text.h"
#include "report/retro/RetroJson.h"
#include "report/retro/RetroReport.h"
#include "report/retro/RetroView.h"

namespace bccsink::report {

std::string composeRetroMail(const db::RetroAlert& alert, const Templates& templates,
                             const MailSettings& settings, std::time_t now) {
  const auto r = buildRetroReport(alert);
  const auto n = r.messages.size();
  // The file name is the attacker's: at most 100 bytes of it, one line (encodeHeaderText
  // removes what is left of control characters and encodes the rest).
  std::string subject = "[bccsink] retro-alert: " + oneLineUtf8(r.fileName, 103) + " now " +
                        r.verdict + " (" + std::to_string(n) +
                        (n == 1 ? " message)" : " messages)");
  std::vector<std::string> extra = {"X-Bccsink-Retro: yes",
                                    "X-Bccsink-Verdict: " + printableAscii(r.verdict, 64),
                                    "X-Bccsink-Retro-Alert: " + printableAscii(r.alertId, 64)};
  return composeMail(subject, renderRetroReport(r, templates),
                     jsonText(retroAlertJson(alert, true), 2), "retro.json", extra, settings, now);
}

}  // namespace bccsink::report
