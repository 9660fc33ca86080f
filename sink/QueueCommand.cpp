// `bccsink queue list|show`: the queue as the administrator sees it.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <sys/stat.h>

#include <iomanip>
#include <iostream>
#include <set>

#include "db/Database.h"
#include "db/FileRepository.h"
#include "db/MessageFiles.h"
#include "db/MessageQueue.h"
#include "sink/Commands.h"
#include "sink/Config.h"
#include "sink/smtp/Spool.h"

namespace bccsink {
namespace {

Poco::JSON::Object::Ptr toJson(const db::MessageRecord& m) {
  Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("id", m.id);
  o->set("state", m.state);
  if (!m.reason.empty()) o->set("reason", m.reason);
  o->set("sender", m.sender);
  Poco::JSON::Array::Ptr rcpts = new Poco::JSON::Array, dsn = new Poco::JSON::Array;
  for (const auto& r : m.recipients) {
    rcpts->add(r.address);
    Poco::JSON::Object::Ptr d = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    d->set("address", r.address);
    d->set("orcpt", r.orcpt);
    d->set("notify", r.notify);
    dsn->add(d);
  }
  o->set("recipients", rcpts);
  o->set("message_id", m.headerMessageId);
  o->set("size", m.size);
  o->set("sha256", m.sha256);
  o->set("received_at", m.receivedAt);
  o->set("client_ip", m.clientIp);
  o->set("helo", m.helo);
  o->set("tls", m.tls);
  o->set("attempts", m.attempts);
  o->set("sink", m.sink);
  o->set("spool_file", m.spoolFile);
  o->set("dsn", dsn);
  if (!m.envid.empty()) o->set("envid", m.envid);
  if (!m.ret.empty()) o->set("ret", m.ret);
  if (!m.body.empty()) o->set("body", m.body);
  o->set("verdict", m.verdict.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(m.verdict));
  if (!m.checkedAt.empty()) o->set("checked_at", m.checkedAt);
  if (!m.errors.empty()) o->set("errors", m.errors);
  // The reporter's view (schema 3): null until it has judged the message.
  o->set("spoofed", m.judged ? Poco::Dynamic::Var(m.spoofed) : Poco::Dynamic::Var());
  if (!m.spoofReason.empty()) o->set("spoof_reason", m.spoofReason);
  o->set("report", m.judged ? Poco::Dynamic::Var(m.reportStatus) : Poco::Dynamic::Var());
  if (m.reportAttempts > 0) o->set("report_attempts", m.reportAttempts);
  if (!m.reportError.empty()) o->set("report_error", m.reportError);
  if (!m.reportedAt.empty()) o->set("reported_at", m.reportedAt);
  return o;
}

// The report column: '-' before the reporter judged it, else the report's status, with
// "spoofed" when it is one.
std::string reportColumn(const db::MessageRecord& m) {
  if (!m.judged) return "-";
  return m.reportStatus + (m.spoofed ? ",spoof" : "");
}

// The files found in the message, each with its verdict and every analyzer's answer.
Poco::JSON::Array::Ptr filesJson(db::Database& database, const std::string& id) {
  db::MessageFiles messageFiles(database);
  db::FileRepository cache(database);
  Poco::JSON::Array::Ptr out = new Poco::JSON::Array;
  for (const auto& f : messageFiles.list(id)) {
    Poco::JSON::Object::Ptr j = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    j->set("name", f.name);
    j->set("path", f.path);
    j->set("size", f.size);
    j->set("md5", f.md5);
    j->set("sha256", f.sha256);
    j->set("true_type", f.trueType);
    j->set("family", f.family);
    j->set("extension", f.extension);
    j->set("extension_mismatch", f.extensionMismatch);
    j->set("selected", f.selected);
    j->set("verdict", f.verdict.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(f.verdict));
    j->set("reason", f.reason);
    Poco::JSON::Array::Ptr analyzers = new Poco::JSON::Array;
    if (f.selected && !f.sha256.empty()) {
      for (const auto& v : cache.verdicts(f.sha256)) {
        Poco::JSON::Object::Ptr a = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
        a->set("analyzer", v.analyzer);
        a->set("verdict", v.verdict);
        a->set("score", v.score);
        Poco::JSON::Array::Ptr threats = new Poco::JSON::Array;
        for (const auto& t : v.threats) threats->add(t);
        a->set("threats", threats);
        if (!v.reportUrl.empty()) a->set("report_url", v.reportUrl);
        if (!v.reason.empty()) a->set("reason", v.reason);
        a->set("decided_at", v.decidedAt);
        analyzers->add(a);
      }
    }
    j->set("analyzers", analyzers);
    out->add(j);
  }
  return out;
}

// Rows whose spool file is missing, and spool files no row names: reported, never
// deleted (an administrator decides). Returns the number of problems.
int check(db::MessageQueue& queue, const Config& cfg) {
  std::set<std::string> rows;
  for (auto& f : queue.spoolFiles()) rows.insert(f);
  std::set<std::string> files;
  struct stat st {};
  if (stat(cfg.spoolDir().c_str(), &st) == 0) {
    Spool spool(cfg.spoolDir());
    for (auto& f : spool.files()) files.insert(f);
  }
  int problems = 0;
  for (const auto& f : files) {
    if (!rows.count(f)) {
      std::cout << "orphan spool file (no row): " << cfg.spoolDir() << "/" << f << "\n";
      ++problems;
    }
  }
  for (const auto& r : rows) {
    if (!files.count(r)) {
      std::cout << "row without spool file: " << r.substr(0, r.size() - 4) << " (" << cfg.spoolDir()
                << "/" << r << ")\n";
      ++problems;
    }
  }
  std::cout << "check: " << rows.size() << " rows, " << files.size() << " spool files, " << problems
            << " problems\n";
  return problems;
}

const char* kHelp =
    "usage: bccsink queue list [--json] [--check] [--state STATE] [--limit N]\n"
    "       bccsink queue show ID [--json]\n"
    "       (both take --config FILE and --Name value, e.g. --DataDir DIR)\n\n"
    "list: one line per message (--json: one JSON object per line with id, state,\n"
    "      sender, recipients, message_id, size, sha256, received_at, ...).\n"
    "      --check compares the spool with the rows and reports files without rows and\n"
    "      rows without files (exit 1 when there are any); nothing is deleted.\n"
    "show: every field of one message, and the files found in it with their verdicts\n"
    "      (each analyzer's answer, from the verdict cache).\n";

}  // namespace

int runQueue(const std::vector<std::string>& args) {
  return withErrorsReported([&] {
    auto cl = parseCommandLine(args, {"json", "check"}, {"state", "limit"});
    if (cl.help || cl.positional.empty()) {
      std::cout << kHelp;
      return cl.help ? 0 : 2;
    }
    auto cfg = loadConfig(cl.configPath, cl.overrides);
    db::Database database(cfg.effectiveDatabaseUrl());
    database.migrate();
    db::MessageQueue queue(database);
    const auto& action = cl.positional[0];
    if (action == "list") {
      db::ListFilter filter;
      filter.state = cl.value("state");
      filter.limit = static_cast<std::size_t>(parseSize(cl.value("limit", "0")));
      for (const auto& m : queue.list(filter)) {
        if (cl.has("json")) {
          toJson(m)->stringify(std::cout);
          std::cout << "\n";
        } else {
          std::string rcpt = m.recipients.empty() ? "" : m.recipients.front().address;
          if (m.recipients.size() > 1) rcpt += " +" + std::to_string(m.recipients.size() - 1);
          std::cout << m.id << "  " << std::left << std::setw(9) << m.state << " " << std::setw(10)
                    << (m.verdict.empty() ? "-" : m.verdict) << " " << std::setw(13)
                    << reportColumn(m) << " " << m.receivedAt << " " << std::right << std::setw(9)
                    << m.size << "  <" << m.sender << "> -> " << rcpt << "\n";
          // A report that is not getting through says why, under its message.
          if (!m.reportError.empty() && m.reportStatus != db::report_status::kSent) {
            std::cout << "    report: " << m.reportAttempts << " tries: " << m.reportError << "\n";
          }
        }
      }
      if (cl.has("check")) return check(queue, cfg) > 0 ? 1 : 0;
      return 0;
    }
    if (action == "show" && cl.positional.size() == 2) {
      auto m = queue.find(cl.positional[1]);
      if (!m) {
        std::cerr << "bccsink: no message " << cl.positional[1] << "\n";
        return 1;
      }
      auto o = toJson(*m);
      o->set("files", filesJson(database, m->id));
      if (cl.has("json")) {
        o->stringify(std::cout);
        std::cout << "\n";
      } else {
        o->stringify(std::cout, 2);
        std::cout << "\nspool: " << cfg.spoolDir() << "/" << m->spoolFile << "\n";
      }
      return 0;
    }
    std::cerr << kHelp;
    return 2;
  });
}

}  // namespace bccsink
