// `bccsink scan FILE.eml [--json]`: one message through extraction, selection and the
// configured analyzers, without a daemon, printed for people or as JSON.
// Exit code: 0 clean, 1 suspicious, 2 dangerous, 3 error (unscanned alone is 0: the
// report says what could not be checked).

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/TemporaryFile.h>

#include <iomanip>
#include <iostream>

#include "AnalysisSetup.h"
#include "Commands.h"
#include "Config.h"
#include "MappedFile.h"
#include "Scan.h"

namespace bccsink {
namespace {

using namespace sandbox;

constexpr int kExitError = 3;

const char* kHelp =
    "usage: bccsink scan FILE.eml [--json] [--config FILE] [--Name value ...]\n"
    "\n"
    "Extracts every file of one message (MIME parts, uuencode, attached messages,\n"
    "archives), finds true types and hashes, selects what VxcubeFileTypes names, runs\n"
    "the enabled analyzers and prints the report. Exit code 0 clean, 1 suspicious,\n"
    "2 dangerous, 3 error.\n";

Poco::JSON::Array::Ptr strings(const std::vector<std::string>& list) {
  Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
  for (const auto& s : list) a->add(s);
  return a;
}

Poco::JSON::Object::Ptr toJson(const ScanReport& r) {
  Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("verdict", std::string(toString(r.verdict)));
  o->set("spoofed", false);
  Poco::JSON::Array::Ptr files = new Poco::JSON::Array;
  for (const auto& s : r.files) {
    const auto& f = s.file;
    Poco::JSON::Object::Ptr j = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    j->set("name", f.name);
    j->set("path", f.path());
    j->set("size", f.size);
    j->set("md5", f.md5);
    j->set("sha256", f.sha256);
    j->set("true_type", f.type.mimeType);
    j->set("description", f.type.description);
    j->set("family", f.type.family);
    j->set("extension", f.extension);
    j->set("extension_mismatch", f.extensionMismatch);
    j->set("selected", f.selected);
    if (s.analysed || f.unreadable) {
      j->set("verdict", std::string(toString(s.verdict)));
    } else {
      j->set("verdict", Poco::Dynamic::Var());  // not analysed: no verdict to give
    }
    std::string reason = f.reason;
    std::vector<std::string> threats;
    Poco::JSON::Array::Ptr analyzers = new Poco::JSON::Array;
    for (const auto& a : s.answers) {
      threats.insert(threats.end(), a.threats.begin(), a.threats.end());
      if (reason.empty() && a.kind == VerdictKind::Unscanned) reason = a.analyzer + ": " + a.reason;
      Poco::JSON::Object::Ptr aj = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
      aj->set("analyzer", a.analyzer);
      aj->set("verdict", std::string(toString(a.kind)));
      aj->set("score", a.score);
      aj->set("threats", strings(a.threats));
      if (!a.reportUrl.empty()) aj->set("report_url", a.reportUrl);
      if (!a.reason.empty()) aj->set("reason", a.reason);
      analyzers->add(aj);
    }
    j->set("reason", reason);
    j->set("threats", strings(threats));
    j->set("analyzers", analyzers);
    files->add(j);
  }
  o->set("files", files);
  o->set("errors", strings(r.errors));
  return o;
}

void printTable(const ScanReport& r, std::ostream& out) {
  out << "verdict: " << toString(r.verdict) << "\n";
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
    auto report = scanMessage(message.bytes(), setup.extractor(), store, runners, deadline);
    for (auto& r : runners) r->stop();
    if (cl.has("json")) {
      toJson(report)->stringify(std::cout);
      std::cout << "\n";
    } else {
      printTable(report, std::cout);
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
