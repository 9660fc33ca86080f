#pragma once
// Wires the configuration into report/: the templates, the receiver of the reports (an
// SMTP server, or the Maildir outbox when BccSmtpServer is ''), and the spoof check. Used
// by the daemon's reporter and by `bccsink report`, so both report alike. Part of the
// executable, not of the sink library.

#include <string>

#include "report/Reporter.h"
#include "report/Templates.h"
#include "report/spoof/SpoofCheck.h"
#include "sink/Config.h"

namespace bccsink {

// The spoof check's settings: InternalDomains, TrustedRelays and TrustedRelaysFile (read
// now; ConfigError naming it), skipping the Received header bccsink's own listener wrote.
report::SpoofSettings spoofSettings(const Config& cfg);

class ReportSetup {
 public:
  // Throws ConfigError naming the option when a value only report/ can judge is wrong
  // (BccSmtpServer, BccSmtpCaFile, TrustedRelaysFile, BccReportTemplates, ...).
  explicit ReportSetup(const Config& cfg);

  const report::Templates& templates() const { return templates_; }
  const report::SpoofSettings& spoof() const { return spoof_; }
  report::ReporterSettings reporterSettings() const;
  // The receiver: delivers one mail to BccReportRecipientAddress.
  report::Deliver deliverer() const;
  // "smtp HOST:PORT" or "maildir PATH", for the log.
  std::string receiverName() const;

 private:
  const Config& cfg_;
  report::Templates templates_;
  report::SpoofSettings spoof_;
};

}  // namespace bccsink
