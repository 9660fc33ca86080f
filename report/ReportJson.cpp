#include "report/ReportJson.h"

#include <Poco/JSON/Array.h>

#include "base/JsonText.h"
#include "report/ReportBuilder.h"

namespace bccsink::report {
namespace {

using Poco::Dynamic::Var;
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

// '' as JSON null: "not yet" rather than an empty value.
Var orNull(const std::string& s) {
  return s.empty() ? Var() : Var(s);
}

// The bytes' identity and type: what a file in a message and a file in the verdict cache
// have in common ('' digests when the bytes could not be read).
void setContent(Object& j, std::int64_t size, const std::string& md5, const std::string& sha256,
                const std::string& trueType, const std::string& description,
                const std::string& family) {
  j.set("size", size);
  j.set("md5", md5);
  j.set("sha256", sha256);
  j.set("true_type", trueType);
  j.set("description", description);
  j.set("family", family);
}

}  // namespace

Object::Ptr answerJson(const AnalyzerAnswer& a) {
  auto j = ordered();
  j->set("analyzer", a.analyzer);
  j->set("verdict", a.verdict);
  j->set("score", a.score);
  j->set("threats", strings(a.threats));
  if (!a.reportUrl.empty()) j->set("report_url", a.reportUrl);
  if (!a.reason.empty()) j->set("reason", a.reason);
  if (!a.decidedAt.empty()) j->set("decided_at", a.decidedAt);
  return j;
}

Object::Ptr fileJson(const ReportFile& f) {
  auto j = ordered();
  j->set("name", f.name);
  j->set("path", f.path);
  setContent(*j, f.size, f.md5, f.sha256, f.trueType, f.description, f.family);
  j->set("extension", f.extension);
  j->set("extension_mismatch", f.extensionMismatch);
  j->set("selected", f.selected);
  j->set("verdict", orNull(f.verdict));  // not analysed: no verdict to give
  std::vector<std::string> threats;
  Array::Ptr analyzers = new Array;
  for (const auto& a : f.answers) {
    threats.insert(threats.end(), a.threats.begin(), a.threats.end());
    analyzers->add(answerJson(a));
  }
  j->set("reason", f.reason);
  // Analysed from memory, its bytes not kept (BccMaxStoredPerMessage): why; null when kept.
  j->set("not_kept", orNull(f.notKept));
  j->set("threats", strings(threats));
  j->set("analyzers", analyzers);
  return j;
}

Object::Ptr fileJson(const db::FileRow& f, const std::vector<db::StoredVerdict>& verdicts) {
  auto j = ordered();
  setContent(*j, f.size, f.md5, f.sha256, f.trueType, f.description, f.family);
  j->set("first_seen", f.firstSeen);
  j->set("last_seen", f.lastSeen);
  j->set("seen_count", f.seenCount);
  Array::Ptr list = new Array;
  for (const auto& v : verdicts) {
    list->add(answerJson(
        {v.analyzer, v.verdict, v.score, v.threats, v.reportUrl, v.reason, v.decidedAt}));
  }
  j->set("verdicts", list);
  return j;
}

Object::Ptr sightingJson(const db::FileSighting& s) {
  auto j = ordered();
  j->set("id", s.msgId);
  j->set("received_at", s.receivedAt);
  j->set("verdict", orNull(s.verdict));
  j->set("name", s.name);
  j->set("path", s.path);
  return j;
}

Object::Ptr messageJson(const db::MessageRecord& m) {
  auto o = ordered();
  o->set("id", m.id);
  o->set("state", m.state);
  if (!m.reason.empty()) o->set("reason", m.reason);
  o->set("sender", m.sender);
  Array::Ptr rcpts = new Array, dsn = new Array;
  for (const auto& r : m.recipients) {
    rcpts->add(r.address);
    auto d = ordered();
    d->set("address", r.address);
    d->set("orcpt", r.orcpt);
    d->set("notify", r.notify);
    dsn->add(d);
  }
  o->set("recipients", rcpts);
  o->set("original_recipients", strings(originalRecipients(m)));
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
  // Retention (issue 17): the spooled content was deleted; the row stays.
  o->set("content_expired", !m.contentExpiredAt.empty());
  if (!m.contentExpiredAt.empty()) o->set("content_expired_at", m.contentExpiredAt);
  o->set("dsn", dsn);
  if (!m.envid.empty()) o->set("envid", m.envid);
  if (!m.ret.empty()) o->set("ret", m.ret);
  if (!m.body.empty()) o->set("body", m.body);
  o->set("verdict", orNull(m.verdict));
  if (!m.checkedAt.empty()) o->set("checked_at", m.checkedAt);
  if (!m.errors.empty()) o->set("errors", m.errors);
  // The reporter's view (schema 3): null until it has judged the message.
  o->set("spoofed", m.judged ? Var(m.spoofed) : Var());
  if (!m.spoofReason.empty()) o->set("spoof_reason", m.spoofReason);
  o->set("report", m.judged ? Var(m.reportStatus) : Var());
  if (m.reportAttempts > 0) o->set("report_attempts", m.reportAttempts);
  if (!m.reportError.empty()) o->set("report_error", m.reportError);
  if (!m.reportedAt.empty()) o->set("reported_at", m.reportedAt);
  return o;
}

Object::Ptr messageJson(const db::MessageSummary& m, const std::string& subject) {
  auto j = ordered();
  j->set("id", m.id);
  j->set("state", m.state);
  j->set("verdict", orNull(m.verdict));
  j->set("spoofed", m.reportStatus.empty() ? Var() : Var(m.spoofed));
  j->set("report", orNull(m.reportStatus));
  j->set("sender", m.sender);
  j->set("subject", orNull(subject));
  j->set("message_id", orNull(m.headerMessageId));
  j->set("received_at", m.receivedAt);
  j->set("checked_at", orNull(m.checkedAt));
  j->set("size", m.size);
  j->set("files", m.files);
  j->set("sink", m.sink);
  return j;
}

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
  m->set("original_recipients", strings(r.originalRecipients));
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
  if (r.hold) {
    const auto& h = *r.hold;
    auto j = ordered();
    j->set("state", h.state);
    j->set("action", orNull(h.action));
    j->set("why", orNull(h.why));
    j->set("tries", h.tries);
    j->set("last_error", orNull(h.lastError));
    j->set("relay_reply", orNull(h.relayReply));
    j->set("released_by", orNull(h.releasedBy));
    j->set("decided_at", orNull(h.decidedAt));
    j->set("delivered_at", orNull(h.deliveredAt));
    j->set("released_at", orNull(h.releasedAt));
    o->set("hold", j);
  }
  return o;
}

std::string toJsonText(const Report& report, unsigned indent) {
  return jsonText(toJson(report), indent);
}

void addDelivery(Object& o, const db::MessageRecord& m) {
  o.set("report_status", orNull(m.reportStatus));
  o.set("report_attempts", m.reportAttempts);
  o.set("report_error", orNull(m.reportError));
}

}  // namespace bccsink::report
