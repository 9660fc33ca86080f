// `bccsink scan FILE.eml [--json]`: one message through extraction, selection and the
// configured analyzers, without a daemon, printed for people or as JSON.
// Exit code: 0 clean, 1 suspicious, 2 dangerous, 3 error (unscanned alone is 0: the
// report says what could not be checked).

#include <Poco/TemporaryFile.h>

#include <iomanip>
#include <iostream>

#include "base/MappedFile.h"
#include "report/ReportJson.h"
#include "report/spoof/MessageHeaders.h"
#include "report/spoof/SpoofCheck.h"
#include "sandbox/KeptFiles.h"
#include "sandbox/Scan.h"
#include "sink/AnalysisSetup.h"
#include "sink/Commands.h"
#include "sink/Config.h"
#include "sink/ReportSetup.h"
#include "sink/ScanAsReport.h"

namespace bccsink {
namespace {

using namespace sandbox;

constexpr int kExitError = 3;

// The spoof check as the daemon's reporter runs it, but on every Received header: a file
// given to `scan` has no Received header of bccsink's own on top.
report::SpoofFinding spoofCheck(const Config& cfg, const report::MessageHeaders& h) {
  // Only the spoof settings: no templates or SMTP client are needed to scan a file.
  auto settings = spoofSettings(cfg);
  settings.skipTopReceived = 0;
  report::SpoofInput in;
  // The envelope of a file is unknown: the From header stands for the sender.
  in.from = h.all("From");
  in.to = h.all("To");
  in.cc = h.all("Cc");
  in.received = h.all("Received");
  return report::SpoofCheck(settings).check(in);
}

const char* kHelp =
    "usage: bccsink scan FILE.eml [--json] [--config FILE] [--Name value ...]\n"
    "\n"
    "Extracts every file of one message (MIME parts, uuencode, attached messages,\n"
    "archives), finds true types and hashes, selects what VxcubeFileTypes names, runs\n"
    "the enabled analyzers and prints the report. Exit code 0 clean, 1 suspicious,\n"
    "2 dangerous, 3 error.\n";

void printTable(const ScanReport& r, const report::SpoofFinding& spoof, std::ostream& out) {
  out << "verdict: " << toString(r.verdict) << "\n";
  if (spoof.spoofed) out << "spoofed: " << spoof.reason << "\n";
  out << std::left << std::setw(11) << "verdict" << std::setw(12) << "family" << std::setw(10)
      << "size" << std::setw(18) << "sha256"
      << "path\n";
  for (const auto& s : r.files) {
    const auto& f = s.file;
    std::string v = s.analysed || f.unreadable ? std::string(toString(s.verdict)) : "-";
    out << std::setw(11) << v << std::setw(12) << (f.type.family.empty() ? "?" : f.type.family)
        << std::setw(10) << f.size << std::setw(18)
        << (f.sha256.empty() ? "-" : f.sha256.substr(0, 16)) << f.path()
        << (f.extensionMismatch ? "  [extension mismatch]" : "");
    std::vector<std::string> notes;
    for (const auto& a : s.answers) {
      for (const auto& t : a.threats) notes.push_back(a.analyzer + ": " + t);
    }
    if (!f.reason.empty()) notes.push_back(f.reason);
    if (!s.notKept.empty()) notes.push_back("not kept: " + s.notKept);
    for (const auto& n : notes) out << "\n" << std::string(51, ' ') << "  " << n;
    out << "\n";
  }
  for (const auto& e : r.errors) out << "error: " << e << "\n";
}

}  // namespace

int runScan(const std::vector<std::string>& args) {
  auto cl = parseCommandLine(args, {"json"}, {});
  if (cl.help) {
    std::cout << kHelp << "\nconfiguration options:\n" << configHelp();
    return 0;
  }
  if (cl.positional.size() != 1) {
    std::cerr << "bccsink scan: give one message file\n\n" << kHelp;
    return kExitError;
  }
  try {
    Config cfg = loadConfig(cl.configPath, cl.overrides);
    const std::string& path = cl.positional[0];
    MappedFile message(path);
    if (message.bytes().size() > cfg.bccMaxMessageSize) {
      std::cerr << "bccsink scan: " << path << " is larger than BccMaxMessageSize ("
                << cfg.bccMaxMessageSize << " bytes)\n";
      return kExitError;
    }
    AnalysisSetup setup(cfg);
    // The selected files' bytes go to a private folder, removed at exit.
    Poco::TemporaryFile tmp;
    tmp.createDirectories();
    ContentStore store(tmp.path());
    auto runners = setup.makeRunners();
    auto deadline = std::chrono::steady_clock::now() + setup.scanTimeout();
    auto report = scanMessage(message.bytes(), setup.extractor(), store, runners, deadline,
                              storedBudget(cfg.bccMaxStoredPerMessage, message.bytes().size()));
    for (auto& r : runners) r->stop();
    auto headers = report::MessageHeaders::parse(message.bytes());
    auto spoof = spoofCheck(cfg, headers);
    if (cl.has("json")) {
      std::cout << report::toJsonText(scanAsReport(report, headers, spoof), 0) << "\n";
    } else {
      printTable(report, spoof, std::cout);
    }
    switch (report.verdict) {
      case VerdictKind::Suspicious:
        return 1;
      case VerdictKind::Dangerous:
        return 2;
      default:
        return 0;
    }
  } catch (const ConfigError& e) {
    std::cerr << "bccsink scan: " << e.what() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bccsink scan: " << e.what() << "\n";
  }
  return kExitError;
}

}  // namespace bccsink
