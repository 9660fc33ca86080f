#include "report/retro/RetroJson.h"

#include "report/retro/RetroReport.h"

namespace bccsink::report {
namespace {

using Poco::Dynamic::Var;
using Poco::JSON::Array;
using Poco::JSON::Object;

Object::Ptr ordered() {
  return new Object(Poco::JSON_PRESERVE_KEY_ORDER);
}

Array::Ptr strings(const std::vector<std::string>& list) {
  Array::Ptr a = new Array;
  for (const auto& s : list) a->add(s);
  return a;
}

Var orNull(const std::string& s) {
  return s.empty() ? Var() : Var(s);
}

}  // namespace

Object::Ptr retroAlertJson(const db::RetroAlert& a, bool withMessages) {
  auto j = ordered();
  j->set("id", a.id);
  j->set("retro", true);
  j->set("sink", a.sink);
  j->set("sha256", a.sha256);
  j->set("file_name", fileNameOf(a.filePath));
  j->set("file_path", a.filePath);
  j->set("analyzer", a.analyzer);
  j->set("verdict", a.verdict);
  j->set("threats", strings(a.threats));
  j->set("cause", a.cause);
  j->set("cause_text", retroCauseText(a.cause));
  j->set("created_at", a.createdAt);
  j->set("report_status", a.reportStatus);
  j->set("report_attempts", a.reportAttempts);
  j->set("report_error", orNull(a.reportError));
  j->set("reported_at", orNull(a.reportedAt));
  j->set("message_count", static_cast<std::uint64_t>(a.messageCount));
  if (withMessages) {
    Array::Ptr list = new Array;
    for (const auto& m : a.messages) {
      auto x = ordered();
      x->set("id", m.msgId);
      x->set("sink", orNull(m.sink));
      x->set("received_at", orNull(m.receivedAt));
      x->set("sender", m.sender);
      x->set("recipients", strings(m.recipients));
      x->set("original_recipients", strings(m.originalRecipients));
      x->set("header_message_id", orNull(m.headerMessageId));
      x->set("file_path", m.filePath);
      x->set("earlier_verdict", m.earlierVerdict);
      x->set("earlier_checked_at", m.earlierCheckedAt);
      x->set("verdict", m.verdict);
      list->add(x);
    }
    j->set("messages", list);
  }
  return j;
}

Array::Ptr retroMentionsJson(const std::vector<db::RetroMention>& mentions) {
  Array::Ptr list = new Array;
  for (const auto& m : mentions) {
    auto x = ordered();
    x->set("alert", m.alertId);
    x->set("retro", true);
    x->set("earlier_verdict", m.earlierVerdict);
    x->set("earlier_checked_at", m.earlierCheckedAt);
    x->set("verdict", m.verdict);
    x->set("analyzer", m.analyzer);
    x->set("threats", strings(m.threats));
    x->set("cause", m.cause);
    x->set("file_path", m.filePath);
    x->set("created_at", m.createdAt);
    list->add(x);
  }
  return list;
}

}  // namespace bccsink::report
