#include "sink/ReportSetup.h"

#include <memory>

#include "report/delivery/Maildir.h"
#include "report/delivery/SmtpClient.h"
#include "sink/StageSettings.h"

namespace bccsink {
namespace {

report::SmtpSettings smtpSettings(const Config& cfg) {
  report::SmtpSettings s;
  s.server = cfg.bccSmtpServer;
  s.user = cfg.bccReporterPassword.empty() ? "" : cfg.bccReporterAddress;
  s.password = cfg.bccReporterPassword;
  s.tls = *report::parseSmtpTls(cfg.bccSmtpTls);  // Config allows only valid words
  s.caFile = cfg.bccSmtpCaFile;
  s.verifyTls = cfg.bccSmtpVerifyTls;
  s.heloName = cfg.bccHostname;
  s.replyTimeout = cfg.bccSmtpTimeout;
  s.tlsProfile = tlsProfile(cfg);
  return s;
}

}  // namespace

report::SpoofSettings spoofSettings(const Config& cfg) {
  report::SpoofSettings s;
  s.internalDomains = cfg.internalDomains;
  s.trustedRelays = cfg.trustedRelays;
  if (!cfg.trustedRelaysFile.empty()) {
    try {
      auto more = report::loadTrustedRelays(cfg.trustedRelaysFile);
      s.trustedRelays.insert(s.trustedRelays.end(), more.begin(), more.end());
    } catch (const std::exception& e) {
      throw ConfigError("option TrustedRelaysFile: " + std::string(e.what()));
    }
  }
  s.skipTopReceived = 1;  // the Received header bccsink's own listener wrote
  return s;
}

ReportSetup::ReportSetup(const Config& cfg) : cfg_(cfg) {
  try {
    templates_ = cfg.bccReportTemplates.empty()
                     ? report::Templates::builtIn()
                     : report::Templates::fromDir(cfg.bccReportTemplates);
  } catch (const std::exception& e) {
    throw ConfigError("option BccReportTemplates: " + std::string(e.what()));
  }
  spoof_ = spoofSettings(cfg);
  if (!cfg.bccSmtpServer.empty()) {
    try {
      report::SmtpClient check(smtpSettings(cfg));  // checks the address and the CA file
    } catch (const std::exception& e) {
      throw ConfigError("option BccSmtpServer: " + std::string(e.what()));
    }
  }
}

report::ReporterSettings ReportSetup::reporterSettings() const {
  report::ReporterSettings s;
  s.databaseUrl = cfg_.effectiveDatabaseUrl();
  s.spoolDir = cfg_.spoolDir();
  s.owner = cfg_.sinkName;
  s.threshold = cfg_.bccReportThreshold;
  s.digestInterval = cfg_.bccReportDigestInterval;
  s.groupWindow = cfg_.bccReportGroupWindow;
  s.spoof = spoof_;
  s.mail.from = cfg_.bccReporterAddress;
  s.mail.to = cfg_.bccReportRecipientAddress;
  s.mail.hostname = cfg_.bccHostname;
  return s;
}

report::Deliver ReportSetup::deliverer() const {
  if (cfg_.bccSmtpServer.empty()) {
    auto maildir = std::make_shared<report::Maildir>(cfg_.reportMaildir());
    return [maildir](const std::string& mail) { return maildir->deliver(mail); };
  }
  auto client = std::make_shared<report::SmtpClient>(smtpSettings(cfg_));
  auto from = cfg_.bccReporterAddress;
  auto to = cfg_.bccReportRecipientAddress;
  return [client, from, to](const std::string& mail) { return client->send(from, to, mail); };
}

std::string ReportSetup::receiverName() const {
  return cfg_.bccSmtpServer.empty() ? "maildir " + cfg_.reportMaildir()
                                    : "smtp " + cfg_.bccSmtpServer;
}

}  // namespace bccsink
