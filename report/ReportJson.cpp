#include "report/ReportJson.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Stringifier.h>

#include <sstream>

namespace bccsink::report {
namespace {

using Poco::JSON::Array;
using Poco::JSON::Object;

Array::Ptr strings(const std::vector<std::string>& list) {
  Array::Ptr a = new Array;
  for (const auto& s : list) a->add(s);
  return a;
}

Object::Ptr ordered() {
  return new Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

Object::Ptr fileJson(const ReportFile& f) {
  auto j = ordered();
  j->set("name", f.name);
  j->set("path", f.path);
  j->set("size", f.size);
  j->set("md5", f.md5);
  j->set("sha256", f.sha256);
  j->set("true_type", f.trueType);
  j->set("description", f.description);
  j->set("family", f.family);
  j->set("extension", f.extension);
  j->set("extension_mismatch", f.extensionMismatch);
  j->set("selected", f.selected);
  if (f.verdict.empty()) {
    j->set("verdict", Poco::Dynamic::Var());  // not analysed: no verdict to give
  } else {
    j->set("verdict", f.verdict);
  }
  std::vector<std::string> threats;
  Array::Ptr analyzers = new Array;
  for (const auto& a : f.answers) {
    threats.insert(threats.end(), a.threats.begin(), a.threats.end());
    auto aj = ordered();
    aj->set("analyzer", a.analyzer);
    aj->set("verdict", a.verdict);
    aj->set("score", a.score);
    aj->set("threats", strings(a.threats));
    if (!a.reportUrl.empty()) aj->set("report_url", a.reportUrl);
    if (!a.reason.empty()) aj->set("reason", a.reason);
    analyzers->add(aj);
  }
  j->set("reason", f.reason);
  j->set("threats", strings(threats));
  j->set("analyzers", analyzers);
  return j;
}

}  // namespace

Object::Ptr toJson(const Report& r) {
  auto o = ordered();
  if (!r.id.empty()) o->set("id", r.id);
  if (!r.state.empty()) o->set("state", r.state);
  o->set("verdict", r.verdict);
  o->set("spoofed", r.spoof.spoofed);
  o->set("spoof_reason", r.spoof.reason);
  auto m = ordered();
  m->set("message_id", r.messageId);
  m->set("date", r.date);
  m->set("subject", r.subject);
  m->set("from", r.from);
  m->set("to", strings(r.to));
  m->set("cc", strings(r.cc));
  m->set("envelope_sender", r.envelopeSender);
  m->set("envelope_recipients", strings(r.envelopeRecipients));
  m->set("client_ip", r.clientIp);
  m->set("helo", r.helo);
  m->set("origin_ip", r.originIp);
  m->set("origin_helo", r.originHelo);
  m->set("received_at", r.receivedAt);
  m->set("checked_at", r.checkedAt);
  o->set("message", m);
  Array::Ptr files = new Array;
  for (const auto& f : r.files) files->add(fileJson(f));
  o->set("files", files);
  o->set("errors", strings(r.errors));
  if (!r.failure.empty()) o->set("failure", r.failure);
  return o;
}

std::string toJsonText(const Report& report, unsigned indent) {
  std::ostringstream out;
  Poco::JSON::Stringifier::stringify(toJson(report), out, indent);
  return out.str();
}

}  // namespace bccsink::report
