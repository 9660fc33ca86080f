#include "report/retro/RetroView.h"

#include <kainjow/mustache.hpp>
#include <stdexcept>

#include "base/Text.h"

namespace bccsink::report {
namespace {

using kainjow::mustache::data;
using kainjow::mustache::mustache;

#ifndef BCCSINK_VERSION
#define BCCSINK_VERSION "0"
#endif

data messageView(const RetroReportMessage& m) {
  data d;
  d.set("id", m.id);
  // Set false when unknown: a key left out would be looked up in the alert's context.
  if (m.sink.empty()) {
    d.set("sink", false);
  } else {
    d.set("sink", m.sink);
  }
  d.set("received_at", readableTime(m.receivedAt));
  d.set("sender", m.sender.empty() ? "<>" : m.sender);
  d.set("recipients", m.recipients.empty() ? "-" : join(m.recipients, ", "));
  d.set("original_recipients", m.originalRecipients);
  d.set("file_path", m.filePath);
  d.set("earlier_verdict", m.earlierVerdict);
  d.set("earlier_checked_at", readableTime(m.earlierCheckedAt));
  d.set("verdict", m.verdict);
  return d;
}

data retroView(const RetroReport& r) {
  data d;
  d.set("version", BCCSINK_VERSION);
  d.set("alert_id", r.alertId);
  d.set("sink", r.sink);
  d.set("file_name", r.fileName);
  d.set("sha256", r.sha256);
  d.set("analyzer", r.analyzer);
  d.set("verdict", r.verdict);
  d.set("threats", r.threats.empty() ? std::string("(no threat named)") : join(r.threats, ", "));
  d.set("cause", r.cause);
  d.set("cause_text", r.causeText);
  d.set("created_at", readableTime(r.createdAt));
  d.set("earlier_verdict", r.earlierVerdict);
  d.set("earlier_checked_at", r.earlierCheckedAt.empty() ? std::string("an earlier check")
                                                         : readableTime(r.earlierCheckedAt));
  d.set("message_count", std::to_string(r.messages.size()));
  data list{data::type::list};
  for (const auto& m : r.messages) list.push_back(messageView(m));
  d.set("messages", list);
  return d;
}

std::string render(const Templates& templates, const char* name, const data& view,
                   std::string (*escape)(const std::string&)) {
  mustache m(templates.get(name));
  m.set_custom_escape(escape);
  auto out = m.render(view);
  if (!m.is_valid()) throw std::runtime_error(std::string(name) + ": " + m.error_message());
  return out;
}

}  // namespace

Rendered renderRetroReport(const RetroReport& report, const Templates& templates) {
  auto view = retroView(report);
  return {tidiedText(render(templates, Templates::kRetroText, view, escapedText)),
          render(templates, Templates::kRetroHtml, view, escapedHtml)};
}

}  // namespace bccsink::report
